"""The detector on a tiny random sentence-transformer with heads trained here on a handful of texts; one slow test
with the shipped heads and the real MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from srllm.detect import Detector, Head, HeadSet, SpanRule
from srllm.detect.encoding import clip_text
from srllm.detect.spans import merge_adjacent, remove_range, select_words, word_tokens
from srllm.errors import SrllmConfigError, SrllmModelError
from srllm.schema import Verdict
from tests._tiny_encoder import BIASED, SAFE, TOXIC


@pytest.fixture(scope="module")
def det(encoder_path, heads):
    return Detector(encoder=encoder_path, heads=heads)


def test_predict_gives_verdicts_with_the_declared_categories(det):
    verdicts = det.predict(TOXIC[:2] + SAFE[:2])
    assert det.categories == ["toxicity", "bias", "bias.gender"]
    assert all(isinstance(v, Verdict) and list(v.categories) == det.categories for v in verdicts)
    assert [v.unsafe for v in verdicts] == [True, True, False, False]
    assert "toxicity" in verdicts[0].flagged and verdicts[0].severity in ("low", "medium")
    assert verdicts[2].flagged == [] and verdicts[2].severity == "none"
    for v in verdicts:
        assert set(v.flagged) == {c for c, p in v.categories.items() if p >= det.thresholds[c]}
        assert v.categories["bias.gender"] <= v.categories["bias"] + 1e-6  # conditional head


def test_unsafe_probability_and_is_unsafe_agree_with_predict(det):
    texts = TOXIC + BIASED + SAFE
    probs = det.probabilities(texts)
    unsafe = det.is_unsafe(texts)
    assert unsafe.tolist() == [v.unsafe for v in det.predict(texts)]
    assert ((det.unsafe_probability(texts) >= 0.5) == unsafe).all()
    # with every threshold at 0.5, P(unsafe) is simply the largest category probability
    assert np.allclose(det.unsafe_probability(texts), probs.max(axis=1), atol=1e-5)
    assert det.is_unsafe(TOXIC).all() and not det.is_unsafe(SAFE).any()


def test_int8_encoder_is_a_separate_copy_with_close_embeddings(det, encoder_path, heads):
    import torch

    q = Detector(encoder=encoder_path, heads=heads, quantize="int8", encoder_engine="torch")
    linear = type(q.encoder[0].auto_model.encoder.layer[0].attention.self.query)
    assert linear is not torch.nn.Linear  # quantized
    assert type(det.encoder[0].auto_model.encoder.layer[0].attention.self.query) is torch.nn.Linear  # untouched
    cos = np.sum(q.embed(TOXIC + SAFE) * det.embed(TOXIC + SAFE), axis=1)
    assert cos.min() > 0.9
    with pytest.raises(SrllmConfigError, match="quantize"):
        Detector(encoder=encoder_path, heads=heads, quantize="int4")


def test_policy_disables_categories_and_their_children(encoder_path, heads, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("disable: [toxicity]\n")
    det = Detector(encoder=encoder_path, heads=heads, policy=policy)
    assert det.categories == ["bias", "bias.gender"]
    v = det.predict(["you are an idiot"])[0]
    assert "toxicity" not in v.categories and not v.unsafe
    policy.write_text("disable: [bias]\n")
    det = Detector(encoder=encoder_path, heads=heads, policy=policy)
    assert det.categories == ["toxicity"]
    assert not det.is_unsafe(["women are bad engineers"])[0]


def test_policy_thresholds_override_only_where_set(encoder_path, heads, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("thresholds: {toxicity: 0.0}\n")
    det = Detector(encoder=encoder_path, heads=heads, policy=policy)
    assert det.thresholds == {"toxicity": 0.0, "bias": 0.5, "bias.gender": 0.5}
    assert det.is_unsafe(SAFE).all() and (det.unsafe_probability(SAFE) >= 0.5).all()
    assert all("toxicity" in v.flagged for v in det.predict(SAFE))
    policy.write_text("default_threshold: 1.0\nthresholds: {bias: 0.4}\n")
    det = Detector(encoder=encoder_path, heads=heads, policy=policy)
    assert det.thresholds == {"toxicity": 1.0, "bias": 0.4, "bias.gender": 1.0}


def test_a_head_outside_the_taxonomy_is_an_error(encoder_path, heads):
    odd = HeadSet(heads=[Head("not.a.category", heads["toxicity"].layers)])
    with pytest.raises(SrllmConfigError, match="not.a.category"):
        Detector(encoder=encoder_path, heads=odd)


def test_spans_point_at_the_problem_word_with_exact_offsets(det):
    text = "you are an idiot"
    spans = det.spans(text)
    assert spans, "an unsafe text has at least one span"
    for s in spans:
        assert text[s.start:s.end] == s.text
        assert s.category in det.categories
    assert any("idiot" in s.text for s in spans)
    assert det.spans("nice weather today") == []
    verdict = det.predict([text], spans=True)[0]
    assert [s.text for s in verdict.spans] == [s.text for s in spans]


def test_spans_of_a_long_text_score_a_capped_number_of_words(det):
    text = "you idiot " + " ".join(["nice weather today"] * 2000)
    spans = det.spans(text)
    limit = word_tokens(text, det.span_rule.max_words)[-1][1]
    assert all(s.end <= limit and text[s.start:s.end] == s.text for s in spans)
    assert len(det.embed([text])) == 1


def test_embed_is_normalised_and_similarity_pairs_rows(det):
    emb = det.embed(["hello friend", "you are an idiot"])
    assert emb.shape == (2, 32) and np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    sim = det.similarity(["hello friend", "hello friend"], ["hello friend", "you are an idiot"])
    assert sim.shape == (2,) and sim[0] == pytest.approx(1.0, abs=1e-5) and sim[1] < sim[0]
    with pytest.raises(ValueError, match="equal length"):
        det.similarity(["a"], [])
    with pytest.raises(TypeError, match="list"):
        det.predict("one string")
    assert det.predict([]) == [] and det.embed([]).shape == (0, 32)


def test_heads_round_trip_through_safetensors(heads, tmp_path, det):
    heads.save(tmp_path / "h")
    assert sorted(p.name for p in (tmp_path / "h").iterdir()) == ["heads.json", "heads.safetensors"]
    loaded = HeadSet.load(tmp_path / "h")
    x = det.embed(TOXIC + SAFE)
    assert loaded.ids == heads.ids and loaded["bias.gender"].parent == "bias"
    assert np.allclose(loaded.predict_proba(x), heads.predict_proba(x), atol=2e-3)  # stored as float16
    heads.save(tmp_path / "h32", dtype="float32")
    assert np.allclose(HeadSet.load(tmp_path / "h32").predict_proba(x), heads.predict_proba(x), atol=1e-6)
    with pytest.raises(SrllmModelError, match="heads.safetensors"):
        HeadSet.load(tmp_path / "missing")
    with pytest.raises(SrllmModelError, match="not an earlier head"):
        HeadSet(heads=[Head("bias.gender", heads["toxicity"].layers, parent="bias")])


def test_span_helpers():
    text = "You're a f*ck-up, ok?"
    assert [text[s:e] for s, e in word_tokens(text)] == ["You're", "a", "f*ck-up", "ok"]
    assert word_tokens(text, 2) == word_tokens(text)[:2]
    assert remove_range("a bad word", 2, 5) == "a word"
    assert select_words(np.array([0.1, 2.0, 1.2, 0.3]), SpanRule(min_drop=0.5, relative=0.5)) == [1, 2]
    assert select_words(np.array([0.1, 0.2]), SpanRule(min_drop=0.5)) == []
    assert merge_adjacent([5, 1, 2, 7]) == [[1, 2], [5], [7]]
    long = "word " * 10000
    assert len(clip_text(long, 128)) < len(long) and clip_text("short", 128) == "short"


@pytest.mark.slow
def test_real_minilm_with_the_shipped_heads():
    det = Detector()
    v_bad, v_ok = det.predict(["you are a fucking idiot", "The team will meet at the designated time."], spans=True)
    assert v_bad.unsafe and "toxicity" in v_bad.flagged
    assert any("fucking" in s.text for s in v_bad.spans)
    assert not v_ok.unsafe and v_ok.severity == "none" and v_ok.spans == []


def test_terms_flag_a_text_the_heads_find_safe(encoder_path, heads, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("terms: {toxicity.profanity: [blorp, pain in the neck]}\n")
    det = Detector(encoder=encoder_path, heads=heads, policy=policy)
    # the tiny detector has no profanity head: the hit raises its parent, toxicity
    assert "toxicity.profanity" in det.term_categories
    texts = ["hello friend BLORP!", "the team will meet at the designated time, a pain  in the\nneck",
             "hello friend blorpish", "hello friend"]
    assert Detector(encoder=encoder_path, heads=heads).is_unsafe(texts[:2]).tolist() == [False, False]
    verdicts = det.predict(texts, spans=True)
    assert [v.unsafe for v in verdicts] == [True, True, False, False]
    assert verdicts[0].flagged == ["toxicity"] and verdicts[0].categories["toxicity"] == det.thresholds["toxicity"]
    assert verdicts[0].severity == "low"  # a hit at the threshold: one step under toxicity's medium
    assert [s.text for s in verdicts[0].spans] == ["BLORP"]
    assert ((det.unsafe_probability(texts) >= 0.5) == det.is_unsafe(texts)).all()


def test_terms_follow_the_policy(encoder_path, heads, tmp_path):
    det = Detector(encoder=encoder_path, heads=heads)
    text = "hello friend, what a fucking nice day"
    assert det.is_unsafe([text])[0]  # a shipped term
    cleared = tmp_path / "cleared.yaml"
    cleared.write_text("categories:\n  - {id: toxicity.profanity, terms: []}\n")
    assert not Detector(encoder=encoder_path, heads=heads, policy=cleared).is_unsafe([text])[0]
    disabled = tmp_path / "disabled.yaml"
    disabled.write_text("disable: [toxicity]\n")
    det = Detector(encoder=encoder_path, heads=heads, policy=disabled)
    assert det.term_categories == [] and not det.is_unsafe([text])[0]


def test_sentence_level_scoring_takes_the_highest_sentence(encoder_path, heads):
    whole = Detector(encoder=encoder_path, heads=heads)
    per_sentence = Detector(encoder=encoder_path, heads=heads, sentence_level=True, min_sentence_words=3)
    text = "The team will meet at the designated time. They are all idiot people."
    sentences = ["The team will meet at the designated time.", "They are all idiot people."]
    expected = np.maximum(whole.probabilities([text])[0], whole.probabilities(sentences).max(axis=0))
    np.testing.assert_allclose(per_sentence.probabilities([text])[0], expected, rtol=1e-5, atol=1e-6)
    # one sentence, or sentences under min_sentence_words words: the whole text only
    for t in ("you are kind", "Hello friend. Nice day."):
        np.testing.assert_allclose(per_sentence.probabilities([t]), whole.probabilities([t]), rtol=1e-5, atol=1e-6)
    with pytest.raises(SrllmConfigError, match="min_sentence_words"):
        Detector(encoder=encoder_path, heads=heads, min_sentence_words=0)


def test_claim_level_scoring_also_scores_the_plain_claim(encoder_path, heads):
    plain = Detector(encoder=encoder_path, heads=heads)  # off by default
    claims = Detector(encoder=encoder_path, heads=heads, claim_level=True)
    text = "It's a fact that wheelchair users are greedy."
    expected = np.maximum(plain.probabilities([text])[0], plain.probabilities(["Wheelchair users are greedy."])[0])
    np.testing.assert_allclose(claims.probabilities([text])[0], expected, rtol=1e-5, atol=1e-6)
    # a plain claim, counter-speech and a text naming no group are scored as written
    for t in ("Women are bad drivers.", "It's a myth that women are bad drivers.", "you are kind"):
        np.testing.assert_allclose(claims.probabilities([t]), plain.probabilities([t]), rtol=1e-5, atol=1e-6)


def test_names_group_finds_lexicon_policy_and_descriptive_groups():
    from srllm.detect.groups import names_group

    for text in ("Old drivers are a menace.", "Ghanaians are lazy.", "People from Syria are aggressive.",
                 "Those people never pay their debts.", "The Chinese people I met were kind.", "Women are late."):
        assert names_group(text), text
    for text in ("Security might have something to say as you carry a big ladder.", "People are bad sometimes.",
                 "This article is crap.", "The womanizer left."):
        assert not names_group(text), text
    assert not names_group("Klingons are rude.") and names_group("Klingons are rude.", frozenset({"klingons"}))


def test_requires_group_zeroes_the_bias_family_of_texts_naming_no_group(encoder_path, heads, tmp_path):
    gated = HeadSet(heads=heads.heads, encoder=heads.encoder, requires_group=("bias",))
    assert gated.group_columns() == [1, 2]  # bias and its child bias.gender, not toxicity
    plain, det = Detector(encoder=encoder_path, heads=heads), Detector(encoder=encoder_path, heads=gated)
    texts = BIASED + SAFE + TOXIC
    p0, p1 = plain.probabilities(texts), det.probabilities(texts)
    from srllm.detect.groups import names_group

    for i, t in enumerate(texts):
        if names_group(t):
            np.testing.assert_allclose(p1[i], p0[i], rtol=1e-6)
        else:
            assert p1[i, 1] == p1[i, 2] == 0.0 and p1[i, 0] == pytest.approx(p0[i, 0])
    assert any(names_group(t) for t in texts) and not all(names_group(t) for t in texts)
    gated.save(tmp_path / "g")
    assert HeadSet.load(tmp_path / "g").requires_group == ("bias",)
    assert HeadSet.load(tmp_path / "g").group_columns(["toxicity", "bias.gender"]) == [1]
    with pytest.raises(SrllmModelError, match="requires_group"):
        HeadSet(heads=heads.heads, requires_group=("stereotyping",))
