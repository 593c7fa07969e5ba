"""Targets from a generation backend instead of the template frames: a stronger model behind any
OpenAI-compatible URL (`srllm data stereotypes --base-url URL --model NAME`), or the local adapter (RAFT-style
self-training). Each statement gets `samples` sampled rewrites; the one kept is the closest in meaning among those
that pass every check the rewrite policy applies (the detector finds it safe, similarity >= the threshold, a whole
sentence, no flip, no plain claim about the group left: srllm.rewrite.quality). A statement with none passing
keeps its template-frame target (or none).

Counterfactual principle: the group phrase at the start of a statement is replaced by a placeholder before the
model sees it and put back in its answer, so every group gets the same rewrite of the same statement.
"""

from __future__ import annotations

import re

from srllm.models.backends import GenerationConfig
from srllm.rewrite.groups import parse_claim
from srllm.rewrite.quality import QUALITY_CHECKS

__all__ = ["STEREOTYPE_SYSTEM", "llm_targets"]

PLACEHOLDER = "GROUPX"
STEREOTYPE_SYSTEM = (
    "You rewrite stereotypes into fair statements. The input makes a claim about a whole group of people. Write "
    "one fluent sentence that keeps the topic and the speaker's concern but drops the generalisation: turn the "
    "claim about the group into a statement about individuals (\"Whether someone ... depends on the person, not on "
    "being ...\"), or name it as a stereotype. Keep the group's name as written (GROUPX stays GROUPX). Do not "
    "praise the group, do not lecture, do not add facts. Output only the sentence."
)
FEW_SHOT = [
    ("GROUPX are lazy and never pay their debts.",
     "Whether someone is hard-working or pays their debts depends on the person, not on being one of GROUPX."),
    ("GROUPX can't do math, everyone knows that.", "Whether someone can do math depends on the person, not on "
     "whether they are GROUPX."),
    ("GROUPX are stealing our jobs.", "Competition for jobs is a fair worry, but blaming GROUPX as a group for it "
     "is unfair."),
]


def _messages(text: str) -> list[dict]:
    msgs = [{"role": "system", "content": STEREOTYPE_SYSTEM}]
    for src, tgt in FEW_SHOT:
        msgs += [{"role": "user", "content": src}, {"role": "assistant", "content": tgt}]
    return msgs + [{"role": "user", "content": text}]


def _mask(text: str) -> tuple[str, str | None]:
    claim = parse_claim(text)
    if not claim:
        return text, None
    pattern = re.compile(re.escape(claim["group"]), re.IGNORECASE)
    return pattern.sub(PLACEHOLDER, text, count=1), claim["group"]


def llm_targets(texts: list[str], backend, *, detector, samples: int = 4, temperature: float = 0.8,
                similarity_threshold: float = 0.6, max_new_tokens: int = 80, seed: int = 0) -> list[str | None]:
    """Per text, the best passing sampled rewrite, or None."""
    from srllm.rewrite.clean import clean_rewrite

    masked = [_mask(t) for t in texts]
    cands: list[list[str]] = [[] for _ in texts]
    for j in range(samples):
        cfg = GenerationConfig(max_new_tokens=max_new_tokens, temperature=temperature if j else 0.0, seed=seed + j)
        replies = backend.generate([_messages(m) for m, _ in masked], cfg)
        for i, (reply, (_m, group)) in enumerate(zip(replies, masked, strict=True)):
            out = clean_rewrite(reply)
            if group:
                out = out.replace(PLACEHOLDER, group).replace(PLACEHOLDER.lower(), group)
                out = out[:1].upper() + out[1:]
            if out and PLACEHOLDER.lower() not in out.lower():
                cands[i].append(out)
    flat = [(i, c) for i, cs in enumerate(cands) for c in dict.fromkeys(cs)]
    if not flat:
        return [None] * len(texts)
    unsafe = detector.is_unsafe([c for _, c in flat])
    sims = detector.similarity([texts[i] for i, _ in flat], [c for _, c in flat])
    best: dict[int, tuple[float, str]] = {}
    for (i, c), u, s in zip(flat, unsafe, sims, strict=True):
        if u or s < similarity_threshold or any(check(texts[i], c) for check in QUALITY_CHECKS.values()):
            continue
        if i not in best or s > best[i][0]:
            best[i] = (float(s), c)
    return [best[i][1] if i in best else None for i in range(len(texts))]
