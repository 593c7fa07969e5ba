"""The guard proxy's policy: what to do with a flagged text, and how an answer is cut into the units it checks.

Actions per category (`ActionTable`): `block` (answer with the refusal instead), `rewrite` (replace the text by the
Guard's rewrite; when the Guard finds no safe rewrite, block), `flag` (let it through, say so in the `srllm` field),
`pass` (let it through). A flagged category takes the entry of its own id, else of its nearest parent
(`bias.gender` -> `bias`), else `default`; a text flagged in several categories gets the most severe of their
actions (block > rewrite > flag > pass). A text nothing flags passes.

The unit of checking is the sentence (`split_sentences`), for prompts and answers, streamed or not: the detector
reads at most 128 word pieces of a text, so a long answer checked whole would be judged by its start; and a stream
can release a sentence as soon as it is checked. Streaming rule: the proxy reads the upstream's stream, and each
time a sentence is complete (it ends in . ! ? or a line break, and the space or line break after it has
arrived) it checks that sentence and releases it (or its rewrite); only the sentence under check and the
incomplete one after it are held back. A sentence that grows past `max_chars` (1,000) without an end is cut at its
last space and checked as it is. A blocked sentence ends the answer: the refusal is sent in its place (the
sentences before it were released already) and the upstream stream is closed. The same sentences with the same
actions come out whether the client streams or not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from srllm.serve.config import ACTIONS

__all__ = ["ActionTable", "SentenceBuffer", "split_sentences", "Screened", "PROXY_ACTION"]

# What the proxy reports for each action (the Guard's own actions are kept/rewritten/reframed/edited/failed).
PROXY_ACTION = {"pass": "passed", "flag": "flagged", "rewrite": "rewritten", "block": "blocked"}
_SEVERITY = {a: i for i, a in enumerate(reversed(ACTIONS))}  # pass 0 < flag 1 < rewrite 2 < block 3

# A sentence ends at . ! ? or … (with closing quotes/brackets) followed by whitespace, or at a line break; the
# whitespace after it belongs to it, so the pieces join back to the text exactly.
_END = re.compile(r"""[.!?…]+["'”’)\]]*\s+|\n\s*""")


class ActionTable:
    """Category id -> action, with parents and a default (module doc)."""

    def __init__(self, actions: dict[str, str]):
        bad = {c: a for c, a in actions.items() if a not in ACTIONS}
        if bad:
            raise ValueError(f"unknown action(s) {bad}; use {', '.join(ACTIONS)}")
        self.actions = dict(actions)

    def for_category(self, category: str) -> str:
        parts = category.split(".")
        for i in range(len(parts), 0, -1):
            action = self.actions.get(".".join(parts[:i]))
            if action is not None:
                return action
        return self.actions.get("default", "pass")

    def decide(self, flagged: list[str]) -> str:
        """The action for a text flagged in `flagged` ('pass' when empty)."""
        return max((self.for_category(c) for c in flagged), key=_SEVERITY.__getitem__, default="pass")


def most_severe(actions: list[str]) -> str:
    return max(actions, key=_SEVERITY.__getitem__, default="pass")


def split_sentences(text: str, *, final: bool = True, max_chars: int = 1000) -> tuple[list[str], str]:
    """(complete sentences, the rest). Each sentence keeps the whitespace after it, so `''.join(sentences) + rest`
    is `text`. With `final`, the rest is returned as the last sentence (the text is over)."""
    sentences, start = [], 0
    for m in _END.finditer(text):
        sentences.append(text[start:m.end()])
        start = m.end()
    rest = text[start:]
    while len(rest) > max_chars:  # an endless sentence: cut it at its last space before the limit
        cut = rest.rfind(" ", 0, max_chars) + 1 or max_chars
        sentences.append(rest[:cut])
        rest = rest[cut:]
    if final and rest:
        sentences.append(rest)
        rest = ""
    return sentences, rest


class SentenceBuffer:
    """Feeds a stream's pieces in, gives complete sentences out (the streaming rule of the module doc)."""

    def __init__(self, max_chars: int = 1000):
        self.pending, self.max_chars = "", max_chars

    def feed(self, piece: str) -> list[str]:
        sentences, self.pending = split_sentences(self.pending + piece, final=False, max_chars=self.max_chars)
        return sentences

    def flush(self) -> list[str]:
        sentences, self.pending = split_sentences(self.pending, final=True, max_chars=self.max_chars)
        return sentences


@dataclass
class Screened:
    """What the proxy did with one message (a prompt, or an answer so far): the text to send on, and the report
    that goes into the `srllm` field of the answer."""

    text: str = ""
    action: str = "pass"  # the most severe action taken so far
    flagged: list[str] = field(default_factory=list)
    sentences: list[dict] = field(default_factory=list)  # per checked sentence: action, flagged, severity
    blocked_by: list[str] = field(default_factory=list)

    def add(self, released: str, action: str, flagged: list[str], severity: str, guard_action: str | None) -> None:
        self.text += released
        self.action = most_severe([self.action, action])
        self.flagged += [c for c in flagged if c not in self.flagged]
        entry = {"action": PROXY_ACTION[action], "flagged": flagged, "severity": severity}
        if guard_action is not None:
            entry["rewrite"] = guard_action  # the Guard's action: rewritten, reframed, edited or failed
        self.sentences.append(entry)
        if action == "block":
            self.blocked_by = flagged

    @property
    def blocked(self) -> bool:
        return self.action == "block"

    def report(self, *, sentences: bool = True) -> dict:
        out = {"action": PROXY_ACTION[self.action], "flagged": self.flagged}
        if sentences:
            out["sentences"] = self.sentences
        return out
