"""The rewrite policy: ask the LLM for a benign rewrite, re-check it (detector safe? meaning kept?), retry with a
stricter prompt, restate a generalisation about a group by rule (srllm.rewrite.reframe), fall back to a minimal edit
of the flagged spans, and as a last resort sample a few rewrites and keep the best that passes (best-of-n rejection
sampling). Each result says which path was taken."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from srllm.detect.spans import WORD_RE
from srllm.errors import SrllmConfigError
from srllm.models.backends import ENGINES, GenerationBackend, GenerationConfig
from srllm.rewrite.clean import clean_rewrite, restore_source_form
from srllm.rewrite.edit import drop_group_modifiers, remove_spans
from srllm.rewrite.groups import lexicon_words
from srllm.rewrite.prompts import build_messages
from srllm.rewrite.quality import QUALITY_CHECKS
from srllm.rewrite.reframe import claim_sentences, reframe_candidates
from srllm.schema import RewriteResult
from srllm.taxonomy import default_taxonomy

__all__ = ["RewriteConfig", "Rewriter", "rewrite_budget"]

# Nouns for people that name a group with the word before them ("cancer patients", "obese people"): a span edit
# that deletes one leaves the modifier standing for the group ("Typical cancer: greedy") and keeps the claim.
PERSON_NOUNS = frozenset({"people", "person", "persons", "folks", "folk", "patients", "kids", "children", "families",
                          "workers", "drivers", "users", "recipients", "residents", "citizens", "parents", "students"})


def rewrite_budget(texts: Sequence[str], cap: int = 512) -> int:
    """New-token budget for rewriting a batch: scales with the longest input (~3-4 characters a token in English),
    32..cap tokens."""
    return int(min(cap, max(32, max((len(t) for t in texts), default=0) / 3 + 24)))


@dataclass
class RewriteConfig:
    similarity_threshold: float = field(default=0.6, metadata={
        "help": "Minimum MiniLM cosine between input and rewrite for the rewrite to count as meaning-preserving."})
    max_attempts: int = field(default=2, metadata={
        "help": "LLM attempts per text (the second uses a stricter prompt) before the span-edit fallback."})
    reframe: bool = field(default=True, metadata={
        "help": "When the LLM attempts fail on a sentence that generalises about a group, restate it by rule "
                "about individuals, keeping a real concern behind it, or naming it as a stereotype "
                "(srllm.rewrite.reframe); the result is judged like a rewrite and its action is 'reframed'."})
    drop_group_modifiers: bool = field(default=True, metadata={
        "help": "When the LLM attempts fail on a text that tells of people without generalising about a group, "
                "drop the identity adjectives that only describe them ('the group of black men attacked him' -> "
                "'the group of men attacked him'; srllm.rewrite.edit.drop_group_modifiers); judged like any edit, "
                "action 'edited'. Never for a sentence that makes a claim about a group (reframing handles those)."})
    span_fallback: bool = field(default=True, metadata={"help": "Delete flagged spans when the LLM attempts fail."})
    # Not stereotyping: a stereotype is a claim, and deleting its words leaves the claim or breaks the sentence
    # ("Morocco storekeepers are always cheating ..." -> "... are with their customers."); on dev this removed 2 of
    # 4 stereotype edits, both broken, and no ParaDetox edit (docs/benchmarks.md, Stereotype rewriting (held-out)).
    span_edit_categories: tuple[str, ...] | None = field(default=("toxicity", "bias"), metadata={
        "help": "Top-level categories whose flagged spans the fallback may delete ('all': every one), e.g. toxicity: "
                "no bias spans either, which also keeps slurs the detector files under bias; words naming groups "
                "are kept either way (keep_group_terms). docs/benchmarks.md, Rewrite policy selection."})
    keep_group_terms: bool = field(default=True, metadata={
        "help": "The span edit never deletes a word naming a group of people (the taxonomy's `groups`: women, "
                "muslims, ...): the deletion would hide a stereotype from the detector and keep its claim."})
    retry_samples: int = field(default=4, metadata={
        "help": "Last resort when the attempts and the span edit fail: sample this many rewrites and keep the "
                "accepted one closest in meaning. 0: none."})
    sample_temperature: float = field(default=0.8, metadata={"help": "Temperature of the sampled rewrites."})
    seed: int = field(default=0, metadata={
        "help": "Seed of the sampled rewrites: the same text gets the same samples, whatever else is checked with it."})
    max_new_tokens: int | None = field(default=None, metadata={
        "help": "Token budget of a rewrite; default scales with the input length (32..512)."})
    batch_size: int = field(default=16, metadata={"help": "Texts generated at once."})
    # transformers stays the default until the rewrite-quality table is re-measured on CTranslate2 (its rewrites
    # kept less of the input's meaning on 24 dev texts: MiniLM similarity 0.842 vs 0.898).
    engine: str = field(default="transformers", metadata={
        "help": "Generation engine of a local LLM: transformers, ctranslate2 (int8, ~3x faster on CPU), or auto "
                "(CTranslate2 on CPU when installed, else transformers). Ignored with --base-url."})
    quality_checks: tuple[str, ...] = field(default=("fragment", "flip", "generalisation"), metadata={
        "help": "Checks an output must also pass (srllm.rewrite.quality): 'fragment' (a whole sentence where the "
                "input was one), 'flip' (no criticism turned into praise or praise into criticism), 'generalisation' "
                "(no plain claim about a group the input generalised about)."})
    max_ppl_ratio: float | None = field(default=4.0, metadata={
        "help": "Reject an output whose perplexity under the reference LM (embedded SmolLM2, no adapter) is more "
                "than this many times the input's (a fluency check relative to the input). None: off."})

    def __post_init__(self):
        if self.span_edit_categories is not None and tuple(self.span_edit_categories) == ("all",):
            self.span_edit_categories = None
        if not 0.0 <= self.similarity_threshold <= 1.0:
            raise SrllmConfigError(f"similarity_threshold must be in [0, 1], got {self.similarity_threshold}")
        if self.max_attempts < 0:
            raise SrllmConfigError(f"max_attempts must be >= 0, got {self.max_attempts}")
        if self.retry_samples < 0:
            raise SrllmConfigError(f"retry_samples must be >= 0, got {self.retry_samples}")
        if self.engine not in ENGINES:
            raise SrllmConfigError(f"engine must be one of {', '.join(ENGINES)}, got '{self.engine}'")
        unknown = set(self.quality_checks) - {"fragment", "flip", "generalisation"}
        if unknown:
            raise SrllmConfigError(f"quality_checks: unknown {sorted(unknown)}; known: fragment, flip, generalisation")
        if self.max_ppl_ratio is not None and self.max_ppl_ratio <= 1:
            raise SrllmConfigError(f"max_ppl_ratio must be > 1 (or None), got {self.max_ppl_ratio}")
        if self.retry_samples and self.sample_temperature <= 0:
            raise SrllmConfigError(f"sample_temperature must be > 0 to sample rewrites, got {self.sample_temperature}")


class Rewriter:
    """Rewrites unsafe texts with an LLM backend, checked by a detector (anything with `is_unsafe`,
    `unsafe_probability`, `similarity` and `spans`, e.g. `srllm.detect.Detector`)."""

    def __init__(self, *, backend: GenerationBackend | None, detector, config: RewriteConfig | None = None,
                 perplexity=None):
        self.backend, self.detector = backend, detector
        self.config = config or RewriteConfig()
        # The detector's taxonomy (a policy may add group words) and the group lexicon's words; a custom detector
        # without a taxonomy gets the default.
        taxonomy = getattr(detector, "taxonomy", None) or default_taxonomy()
        self._group_terms = set(taxonomy.group_terms) | lexicon_words()
        # texts -> perplexities under a reference LM (srllm.rewrite.quality.ReferencePerplexity, which Guard passes);
        # without one the fluency ratio (max_ppl_ratio) is not checked
        self._perplexity = perplexity
        self.rejections: dict[str, int] = {}  # why candidates were rejected, counted (for measurement)

    def _generation(self, texts: list[str]) -> GenerationConfig:
        budget = self.config.max_new_tokens or rewrite_budget(texts)
        return GenerationConfig(max_new_tokens=budget, batch_size=self.config.batch_size)

    def _ppl(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._perplexity(texts), dtype=float)

    def _judge(self, sources: list[str], outputs: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(unsafe?, similarity, perplexity ratio output/input) per (source, output) pair; an empty output is
        unsafe with similarity 0. The ratio is computed only for outputs that pass the rest (nan elsewhere)."""
        unsafe = np.ones(len(outputs), dtype=bool)
        sims = np.zeros(len(outputs), dtype=float)
        ratio = np.full(len(outputs), np.nan)
        idx = [i for i, o in enumerate(outputs) if o.strip()]
        if idx:
            unsafe[idx] = self.detector.is_unsafe([outputs[i] for i in idx])
            sims[idx] = self.detector.similarity([sources[i] for i in idx], [outputs[i] for i in idx])
        if self.config.max_ppl_ratio is not None and self._perplexity is not None:
            todo = [i for i in idx if not unsafe[i] and sims[i] >= self.config.similarity_threshold
                    and outputs[i].strip() != sources[i].strip()]
            if todo:
                ppl = self._ppl([outputs[i] for i in todo] + [sources[i] for i in todo])
                ratio[todo] = ppl[:len(todo)] / np.maximum(ppl[len(todo):], 1e-6)
        return unsafe, sims, ratio

    def _why(self, source: str, output: str, unsafe: bool, sim: float, ratio: float = float("nan")) -> str | None:
        why = self._why_inner(source, output, unsafe, sim, ratio)
        if why is not None:
            key = why.split(" (")[0].split(":")[0]
            self.rejections[key] = self.rejections.get(key, 0) + 1
        return why

    def _why_inner(self, source: str, output: str, unsafe: bool, sim: float, ratio: float) -> str | None:
        if not output.strip():
            return "empty output (refusal or only an explanation)"
        if output.strip() == source.strip():
            return "returned the input unchanged"
        if unsafe:
            return "the detector still flags the output"
        if sim < self.config.similarity_threshold:
            return f"meaning not kept (similarity {sim:.2f} < {self.config.similarity_threshold})"
        for name in self.config.quality_checks:
            why = QUALITY_CHECKS[name](source, output)
            if why:
                return f"{name}: {why}"
        if self.config.max_ppl_ratio is not None and ratio == ratio and ratio > self.config.max_ppl_ratio:
            return f"fluency: perplexity {ratio:.1f}x the input's (> {self.config.max_ppl_ratio})"
        return None

    def _accept(self, sources: list[str], candidates: list[list[str]], *,
                first: bool = False) -> list[tuple[str, float] | str]:
        """Per source, the passing candidate closest in meaning as (output, similarity), or with `first` the first
        passing one in candidate order; else why the first failed. All candidates are judged in one
        detector/encoder pass."""
        flat = [(k, c) for k, cands in enumerate(candidates) for c in cands]
        unsafe, sims, ratios = self._judge([sources[k] for k, _ in flat], [c for _, c in flat])
        best: dict[int, tuple[str, float]] = {}
        why_first: dict[int, str] = {}
        for (k, cand), u, sim, ratio in zip(flat, unsafe, sims, ratios, strict=True):
            if first and k in best:
                continue
            why = self._why(sources[k], cand, bool(u), float(sim), float(ratio))
            if why is None and (k not in best or sim > best[k][1]):
                best[k] = (cand, float(sim))
            elif why is not None:
                why_first.setdefault(k, why)
        return [best.get(k) or why_first[k] for k in range(len(sources))]

    def rewrite(self, texts: list[str]) -> list[RewriteResult]:
        """One RewriteResult per (unsafe) text, in order."""
        results: list[RewriteResult | None] = [None] * len(texts)
        reasons: dict[int, list[str]] = {i: [] for i in range(len(texts))}
        pending = list(range(len(texts)))
        llm_attempts = self.config.max_attempts if self.backend is not None else 0
        for attempt in range(llm_attempts):
            if not pending:
                break
            sources = [texts[i] for i in pending]
            raw = self.backend.generate([build_messages(t, strict=attempt > 0) for t in sources],
                                        self._generation(sources))
            verdicts = self._accept(sources, [[clean_rewrite(r, s)] for r, s in zip(raw, sources, strict=True)])
            pending = self._settle(pending, verdicts, results, reasons, stage=f"attempt {attempt + 1}",
                                   attempts=attempt + 1, replace_reason=True)
        if pending and self.config.reframe:
            pending = self._reframe(pending, texts, results, reasons, attempts=llm_attempts)
        if pending and self.config.drop_group_modifiers:
            pending = self._drop_modifiers(pending, texts, results, reasons, attempts=llm_attempts)
        if self.config.span_fallback:
            still = []
            for i in pending:
                edit = self._edit(texts[i])
                if isinstance(edit, str):
                    reasons[i].append(f"span edit: {edit}")
                    still.append(i)
                else:
                    results[i] = RewriteResult(output=edit[0], action="edited", similarity=edit[1],
                                               attempts=llm_attempts, output_unsafe=False,
                                               reason="; ".join(reasons[i]) or None)
            pending = still
        llm_stages = llm_attempts
        if pending and self.backend is not None and self.config.retry_samples:
            llm_stages += 1
            sources = [texts[i] for i in pending]
            pending = self._settle(pending, self._accept(sources, self._samples(sources)), results, reasons,
                                   stage=f"{self.config.retry_samples} samples", attempts=llm_stages)
        for i in pending:
            # Nothing safe was found: hand back the input and say so; callers should block a failed text.
            results[i] = RewriteResult(output=texts[i], action="failed", similarity=1.0, attempts=llm_stages,
                                       output_unsafe=True, reason="; ".join(reasons[i]) or None)
        return results  # type: ignore[return-value]

    def _settle(self, pending: list[int], verdicts: list, results: list, reasons: dict, *, stage: str,
                attempts: int, replace_reason: bool = False) -> list[int]:
        """Record accepted rewrites; return the indices still pending (their reason noted)."""
        still = []
        for i, verdict in zip(pending, verdicts, strict=True):
            if isinstance(verdict, str):
                # An LLM attempt's reason replaces the previous attempt's: the last one says the most.
                reasons[i] = [f"{stage}: {verdict}"] if replace_reason else [*reasons[i], f"{stage}: {verdict}"]
                still.append(i)
            else:
                results[i] = RewriteResult(output=verdict[0], action="rewritten", similarity=verdict[1],
                                           attempts=attempts, output_unsafe=False)
        return still

    def _reframe(self, pending: list[int], texts: list[str], results: list, reasons: dict, *,
                 attempts: int) -> list[int]:
        """Restate group generalisations by rule (srllm.rewrite.reframe); per text the first candidate that passes
        every check, in the frame order (the same whatever the group). Returns the indices still pending."""
        candidates = {i: reframe_candidates(texts[i]) for i in pending}
        return self._rule_stage(pending, texts, candidates, results, reasons, attempts=attempts, action="reframed",
                                stage="reframe", first=True)

    def _drop_modifiers(self, pending: list[int], texts: list[str], results: list, reasons: dict, *,
                        attempts: int) -> list[int]:
        """Drop identity adjectives from texts that make no group claim (srllm.rewrite.edit.drop_group_modifiers);
        per text the accepted candidate closest in meaning. Returns the indices still pending."""
        candidates = {i: drop_group_modifiers(texts[i], self._group_terms) for i in pending
                      if not claim_sentences(texts[i])}
        return self._rule_stage(pending, texts, candidates, results, reasons, attempts=attempts, action="edited",
                                stage="identity adjectives", note="identity adjectives dropped")

    def _rule_stage(self, pending: list[int], texts: list[str], candidates: dict[int, list[str]], results: list,
                    reasons: dict, *, attempts: int, action: str, stage: str, first: bool = False,
                    note: str | None = None) -> list[int]:
        """Judge rule-made candidates (per text: the first that passes with `first`, else the closest in meaning);
        record the accepted ones as `action` and return the indices still pending (why noted under `stage`)."""
        todo = [i for i in pending if candidates.get(i)]
        if not todo:
            return pending
        verdicts = dict(zip(todo, self._accept([texts[i] for i in todo], [candidates[i] for i in todo], first=first),
                            strict=True))
        still = []
        for i in pending:
            verdict = verdicts.get(i)
            if isinstance(verdict, tuple):
                why = [*reasons[i], note] if note else reasons[i]
                results[i] = RewriteResult(output=verdict[0], action=action, similarity=verdict[1],
                                           attempts=attempts, output_unsafe=False, reason="; ".join(why) or None)
            else:
                if verdict:
                    reasons[i].append(f"{stage}: {verdict}")
                still.append(i)
        return still

    def _samples(self, sources: list[str]) -> list[list[str]]:
        """retry_samples sampled rewrites per source from the plain prompt (the one the adapter was trained on),
        drawn in one seeded call of retry_samples copies of the prompt. One text per call: in a batch the random
        draws of a row depend on the other rows, and the same text must get the same samples whatever it is checked
        with. (One call of k copies, not k calls: the stage took 1.8x less time on CTranslate2, which reloads its
        generator for every seeded call, and 1.7x less on transformers.)"""
        out = []
        k = self.config.retry_samples
        for source in sources:
            gen = replace(self._generation([source]), temperature=self.config.sample_temperature,
                          seed=self.config.seed, batch_size=max(k, self.config.batch_size))
            replies = self.backend.generate([build_messages(source)] * k, gen)
            out.append([clean_rewrite(r, source) for r in replies])
        return out

    def _names_group(self, span_text: str) -> bool:
        """True when a word of the span names a group of people ("women", "Immigrants are", "muslims'"): deleting
        it hides the claim from the detector and keeps it, and deleting the subject leaves a fragment."""
        # Words as the detector's spans cut them.
        words = [w.lower().removesuffix("'s").rstrip("'") for w in WORD_RE.findall(span_text)]
        return any(w in self._group_terms or w in PERSON_NOUNS for w in words)

    def _edit(self, text: str) -> tuple[str, float] | str:
        """The first safe, meaning-keeping deletion of flagged spans (strongest first, one more at a time) as
        (output, similarity), else why there is none."""
        found = self.detector.spans(text)
        editable = self.config.span_edit_categories
        # A span without a category (a custom detector) is always editable.
        spans = sorted((s for s in found if editable is None or s.category is None
                        or s.category.split(".")[0] in editable), key=lambda s: -s.score)
        if found and not spans:
            kinds = sorted({(s.category or "unknown").split(".")[0] for s in found})
            return f"the flagged spans are {'/'.join(kinds)}, which a deletion does not fix"
        if self.config.keep_group_terms:
            names_group = [self._names_group(s.text) for s in spans]
            groups = [s for s, g in zip(spans, names_group, strict=True) if g]
            spans = [s for s, g in zip(spans, names_group, strict=True) if not g]
            if groups and not spans:
                words = ", ".join(dict.fromkeys(f"'{s.text}'" for s in groups))
                return f"the flagged words name a group of people ({words}); deleting them would keep the claim"
        candidates = [restore_source_form(remove_spans(text, spans[:k]), text) for k in range(1, len(spans) + 1)]
        candidates = [c for c in candidates if c.strip()]
        if not candidates:
            return "no span found to remove"
        unsafe, sims, ratios = self._judge([text] * len(candidates), candidates)
        whys = []
        for c, u, s, r in zip(candidates, unsafe, sims, ratios, strict=True):
            why = self._why(text, c, bool(u), float(s), float(r))
            if why is None:
                return c, float(s)
            whys.append(why)
        return "no edit passed: " + "; ".join(dict.fromkeys(whys))
