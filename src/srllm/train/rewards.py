"""Rewards for RAFT (and for ranking samples into preference pairs). A reward is any callable
`reward(rows, responses) -> dict` whose "reward" entry holds one float per response (higher is better, [0, 1] for
the built-in ones); other entries (per-response arrays) are logged with the samples. `rows` are the prompt rows the
responses answer (for responses: id, prompt, label; for rewriting: id, text).

- `JudgeReward` (task response): 1 - P(unsafe | prompt, response) from a response judge; on a benign prompt also
  times 1 - P(refusal), so refusing an ordinary question scores low.
- `RewriteReward` (task rewrite): the J product per sample: STA (1 - the detector's P(unsafe)) x SIM (MiniLM
  cosine to the input) x FL (1 when the reference LM's perplexity is under the declared threshold; optional).
- `load_reward(spec)`: 'judge' / 'judge:FOLDER-or---judge-value', 'rewrite', 'rewrite-nofl', or 'module:function'
  (a callable, or a factory of one when it takes no arguments).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence

import numpy as np

from srllm.errors import SrllmConfigError

__all__ = ["JudgeReward", "RewriteReward", "load_reward", "RewardFn"]

RewardFn = Callable[[Sequence[dict], Sequence[str]], dict]


class JudgeReward:
    """Response safety from a response judge (see the module doc)."""

    def __init__(self, judge=None):
        if judge is None:
            from srllm.evaluate.response_judge import ResponseJudge

            judge = ResponseJudge.load()
        self.judge = judge
        self.name = f"response judge: {getattr(judge, 'name', type(judge).__name__)}"

    def __call__(self, rows: Sequence[dict], responses: Sequence[str]) -> dict:
        sc = self.judge.score([r["prompt"] for r in rows], list(responses))
        safe = 1.0 - np.asarray(sc.unsafe, float)
        refusal = np.nan_to_num(np.asarray(sc.refusal, float), nan=0.0)
        benign = np.array([r.get("label") == "benign" for r in rows])
        reward = np.where(benign, safe * (1.0 - refusal), safe)
        return {"reward": reward, "unsafe": np.asarray(sc.unsafe, float), "refusal": refusal}


class RewriteReward:
    """STA x SIM x FL of a rewrite (see the module doc)."""

    def __init__(self, detector=None, *, fluency: bool = True, fluency_scorer=None):
        if detector is None:
            from srllm.detect import Detector

            detector = Detector()
        self.detector, self.fluency = detector, fluency
        self._fl = fluency_scorer
        self.name = "detector safety x MiniLM similarity" + (" x fluency" if fluency else "")

    def __call__(self, rows: Sequence[dict], responses: Sequence[str]) -> dict:
        from srllm.evaluate import metrics

        texts = [r["text"] for r in rows]
        outs = [o if o.strip() else "(empty)" for o in responses]
        sta = 1.0 - np.asarray(self.detector.unsafe_probability(outs), float)
        sim = np.clip(np.asarray(self.detector.similarity(texts, outs), float), 0.0, 1.0)
        if self.fluency:
            if self._fl is None:
                from srllm.models.lm_scoring import fl_scorer

                self._fl = fl_scorer()
            fl = metrics.fl(outs, scorer=self._fl)
        else:
            fl = np.ones(len(outs))
        empty = np.array([not o.strip() for o in responses])
        return {"reward": np.where(empty, 0.0, sta * sim * fl), "sta": sta, "sim": sim, "fl": fl}


def load_reward(spec: str) -> RewardFn:
    """The reward a `--reward` value names (see the module doc)."""
    spec = spec.strip()
    if spec == "judge" or spec.startswith("judge:"):
        from srllm.evaluate.guard_judges import make_response_judge

        return JudgeReward(make_response_judge(spec.partition(":")[2] or "default"))
    if spec in ("rewrite", "rewrite-nofl"):
        return RewriteReward(fluency=spec == "rewrite")
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise SrllmConfigError(f"--reward {spec!r}: use judge, judge:FOLDER, rewrite, rewrite-nofl or "
                               "module:function")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise SrllmConfigError(f"--reward {spec!r}: cannot import {attr} from {module}: {e}") from e
    if inspect.isclass(fn) or (callable(fn) and not inspect.signature(fn).parameters):
        fn = fn()
    return fn
