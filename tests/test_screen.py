"""The detector's first-pass screen (srllm.detect.screen) on the tiny encoder: files, the cascade's decisions, the
checks that keep a screen to the detector it was distilled for, and the distillation's fit and cut-offs."""

from __future__ import annotations

import numpy as np
import pytest

from srllm.detect import Detector, HeadSet
from srllm.detect.screen import Screen
from srllm.errors import SrllmConfigError, SrllmModelError
from srllm.train.screen import ScreenTrainConfig, _fit, cut_offs
from tests._tiny_encoder import BIASED, SAFE, TOXIC


def _logit(p):
    return float(np.log(p / (1 - p)))


@pytest.fixture(scope="module")
def heads_dir(tmp_path_factory, heads, encoder_path):
    folder = tmp_path_factory.mktemp("heads")
    HeadSet(heads=heads.heads, encoder=encoder_path, max_seq_length=128).save(folder)
    return folder


def _tokenizer(encoder_path):
    from srllm.models import load_sentence_encoder
    from srllm.train.screen import _tokenizer

    class _Det:  # what _tokenizer reads of a detector
        encoder = load_sentence_encoder(encoder_path)

    return _tokenizer(_Det())


def _screen(encoder_path, thresholds, *, unsafe_word: str, categories=("toxicity", "bias", "bias.gender")):
    """A screen whose estimate is 0.99 for texts made only of `unsafe_word`-like pieces, 0.01 for texts without it,
    in between for a mix: one vector per piece (1 for the unsafe word, 0 else), a linear layer on it."""
    tok = _tokenizer(encoder_path)
    vocab = np.arange(tok.get_vocab_size())
    vectors = np.zeros((len(vocab), 1), dtype=np.float32)
    vectors[tok.token_to_id(unsafe_word), 0] = 1.0
    k = len(categories)
    layers = [(np.ones((1, 1), np.float32), np.zeros(1, np.float32)),
              (np.full((1, k), _logit(0.99) - _logit(0.01), np.float32), np.full(k, _logit(0.01), np.float32))]
    return Screen(tokenizer=tok, vocab_ids=vocab, vectors=vectors, layers=layers, categories=list(categories),
                  thresholds=thresholds, clear_below=0.05, flag_above=0.95, max_tokens=8)


def test_a_screen_survives_save_and_load(tmp_path, encoder_path):
    screen = _screen(encoder_path, {"toxicity": 0.5, "bias": 0.5, "bias.gender": 0.5}, unsafe_word="idiot")
    texts = ["idiot", "hello friend", "you idiot", ""]
    screen.save(tmp_path / "s")
    again = Screen.load(tmp_path / "s")
    assert np.allclose(again.scores(texts), screen.scores(texts), atol=1e-3)
    assert again.scores(["idiot"])[0, 0] == pytest.approx(0.99, abs=1e-3)
    assert again.scores(["hello friend", ""])[:, 0] == pytest.approx([0.01, 0.01], abs=1e-3)
    assert (again.clear_below, again.flag_above, again.max_tokens) == (0.05, 0.95, 8)
    with pytest.raises(SrllmModelError, match="no screen.json"):
        Screen.load(tmp_path / "missing")


def test_the_cascade_decides_what_the_screen_is_sure_of_and_sends_the_rest_on(tmp_path, heads_dir, encoder_path):
    plain = Detector(heads=heads_dir)
    screen = _screen(encoder_path, plain.thresholds, unsafe_word="idiot")
    screen.save(tmp_path / "screen")
    det = Detector(heads=heads_dir, screen=tmp_path / "screen")
    sure_safe, sure_unsafe, unsure = "hello friend", "idiot", "you idiot"  # estimates 0.01, 0.99, 0.5
    too_long = "the team will meet at the designated time and the team will meet again"  # > 8 pieces
    texts = [sure_safe, sure_unsafe, unsure, too_long] + TOXIC + BIASED + SAFE
    probs, full = det.probabilities(texts), plain.probabilities(texts)
    decided = [0, 1] + [4 + i for i, t in enumerate(TOXIC + BIASED + SAFE) if "idiot" not in t or t == "idiot"]
    rest = [i for i in range(len(texts)) if i not in decided]
    assert np.allclose(probs[rest], full[rest], atol=1e-6)  # the encoder's own scores where the screen is unsure
    assert not det.is_unsafe([sure_safe, "it was a good day"]).any()
    verdict = det.predict([sure_unsafe])[0]
    assert verdict.unsafe and verdict.flagged == det.categories  # the screen's estimates: 0.99 for every head
    assert probs[1, 0] == pytest.approx(0.99, abs=1e-3)  # thresholds 0.5: the estimate is the probability
    assert det.screened == {"texts": len(texts) + 3, "cleared": len(decided) - 1 + 2, "flagged": 2}


def test_a_screen_refuses_a_detector_it_was_not_distilled_for(tmp_path, heads_dir, encoder_path):
    plain = Detector(heads=heads_dir)
    _screen(encoder_path, {**plain.thresholds, "toxicity": 0.7}, unsafe_word="idiot").save(tmp_path / "moved")
    with pytest.raises(SrllmConfigError, match="other thresholds"):
        Detector(heads=heads_dir, screen=tmp_path / "moved")
    _screen(encoder_path, plain.thresholds, unsafe_word="idiot").save(tmp_path / "ok")
    with pytest.raises(SrllmConfigError, match="own encoder"):
        Detector(heads=heads_dir, encoder=encoder_path, screen=tmp_path / "ok")
    with pytest.raises(SrllmModelError, match="srllm train screen"):
        Detector(heads=heads_dir, screen=True)  # this heads folder has no screen/


def test_cut_offs_change_at_most_the_allowed_share_of_decisions():
    rng = np.random.default_rng(0)
    unsafe = rng.random(2000) < 0.4
    estimate = np.clip(np.where(unsafe, 0.8, 0.2) + rng.normal(0, 0.2, 2000), 0, 1)
    clear, flag = cut_offs(estimate, unsafe, 0.01)
    assert clear <= 0.5 <= flag
    assert (estimate[unsafe] < clear).mean() <= 0.01 and (estimate[~unsafe] >= flag).mean() <= 0.01
    assert (estimate < clear).sum() > 100 and (estimate >= flag).sum() > 100  # and still decides a good share
    assert cut_offs(estimate, unsafe, 0.0)[0] == pytest.approx(estimate[unsafe].min())


def test_the_distillation_learns_which_pieces_carry_the_detectors_score():
    rng = np.random.default_rng(0)
    pieces = [list(rng.integers(10, 60, size=rng.integers(2, 8))) for _ in range(600)]
    target = np.array([[0.95] if 7 in p else [0.02] for p in (pieces[i] + ([7] if i % 3 == 0 else [])
                                                                for i in range(600))], dtype=np.float32)
    pieces = [p + ([7] if i % 3 == 0 else []) for i, p in enumerate(pieces)]
    cfg = ScreenTrainConfig(epochs=20, min_count=1, vector_dim=8, hidden=8, learning_rate=1e-2, batch_size=32)
    vocab_ids, vectors, layers = _fit(pieces, target, np.arange(500), cfg, None)
    assert 7 in vocab_ids and vectors.shape == (len(vocab_ids), 8) and layers[1][0].shape == (8, 1)

    class _Tok:  # the tokenizer methods Screen calls
        def no_truncation(self): ...
        def no_padding(self): ...
        def get_vocab_size(self): return 64

    screen = Screen(tokenizer=_Tok(), vocab_ids=vocab_ids, vectors=vectors, layers=layers, categories=["toxicity"],
                    thresholds={"toxicity": 0.5})
    est = screen.scores([""] * 100, pieces[500:])[:, 0]
    held_unsafe = target[500:, 0] > 0.5
    assert est[held_unsafe].min() > est[~held_unsafe].max()  # held-out texts ranked perfectly


def test_screen_config_is_checked():
    with pytest.raises(SrllmConfigError, match="max_changed"):
        ScreenTrainConfig(max_changed=0.6)
    with pytest.raises(SrllmConfigError, match="epochs"):
        ScreenTrainConfig(epochs=0)


@pytest.mark.slow
def test_the_shipped_screen_fits_the_shipped_heads():
    det = Detector(screen=True)  # the real MiniLM and the shipped heads, screen and thresholds
    texts = ["you are a fucking idiot", "the meeting is moved to noon on tuesday",
             "honestly the whole plan is great and i like it a lot"]
    verdicts, plain = det.predict(texts), Detector().predict(texts)
    assert [v.unsafe for v in verdicts] == [v.unsafe for v in plain] == [True, False, False]
    assert det.screened["cleared"] + det.screened["flagged"] >= 2  # these it decides without the encoder
    assert det.screen.info["test"]["decisions_changed_share"] <= 0.01
