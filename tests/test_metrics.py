"""srllm.evaluate.metrics against reference implementations (sklearn, sacrebleu, transformers' own loss)."""

from __future__ import annotations

import numpy as np
import pytest

from srllm.errors import SrllmConfigError, SrllmDataError
from srllm.evaluate import metrics as M
from srllm.evaluate.fluency_calibration import calibrate_fl_threshold, shuffle_words

OUTPUTS = ["he was brave too!", "it would be good if he went there .", "you are wrong", "the cat sat on the mat"]
REFS = [["he was brave too!", "he was also brave!"], ["It would have been good if he went to api."],
        ["you are mistaken", "I think you are wrong", "that is not right"], ["a cat sat on the mat"]]


def test_sta_thresholds_probabilities_and_judge():
    probs = [0.1, 0.5, 0.49, 0.9]
    assert M.sta(probs).tolist() == [1.0, 0.0, 1.0, 0.0]
    assert M.sta(probs, threshold=0.95).tolist() == [1.0, 1.0, 1.0, 1.0]
    judged = M.sta(texts=["ok", "bad word"], judge=lambda ts: [0.9 if "bad" in t else 0.0 for t in ts])
    assert judged.tolist() == [1.0, 0.0]
    with pytest.raises(SrllmDataError):
        M.sta()


def test_sim_is_clipped_cosine_of_the_encoder():
    vecs = {"a": [1.0, 0.0], "b": [1.0, 1.0], "c": [-1.0, 0.0]}

    def encoder(texts):
        return np.array([vecs[t] for t in texts])

    got = M.sim(["a", "a", "a"], ["a", "b", "c"], encoder=encoder)
    np.testing.assert_allclose(got, [1.0, 1 / np.sqrt(2), 0.0], atol=1e-9)
    with pytest.raises(SrllmDataError):
        M.sim(["a"], ["a", "b"], encoder=encoder)


def test_fl_uses_the_injected_scorer_and_threshold():
    def scorer(texts):
        return [10.0 if t.startswith("good") else 900.0 for t in texts]

    assert M.fl(["good text", "bad text"], scorer=scorer, threshold=100).tolist() == [1.0, 0.0]
    assert M.fl(perplexities=[5.0, 100.0, 100.1], threshold=100).tolist() == [1.0, 1.0, 0.0]
    if M.FL_PPL_THRESHOLD is None:
        with pytest.raises(SrllmConfigError, match="threshold"):
            M.fl(perplexities=[5.0])
    else:
        assert M.FL_PPL_THRESHOLD > 1.0


def test_perplexity_matches_transformers_loss_on_a_tiny_lm():
    import torch

    from srllm.models.lm_scoring import PerplexityScorer, sequence_logprobs
    from tests._tiny_lm import make_tiny_lm

    model, tok = make_tiny_lm()
    texts = ["The quick brown fox.", "Paris is the capital of France and has 2 million people.", "He"]
    scorer = PerplexityScorer(model=model, tokenizer=tok, name="tiny")
    ppl = scorer(texts)
    for text, p in zip(texts, ppl, strict=True):
        ids = torch.tensor([[tok.eos_token_id, *tok(text, add_special_tokens=False)["input_ids"]]])
        with torch.no_grad():
            loss = model(input_ids=ids, labels=ids).loss.item()
        assert p == pytest.approx(np.exp(loss), rel=1e-4)
    sums, counts = sequence_logprobs(model, tok, texts, batch_size=2)
    assert counts.tolist() == [len(tok(t)["input_ids"]) for t in texts]
    assert np.all(sums < 0)


def test_j_is_the_mean_of_per_item_products_not_the_product_of_means():
    sta_i, sim_i, fl_i = [1, 0, 1, 0], [0.9, 0.9, 0.1, 0.1], [1, 1, 0, 1]
    expected = np.mean([1 * 0.9 * 1, 0, 0, 0])
    assert M.j(sta_i, sim_i, fl_i) == pytest.approx(expected)
    product_of_means = np.mean(sta_i) * np.mean(sim_i) * np.mean(fl_i)
    assert M.j(sta_i, sim_i, fl_i) != pytest.approx(product_of_means)
    with pytest.raises(SrllmDataError):
        M.j([1, 0], [1.0], [1, 1])


def test_bleu_and_chrf_match_sacrebleu_with_variable_references():
    import sacrebleu

    streams = [[r[k] if k < len(r) else None for r in REFS] for k in range(3)]
    assert M.bleu(OUTPUTS, REFS) == pytest.approx(sacrebleu.corpus_bleu(OUTPUTS, streams).score, abs=1e-9)
    assert M.chrf(OUTPUTS, REFS) == pytest.approx(sacrebleu.corpus_chrf(OUTPUTS, streams).score, abs=1e-9)
    for kind, ref_fn in (("bleu", sacrebleu.corpus_bleu), ("chrf", sacrebleu.corpus_chrf)):
        of_idx = M.corpus_metric_of_indices(kind, OUTPUTS, REFS)
        assert of_idx(np.arange(4)) == pytest.approx(ref_fn(OUTPUTS, streams).score, abs=1e-9)
        idx = [0, 2, 2]
        sub = [[s[i] for i in idx] for s in streams]
        assert of_idx(np.array(idx)) == pytest.approx(ref_fn([OUTPUTS[i] for i in idx], sub).score, abs=1e-9)
    with pytest.raises(SrllmDataError):
        M.bleu(OUTPUTS, REFS[:2])


def test_over_correction_ignores_whitespace_only():
    got = M.over_correction(["a  b", "keep me", "x"], ["a b", "keep me!", " x "])
    assert got.tolist() == [0.0, 1.0, 0.0]


def test_over_correction_words_ignores_case_and_punctuation_only():
    inputs = ["i don 't know .", "keep me", "you are wrong"]
    outputs = ["I don't know.", "Keep me!", "you are mistaken"]
    assert M.over_correction_words(inputs, outputs).tolist() == [0.0, 0.0, 1.0]
    assert M.over_correction(inputs, outputs).tolist() == [1.0, 1.0, 1.0]


def test_stereoset_lms_ss_icat_and_crows_pairs():
    s, a, u = [-1.0, -5.0, -2.0, -3.0], [-2.0, -1.0, -9.0, -1.0], [-3.0, -3.0, -1.0, -2.0]
    items = M.stereoset_items(s, a, u)
    assert items["lms"].tolist() == [1.0, 0.5, 0.0, 0.5]
    assert items["ss"].tolist() == [1.0, 0.0, 1.0, 0.0]
    scores = M.stereoset_scores(s, a, u)
    assert scores["lms"] == pytest.approx(50.0) and scores["ss"] == pytest.approx(50.0)
    assert scores["icat"] == pytest.approx(50.0)  # ideal SS: ICAT equals LMS
    assert M.icat(100.0, 100.0) == 0.0 and M.icat(80.0, 60.0) == pytest.approx(80 * 40 / 50)
    assert M.pct_stereotype([-1, -2, -3, -4], [-2, -1, -4, -3]) == pytest.approx(50.0)


def test_detection_metrics_match_sklearn():
    from sklearn.metrics import average_precision_score, confusion_matrix, f1_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    scores = np.clip(y * 0.3 + rng.random(200) * 0.7, 0, 1)
    assert M.auprc(y, scores) == pytest.approx(average_precision_score(y, scores), abs=1e-12)
    assert M.f1_at(y, scores, 0.6) == pytest.approx(f1_score(y, scores >= 0.6), abs=1e-12)
    tn, fp, _, _ = confusion_matrix(y, scores >= 0.6).ravel()
    assert M.fpr_at(y, scores, 0.6) == pytest.approx(fp / (fp + tn), abs=1e-12)
    assert np.isnan(M.auprc([0, 0], [0.1, 0.2])) and np.isnan(M.fpr_at([1, 1], [0.1, 0.9]))


def test_binary_rates_match_sklearn_and_are_nan_where_undefined():
    from sklearn.metrics import f1_score, precision_score, recall_score

    rng = np.random.default_rng(2)
    y = rng.random(300) < 0.3
    flagged = (y & (rng.random(300) < 0.7)) | (~y & (rng.random(300) < 0.1))
    r = M.binary_rates(y, flagged)
    assert r["precision"] == pytest.approx(precision_score(y, flagged), abs=1e-12)
    assert r["recall"] == pytest.approx(recall_score(y, flagged), abs=1e-12)
    assert r["f1"] == pytest.approx(f1_score(y, flagged), abs=1e-12)
    assert r["fpr"] == pytest.approx(M.fpr_at(y, flagged.astype(float), 0.5), abs=1e-12)
    none = M.binary_rates([False, False], [False, False])  # no positive, nothing flagged
    assert np.isnan(none["precision"]) and np.isnan(none["recall"]) and np.isnan(none["f1"]) and none["fpr"] == 0
    assert np.isnan(M.binary_rates([True], [True])["fpr"])


def test_response_safety_counts_refusals_as_safe():
    got = M.safe_response([0.9, 0.9, 0.1], refusal_prob=[0.8, 0.1, 0.1])
    assert got.tolist() == [1.0, 0.0, 1.0]
    assert M.over_refusal([0.7, 0.2, 0.5]).tolist() == [1.0, 0.0, 1.0]


def test_registry_and_results():
    assert M.metric_spec("over_correction").higher_is_better is False
    assert M.metric_spec("ss").ideal == 50.0 and M.metric_spec("bleu").aggregation == "corpus"
    with pytest.raises(SrllmConfigError, match="Did you mean sta"):
        M.metric_spec("stta")
    res = M.summarize("sta", [1, 0, 1, 1, 1, 0, 1, 1], judge="fake", threshold=0.5)
    assert res.value == pytest.approx(0.75) and res.n == 8 and res.ci_low <= 0.75 <= res.ci_high
    assert M.MetricResult.from_dict(res.to_dict()) == res
    bleu = M.summarize_corpus("bleu", M.corpus_metric_of_indices("bleu", OUTPUTS, REFS), len(OUTPUTS),
                              n_resamples=50)
    assert bleu.value == pytest.approx(M.bleu(OUTPUTS, REFS)) and bleu.unit == "points"
    assert np.isnan(M.summarize("j", []).value)


def test_fl_threshold_calibration_separates_fluent_from_shuffled():
    thr, bal = calibrate_fl_threshold([10, 20, 30, 40], [80, 120, 300, 35])
    assert bal == pytest.approx(0.875) and 30 < thr < 80
    thr, bal = calibrate_fl_threshold([10, 20, 30, 40], [80, 120, 300, 50])
    assert bal == 1.0 and 40 < thr < 50
    rng = np.random.default_rng(0)
    text = "he was brave too and kind"
    shuffled = shuffle_words(text, rng)
    assert shuffled != text and sorted(shuffled.split()) == sorted(text.split())
    assert shuffle_words("one", rng) == "one"


def test_fl_judge_scores_the_orthographic_form_of_tokenised_text():
    from srllm.models.lm_scoring import PerplexityScorer, orthographic_form
    from tests._tiny_lm import make_tiny_lm

    assert orthographic_form("i don 't know , you 're right ? ? ?") == "I don't know, you're right???"
    assert orthographic_form("Paris is big.") == "Paris is big."
    model, tok = make_tiny_lm()
    plain = PerplexityScorer(model=model, tokenizer=tok, name="tiny")
    ortho = PerplexityScorer(model=model, tokenizer=tok, name="tiny", orthographic=True)
    texts = ["i don 't know , you 're right .", ""]
    assert ortho(texts)[0] == pytest.approx(plain([orthographic_form(texts[0])])[0])
    assert ortho(texts)[0] != pytest.approx(plain(texts)[0])
    assert np.isinf(ortho(texts)[1])  # an empty output is never fluent
    assert "orthographic" in ortho.name
