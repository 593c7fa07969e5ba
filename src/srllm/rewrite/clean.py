"""Clean an LLM's rewrite: drop preambles ("Sure! Here is the rewritten text:"), wrapping quotes, labels and
trailing explanations, so what is left is the rewritten text alone. The writer's text is not the model's to
restyle: a rewrite that only re-cases, re-punctuates or re-spaces the source gives the source back verbatim, and in
any rewrite the words kept from the source keep the source's casing and spacing (`restore_source_form`).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from srllm.data.normalize import normalize

__all__ = ["clean_rewrite", "restore_source_form"]

_TOKEN = re.compile(r"\w+|[^\w\s]")

_PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|certainly|of course|okay|ok|absolutely)[!,.]?\s*)?"
    r"(?:here(?:'s| is| are)|below is|this is)?\s*(?:a |the |my |an )?"
    r"(?:re-?written|debiased|revised|neutral|rephrased|polite|safe|updated|non-toxic|detoxified)?\s*"
    r"(?:version|text|sentence|rewrite|rephrasing|statement|response)?\s*"
    r"(?:of (?:the|your) (?:text|sentence|statement))?\s*"
    r"(?:that is|which is)?[^:\n]{0,60}:\s*",
    re.IGNORECASE,
)
_LABEL = re.compile(r"^\s*(?:re-?written|debiased|revised|neutral|output|answer|rewrite)\s*(?:text|version)?\s*:\s*",
                    re.IGNORECASE)
_EXPLANATION = re.compile(
    r"^\s*(?:\(?note|explanation|in this (?:re-?written|revised|version)|this (?:re-?written|revised|version)|"
    r"i (?:removed|replaced|changed|have|rephrased|made)|the (?:re-?written|revised|original)|changes made|"
    r"by (?:removing|replacing)|i hope)",
    re.IGNORECASE,
)
_REFUSAL = re.compile(r"^\s*(?:i'?m sorry|i apologi[sz]e|i cannot|i can't|as an ai)", re.IGNORECASE)
_QUOTES = [('"', '"'), ("'", "'"), ("\u201c", "\u201d"), ("\u2018", "\u2019"), ("`", "`"), ("*", "*")]


def _strip_quotes(text: str) -> str:
    changed = True
    while changed and len(text) >= 2:
        changed = False
        for left, right in _QUOTES:
            inner = text[1:-1]
            # Only strip a pair that wraps the whole text (no quote of that kind inside).
            if text.startswith(left) and text.endswith(right) and left not in inner and right not in inner:
                text, changed = inner.strip(), True
    return text


def clean_rewrite(raw: str, source: str | None = None) -> str:
    """The rewrite alone, or '' if nothing usable is left (a refusal, only an explanation)."""
    text = raw.replace("\r\n", "\n").strip()
    if not text or _REFUSAL.match(text):
        return ""
    lines = [ln for ln in text.split("\n")]
    # A first line that ends with ':' is a preamble when more text follows it.
    if len(lines) > 1 and lines[0].rstrip().endswith(":"):
        lines = lines[1:]
    text = "\n".join(lines).strip()
    m = _PREAMBLE.match(text)
    if m and m.end() < len(text) and re.search(r"(?i)here|rewrit|version|sure|certainly|revised|debiased", m.group()):
        text = text[m.end():]
    text = _LABEL.sub("", text, count=1).strip()
    # Keep paragraphs until an explanation starts; a one-paragraph source gets a one-paragraph rewrite.
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    kept = []
    for p in paragraphs:
        if _EXPLANATION.match(p) and kept:
            break
        kept.append(p)
    if source is not None and "\n\n" not in source.strip():
        kept = kept[:1]
    text = "\n\n".join(kept)
    # An explanation appended on the same line in parentheses: "... (I removed the insult.)"
    text = re.sub(r"\s*\((?:note|i |this |the |removed|replaced)[^()]*\)\s*$", "", text, flags=re.IGNORECASE)
    # Quotes the model wrapped its answer in go; quotes the source itself had are part of the text.
    if source is None or _strip_quotes(source.strip()) == source.strip():
        text = _strip_quotes(text.strip())
    if _EXPLANATION.match(text) or _REFUSAL.match(text):
        return ""
    text = text.strip()
    if source is not None and text != source.strip() and normalize(text) == normalize(source):
        return source.strip()
    if source is not None and text:
        text = restore_source_form(text, source)
    return text


def restore_source_form(output: str, source: str) -> str:
    """`output` with every run of tokens it shares with `source` (compared case-insensitively) written as in the
    source: a rewrite changes words, not the writer's casing, tokenisation or spacing around them.

    "Maybe that is why it didn't look" from "shit ! maybe that is why it didn 't look" becomes "maybe that is why
    it didn 't look". Changed runs keep the output's form, and the output's layout decides the breaks between runs
    (a paragraph break stays). A capital the output put at a sentence start stays when the source starts with one
    (the writer capitalises sentences)."""
    src = [(m.start(), m.end()) for m in _TOKEN.finditer(source)]
    out = [(m.start(), m.end()) for m in _TOKEN.finditer(output)]
    if not src or not out:
        return output.strip()
    capitalises = source.lstrip()[:1].isupper()
    matcher = SequenceMatcher(None, [source[a:b].lower() for a, b in src], [output[a:b].lower() for a, b in out],
                              autojunk=False)
    pieces = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "delete":
            continue
        out_gap = output[out[j1 - 1][1]:out[j1][0]] if j1 else ""
        glue = "" if not pieces else out_gap if "\n" in out_gap else " " if out_gap else ""
        if tag != "equal":
            pieces.append(glue + output[out[j1][0]:out[j2 - 1][1]])
            continue
        run = source[src[i1][0]:src[i2 - 1][1]]
        sentence_start = j1 == 0 or output[out[j1 - 1][0]:out[j1 - 1][1]] in ".!?"
        if capitalises and sentence_start and output[out[j1][0]].isupper() and run[:1].islower():
            run = run[0].upper() + run[1:]
        pieces.append(glue + run)
    return "".join(pieces).strip()
