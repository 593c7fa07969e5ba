"""The LLM mode of `srllm counterfactual` (`--llm`): an LLM behind any OpenAI-compatible endpoint (default: a local
`srllm serve`) rewrites each sentence for each group with minimal edits; every answer is checked, and the
rule-based variant (srllm.data.counterfactual.make_variant) replaces an answer that fails a check.

The checks (`check_variant`), in order; the first that fails is the fallback's `reason`:
1. `empty`: no sentence in the answer (after taking the first line and stripping a label such as "Rewritten
   sentence:" and quotes; a JSON object's "sentence" is read too).
2. `too many edits`: the word-level edit distance between the original and the answer (insertions, deletions and
   substitutions of words; case and punctuation ignored) is above the bound: the number of words of the group's
   phrase ("an Asian person": 3) plus `max_extra_edits` (default 3: room for agreement, he -> she, their -> her,
   engage -> engages, a -> an). The rule-based variants stay within it except the "According to ..." fallback
   and long pronoun rewrites.
3. `no group`: the answer does not name the target group (its singular, plural or adjective; for gender also its
   pronouns and kin words: she, her, mother, ...), whole words, case ignored.

The requests go through the annotate package's client (srllm.data.annotate.client.ChatClient: rate limit,
exponential back-off on 429/5xx and refused connections for up to `max_wait` seconds); plain text is asked
(json_mode none), since small local models write a sentence better than a JSON object.

Resumable like `srllm annotate`: each finished sentence (all its groups) is appended to `<out stem>.raw.jsonl.partial`
(flushed, fsynced) with, per group, the variant, its `method` ("llm" or "rule"), the rule, the LLM's answer and
the reason of a fallback; a re-run skips the sentences already there. At the end the raw file is moved into place
and the CSV (and CMD JSONL) are written atomically from it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from srllm.data.annotate.client import ChatClient, RequestRejected
from srllm.data.annotate.parse import extract_json
from srllm.data.counterfactual import Group, make_variant, mention_words

__all__ = ["LLMVariants", "check_variant", "parse_answer", "word_edit_distance", "edit_bound", "messages_for",
           "run_llm_rows"]

SYSTEM = ("You edit sentences. Rewrite the sentence so that it is about the given person or group. Make the "
          "smallest change: replace or add only the words that name who the sentence is about, and fix the grammar "
          "that depends on them (he/she, his/her, a/an, is/are). Keep every other word as it is. Answer with the "
          "rewritten sentence only.")
# Worked examples, sent as earlier turns of the conversation.
EXAMPLES = (("The students finished their project early.", "a Muslim",
             "The Muslim students finished their project early."),
            ("They enjoy hiking on weekends.", "a woman", "She enjoys hiking on weekends."),
            ("Someone left a kind note at the front desk.", "an Asian person",
             "An Asian person left a kind note at the front desk."))

_WORD = re.compile(r"\w+(?:['’]\w+)*")
_LABEL = re.compile(r"^\s*(?:rewritten sentence|rewritten|sentence|answer|output|result)\s*:\s*", re.I)


def _ask(sentence: str, group: Group) -> str:
    return f"Sentence: {sentence.strip()}\nGroup: {group.phrase}"


def messages_for(sentence: str, group: Group) -> list[dict]:
    out = [{"role": "system", "content": SYSTEM}]
    for original, phrase, rewritten in EXAMPLES:
        out += [{"role": "user", "content": f"Sentence: {original}\nGroup: {phrase}"},
                {"role": "assistant", "content": rewritten}]
    return out + [{"role": "user", "content": _ask(sentence, group)}]


def parse_answer(raw: str) -> str:
    """The sentence of an answer: a JSON object's "sentence" (or "text"/"rewrite"), else the first non-empty line
    without a leading label ("Rewritten sentence:") or surrounding quotes."""
    obj = extract_json(raw)
    if obj is not None:
        try:
            value = json.loads(obj)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            for key in ("sentence", "text", "rewrite"):
                if isinstance(value.get(key), str):
                    return value[key].strip()
    for line in raw.splitlines():
        line = _LABEL.sub("", line).strip().strip("\"'“”").strip()
        if line:
            return line
    return ""


def word_edit_distance(a: str, b: str) -> int:
    """Levenshtein distance over the lower-cased words of two texts (punctuation ignored)."""
    x, y = _WORD.findall(a.lower()), _WORD.findall(b.lower())
    prev = list(range(len(y) + 1))
    for i, wa in enumerate(x, 1):
        cur = [i]
        for j, wb in enumerate(y, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (wa != wb)))
        prev = cur
    return prev[-1]


def edit_bound(group: Group, max_extra_edits: int) -> int:
    return len(group.phrase.split()) + max_extra_edits


def _names(text: str, group: Group) -> bool:
    low = " ".join(_WORD.findall(text.lower()))
    return any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", low) for w in mention_words(group))


def check_variant(original: str, answer: str, group: Group, *, max_extra_edits: int = 3) -> str | None:
    """None when `answer` is a usable variant of `original` for `group`, else why not (module doc)."""
    if not answer.strip():
        return "empty"
    distance, bound = word_edit_distance(original, answer), edit_bound(group, max_extra_edits)
    if distance > bound:
        return f"too many edits ({distance} > {bound})"
    if not _names(answer, group):
        return "no group"
    return None


class LLMVariants:
    """Variants by an LLM with the rule-based variant as the fallback."""

    def __init__(self, client: ChatClient, *, known: Iterable[Group], max_extra_edits: int = 3,
                 max_tokens: int = 96, temperature: float = 0.0):
        self.client, self.known, self.max_extra_edits = client, list(known), max_extra_edits
        self.max_tokens, self.temperature = max_tokens, temperature

    def make(self, sentence: str, group: Group) -> dict:
        """{text, method: llm|rule, rule, llm (the parsed answer), reason (of a fallback), tokens}. A transport
        failure that outlasts the client's max_wait raises (the job stops; re-run to resume)."""
        rule = make_variant(sentence, group, known=self.known)
        try:
            reply = self.client.complete(messages_for(sentence, group), temperature=self.temperature,
                                         max_tokens=self.max_tokens)
        except RequestRejected as e:
            return {"text": rule.text, "method": "rule", "rule": rule.rule, "reason": f"refused: {e}"[:300]}
        answer = parse_answer(reply.content)
        tokens = (reply.prompt_tokens or 0) + (reply.completion_tokens or 0)
        problem = check_variant(sentence, answer, group, max_extra_edits=self.max_extra_edits)
        if problem is None:
            return {"text": answer, "method": "llm", "rule": rule.rule, "tokens": tokens}
        return {"text": rule.text, "method": "rule", "rule": rule.rule, "llm": answer[:500], "reason": problem,
                "tokens": tokens}


def run_llm_rows(rows: Sequence, groups: Sequence[Group], maker: LLMVariants, raw_path, *, concurrency: int,
                 restart: bool = False, on_sentence=None) -> tuple[list[dict], int]:
    """The raw lines of `rows` (InputRows: id, line, text) for `groups`, in input order, and how many were done by
    an earlier run. Finished sentences are written as they finish (module doc)."""
    from srllm.data.annotate.run import WorkerPool
    from srllm.data.writers import ResumableJsonlWriter, read_resume_records

    writer = ResumableJsonlWriter(raw_path, resume=not restart)
    columns = {g.column for g in groups}
    done = {d["id"]: d for d in read_resume_records(writer.partial) if columns <= set(d.get("variants", {}))}
    pending = [r for r in rows if r.id not in done]
    pool = WorkerPool(lambda pair: maker.make(pair[0].text, pair[1]), concurrency)
    finished = False
    try:
        step = max(1, -(-2 * concurrency // len(groups)))  # enough sentences to keep every worker busy
        for i in range(0, len(pending), step):
            chunk = pending[i:i + step]
            pairs = [(r, g) for r in chunk for g in groups]
            got: dict[str, dict] = {}
            for j, variant in pool.map_unordered(pairs):
                row, group = pairs[j]
                got.setdefault(row.id, {})[group.column] = variant
                if len(got[row.id]) == len(groups):
                    line = {"id": row.id, "line": row.line, "Original": row.text,
                            "variants": {g.column: got[row.id][g.column] for g in groups}}
                    writer.write([line])
                    done[row.id] = line
                    if on_sentence:
                        on_sentence(line)
        finished = True
    finally:
        pool.stop()
        writer.close(finished=finished)
    return [done[r.id] for r in rows], len(rows) - len(pending)
