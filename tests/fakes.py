"""Test doubles with the interfaces of srllm.detect.Detector and a GenerationBackend."""

from __future__ import annotations

import re

import numpy as np

from srllm.models.backends import GenerationBackend
from srllm.schema import Span, Verdict

BAD_WORDS = {"idiot", "stupid", "damn", "lazy"}


class WordDetector:
    """Flags texts containing BAD_WORDS; similarity is word-overlap (Jaccard)."""

    categories = ["toxicity"]

    def unsafe_probability(self, texts):
        return np.array([0.9 if set(re.findall(r"\w+", t.lower())) & BAD_WORDS else 0.1 for t in texts])

    def is_unsafe(self, texts):
        return self.unsafe_probability(texts) >= 0.5

    def spans(self, text):
        return [Span(start=m.start(), end=m.end(), text=m.group(), score=0.8, category="toxicity")
                for m in re.finditer(r"\w+", text) if m.group().lower() in BAD_WORDS]

    def predict(self, texts, *, spans=False):
        out = []
        for t, p in zip(texts, self.unsafe_probability(texts), strict=True):
            unsafe = bool(p >= 0.5)
            out.append(Verdict(unsafe=unsafe, categories={"toxicity": float(p)},
                               flagged=["toxicity"] if unsafe else [], severity="medium" if unsafe else "none",
                               spans=self.spans(t) if spans and unsafe else []))
        return out

    def similarity(self, a, b):
        def words(s):
            return set(re.findall(r"\w+", s.lower()))

        pairs = zip(a, b, strict=True)
        return np.array([len(words(x) & words(y)) / max(1, len(words(x) | words(y))) for x, y in pairs])


class ScriptedBackend(GenerationBackend):
    """Replies from a script: {source text: [reply to attempt 1, reply to attempt 2, ...]}."""

    name = "scripted"

    def __init__(self, script: dict[str, list[str]]):
        self.script = script
        self.calls: list[list[dict]] = []
        self.seen: dict[str, int] = {}

    def generate(self, conversations, config=None):
        replies = []
        for conv in conversations:
            self.calls.append(conv)
            source = conv[-1]["content"].split("\n", 1)[1].split("\n\n")[0]
            k = self.seen.get(source, 0)
            self.seen[source] = k + 1
            options = self.script.get(source, [source])
            replies.append(options[min(k, len(options) - 1)])
        return replies
