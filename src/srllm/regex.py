"""Regexes over long word lists. Python's `re` tries the branches of an alternation one by one at every position of
the text, so a pattern over the ~1,000 group words cost the detector ~0.25 ms a text; the same words folded into a
prefix tree ("asian|american" -> "a(?:sian|merican)") match the same strings, longest first as before, about ten
times faster (docs/benchmarks.md, "Detector encoder engines")."""

from __future__ import annotations

import re

__all__ = ["word_alternation"]


def word_alternation(words, *, flexible_space: bool = False, lower: bool = True) -> str:
    """A non-capturing regex that matches exactly the given literal strings, the longest one wherever several match
    at the same place (as an alternation sorted longest first does). `flexible_space`: a space in a word matches
    any run of whitespace. `lower`: fold the words to lower case first (for patterns compiled with re.IGNORECASE,
    where it only merges more prefixes)."""
    root: dict = {}
    for word in words:
        if not word:
            continue
        node = root
        for ch in word.lower() if lower else word:
            node = node.setdefault(ch, {})
        node[""] = {}  # end of a word
    if not root:
        return "(?!)"  # matches nothing, as an empty alternation would not compile to

    def emit(node: dict) -> str:
        ends = "" in node
        parts = [(r"\s+" if flexible_space and ch == " " else re.escape(ch)) + emit(child)
                 for ch, child in sorted(node.items()) if ch]
        if not parts:
            return ""
        body = parts[0] if len(parts) == 1 and not ends else "(?:" + "|".join(parts) + ")"
        if ends:  # the word may end here; trying the longer words first keeps longest-first matching
            body = body if body.startswith("(?:") else "(?:" + body + ")"
            body += "?"
        return body

    return "(?:" + emit(root) + ")"
