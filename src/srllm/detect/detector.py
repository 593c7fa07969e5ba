"""The fast detector: all-MiniLM-L6-v2 sentence embeddings + trained heads -> a probability per taxonomy
category, flagged categories at declared thresholds, an overall `unsafe` decision, a severity and word spans.
Heads trained with a tuned encoder carry its LoRA adapter (`encoder-adapter/` in the heads folder), merged into
the encoder at load time; `similarity` (meaning preservation of rewrites) keeps the untuned encoder.

Decisions (declared):
- A category is flagged when its probability is >= its threshold. The threshold is the one the policy sets for
  that category (`thresholds:` or a category's `threshold:`), else the policy's `default_threshold` if the policy
  changed it from the built-in 0.5, else the threshold the heads declare (chosen on validation data in training).
- Terms: a category is also flagged when the text contains one of its taxonomy `terms` (whole words, any case:
  "fuck", "nigger"; a policy adds its own). Its score is raised to its threshold (and so is each parent head's),
  so every decision below sees the hit; a hit with a score under the threshold gets the lower severity step. A
  sentence embedding scores the whole sentence and can miss one profane word in an ordinary sentence ("my roomate
  is a pain in my ass and my ears" scored 0.004). Terms of a category with no head, and no parent head, are not used.
- `unsafe` = any enabled category flagged. Disabled categories (and children of disabled ones) are dropped.
- `unsafe_probability` = over the enabled heads, the largest probability after moving each one in logit space so
  its threshold sits at 0.5: P(unsafe) >= 0.5 exactly when `unsafe` (`is_unsafe`), and within a head the ranking
  is unchanged (a score for AUPRC and soft STA judging).
- Severity: each flagged category contributes its taxonomy severity (low/medium/high) when its confidence
  (p - t) / (1 - t) is >= 0.5, one step lower (never below low) when it is under 0.5; the verdict takes the
  highest. Safe texts have severity "none".
- Texts longer than the heads' `max_seq_length` word pieces (128) are truncated by the encoder; only their start
  is judged, unless `sentence_level` (off by default): then a text of two or more sentences of at least
  `min_sentence_words` words is also scored sentence by sentence, and each category takes the largest of the whole
  text's and its sentences' probabilities. It trades false positives for recall on long texts and does not rank
  better (docs/benchmarks.md, "Detector fairness and stereotypes"): infer_50 biased texts flagged 0.302 -> 0.453
  but their debiased rewrites 0.094 -> 0.151, AUPRC 0.736 -> 0.731; safe group mentions of the held-out stereotype
  set flagged 0.049 -> 0.067. Use it where a missed sentence costs more than a blocked paragraph.
- `claim_level` (off by default): a sentence whose claim about a group is wrapped in words that only vouch for it
  ("It's a fact that X are Y.", "My dad always said X are Y, and he was right.") or put in another shape ("I've
  never met one of the X who wasn't Y.") is also scored as the plain claim ("X are Y.",
  srllm.rewrite.reframe.plain_claims), each category taking the larger probability. The heads learnt claims more
  than the wrappers around them, so it finds wrapped stereotypes, but it also flags wrapped benign generalisations
  ("I've never met one of the X who wasn't friendly to me.") and does not rank better: on the held-out stereotype
  set a first version (which also unwrapped "they" clauses) moved recall 0.889 -> 0.907 and FPR 0.041 -> 0.061, AUPRC
  0.964 -> 0.952 (docs/benchmarks.md, "Claim-level scoring and wrapped statements"). Use it where a missed
  stereotype costs more than a flagged safe mention. It costs ~0.1 ms a text.
- `encoder_engine`: what runs the encoder. "auto" (default): ONNX Runtime when onnxruntime is installed (a
  dependency) and the encoder exports, else torch with a warning; "onnx" forces it (an error when it cannot run);
  "torch": sentence-transformers on torch. ONNX Runtime (srllm.detect.onnx_encoder) gives the torch embeddings to
  ~1e-6 with every decision on the held-out sets identical; on a quiet 2-core machine it did 1.35x torch's texts/s
  in batches, 2.2x for one text, and 1.34x the requests/s through `srllm serve`, for about 300 MB more memory
  (docs/benchmarks.md, "Detector encoder engines"). Spans embed their variants through the same engine.
- `quantize="int8"`: embed with an int8 encoder (torch: srllm.detect.encoding.quantized_copy; onnx: an
  onnxruntime dynamic-int8 copy of the export with per-channel weight scales): slightly different scores. On ONNX
  Runtime 1.4x the texts/s with 7 of 1,235 held-out decisions moved; off by default because the shipped heads'
  thresholds were declared on fp32 embeddings and, on the development sets, int8 moved stereotype recall
  0.838 -> 0.828 and its FPR 0.010 -> 0.018 (docs/benchmarks.md, "Detector speed: per-channel int8 and a
  first-pass screen").
- `screen` (off by default; True: the heads folder's `screen/`, or a folder): a first pass, a bag of word pieces
  distilled from these heads (srllm.detect.screen, `srllm train screen`), decides the texts it is sure about
  without the encoder and sends the rest on. On the heads' test split it decided 55% of the texts and changed 0.44%
  of the decisions; a text it decides carries its estimates, not the encoder's scores, which rank worse on the
  held-out stereotype set (AUPRC 0.964 -> 0.952). Texts scored sentence by sentence or claim by claim always go to
  the encoder. Refused with another encoder or other thresholds.
- `threads`: threads used while embedding (None: torch's setting, one thread for calls of <= 8 texts; on a
  machine busy with other jobs, threads=1 is much faster, see srllm.detect.encoding).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from srllm.detect.encoding import check_encoder_engine, clip_text, embedding_dim, encode_texts, quantized_copy
from srllm.detect.heads import HeadSet, default_heads_dir, uncalibrated, unsafe_score
from srllm.detect.spans import SpanRule, leave_one_out, merge_adjacent, remove_range, select_words, word_tokens
from srllm.errors import SrllmConfigError, SrllmModelError
from srllm.regex import word_alternation
from srllm.schema import Span, Verdict
from srllm.taxonomy import SEVERITY_RANK, Taxonomy, default_taxonomy, load_policy

__all__ = ["Detector"]

_RANK_NAME = {v: k for k, v in SEVERITY_RANK.items()}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _texts(texts, what: str = "texts") -> list[str]:
    if isinstance(texts, str):
        raise TypeError(f"{what} must be a list of strings, got one string; wrap it: [{texts[:30]!r}]")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"{what}[{i}] is a {type(t).__name__}, not a string")
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p) - np.log1p(-p)


class Detector:
    """Sentence-embedding detector with one trained head per taxonomy category."""

    def __init__(self, *, encoder: str | None = None, heads=None, policy=None, batch_size: int = 64,
                 span_rule: SpanRule | None = None, threads: int | None = None, quantize: str | None = None,
                 sentence_level: bool = False, min_sentence_words: int = 5, encoder_engine: str = "auto",
                 claim_level: bool = False, screen=False):
        if batch_size < 1:
            raise SrllmConfigError(f"batch_size must be >= 1, got {batch_size}")
        if threads is not None and threads < 1:
            raise SrllmConfigError(f"threads must be >= 1 (or None), got {threads}")
        if min_sentence_words < 1:
            raise SrllmConfigError(f"min_sentence_words must be >= 1, got {min_sentence_words}")
        check_encoder_engine(encoder_engine)
        self.batch_size, self.threads = batch_size, threads
        self.sentence_level, self.min_sentence_words = sentence_level, min_sentence_words
        self.claim_level = claim_level
        self.span_rule = span_rule or SpanRule()
        self.head_set = heads if isinstance(heads, HeadSet) else HeadSet.load(heads or default_heads_dir())
        self.taxonomy = policy if isinstance(policy, Taxonomy) else load_policy(policy)
        self._thresholds = self._resolve_thresholds()
        self._active = [j for j, h in enumerate(self.head_set.heads) if self.taxonomy.enabled(h.id)]
        # Fixed once loaded; computed per call they cost ~0.6 ms, more than the screen's whole first pass.
        self._categories = tuple(self.head_set.heads[j].id for j in self._active)
        self._group_terms = self.taxonomy.group_terms
        self._term_rules = self._compile_terms()
        from srllm.models import load_sentence_encoder

        # None: the encoder the heads were trained with (with its tuning adapter merged, if they have one).
        self.encoder = (load_sentence_encoder(encoder) if encoder is not None else
                        load_sentence_encoder(self.head_set.encoder or None, self.head_set.encoder_adapter))
        dim = embedding_dim(self.encoder)
        if dim is not None and dim != self.head_set.embedding_dim:
            raise SrllmModelError(f"encoder '{encoder or self.head_set.encoder}' gives {dim}-d embeddings but the "
                                  f"heads take {self.head_set.embedding_dim}-d (they were trained on "
                                  f"{self.head_set.encoder}); use that encoder or retrain the heads")
        if quantize not in (None, "int8"):
            raise SrllmConfigError(f"quantize must be None or 'int8', got {quantize!r}")
        self._onnx = self._onnx_engine(encoder_engine, quantize)
        self.encoder_engine = "onnx" if self._onnx is not None else "torch"
        if quantize and self._onnx is None:
            self.encoder = quantized_copy(self.encoder)
        self.quantize = quantize
        self.max_seq_length = self.head_set.max_seq_length
        # Similarity always uses the untuned encoder (see `similarity`); loaded on first use.
        self._tuned = encoder is None and bool(self.head_set.encoder_adapter)
        self._similarity_engine = None
        self.screen = self._load_screen(screen, heads, encoder)
        self.screened = {"texts": 0, "cleared": 0, "flagged": 0}  # what the screen decided (counts since load)

    def _load_screen(self, screen, heads, encoder):
        """The first-pass screen (srllm.detect.screen) for screen=True (the heads folder's) or a folder; None for
        False. It was distilled at its heads' thresholds with their encoder, so it refuses any other setting."""
        if screen is False or screen is None:
            return None
        from srllm.detect.screen import SCREEN_DIR, Screen

        if screen is True:
            if isinstance(heads, HeadSet):
                raise SrllmConfigError("screen=True finds the screen in the heads folder; with a HeadSet object "
                                       "pass the screen's folder: screen='path/to/screen'")
            screen = Path(heads or default_heads_dir()) / SCREEN_DIR
        loaded = Screen.load(screen)
        if encoder is not None:
            raise SrllmConfigError("the screen was distilled from the heads' own encoder; it cannot screen for "
                                   f"encoder '{encoder}' (use screen=False)")
        moved = {c: (loaded.thresholds.get(c), t) for c, t in self.thresholds.items()
                 if loaded.thresholds.get(c) is None or abs(loaded.thresholds[c] - t) > 1e-6}
        if moved or not set(self.categories) <= set(loaded.categories):
            raise SrllmConfigError(f"the screen in '{screen}' was distilled at other thresholds or categories than "
                                   f"this detector's (screen vs detector: {moved}); distil one for them with "
                                   f"`srllm train screen` or use screen=False")
        return loaded

    def _onnx_engine(self, engine: str, quantize: str | None, encoder=None):
        """The ONNX Runtime encoder (of `encoder`, default the detector's) for "auto" and "onnx", or None (torch);
        see the module doc."""
        if engine == "torch":
            return None
        from srllm.detect.onnx_encoder import onnx_encoder

        try:
            return onnx_encoder(encoder if encoder is not None else self.encoder, int8=quantize == "int8")
        except (ImportError, SrllmModelError) as e:
            if engine == "onnx":
                raise SrllmModelError(f"encoder_engine='onnx' cannot run: {e}. Install onnxruntime "
                                      f"(pip install onnxruntime) or use encoder_engine='torch'") from e
            warnings.warn(f"srllm: the ONNX Runtime encoder engine is unavailable ({e}); the detector embeds with "
                          f"torch instead (same decisions)", RuntimeWarning, stacklevel=3)
            return None

    def _resolve_thresholds(self) -> dict[str, float]:
        tax, base_default = self.taxonomy, default_taxonomy().default_threshold
        out = {}
        for h in self.head_set.heads:
            if h.id not in tax.categories:
                raise SrllmConfigError(f"the detector has a head for '{h.id}', which the taxonomy does not know; "
                                       f"add it to your policy file under `categories:` with a description")
            cat = tax.categories[h.id]
            if cat.threshold is not None:
                out[h.id] = cat.threshold
            elif tax.default_threshold != base_default:
                out[h.id] = tax.default_threshold
            else:
                out[h.id] = h.threshold
        return out

    def _term_columns(self, cid: str) -> list[int]:
        """Columns a hit on `cid`'s terms raises: its own head's and its parents' heads' (enabled ones)."""
        cats, parts = self.categories, cid.split(".")
        return [cats.index(a) for a in (".".join(parts[:i]) for i in range(len(parts), 0, -1)) if a in cats]

    def _compile_terms(self) -> list[tuple[re.Pattern, np.ndarray]]:
        """(pattern, columns it raises) per category with terms and at least one column."""
        rules = []
        for cid, terms in self.taxonomy.flag_terms.items():
            cols = self._term_columns(cid)
            if cols:
                words = word_alternation((" ".join(t.split()) for t in terms), flexible_space=True)
                rules.append((re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE),
                              np.array(cols)))
        return rules

    @property
    def term_categories(self) -> list[str]:
        """Categories whose terms are in use (they, or a parent, have an enabled head)."""
        return [cid for cid in self.taxonomy.flag_terms if self._term_columns(cid)]

    @property
    def categories(self) -> list[str]:
        """Enabled category ids that have a head."""
        return list(self._categories)

    @property
    def thresholds(self) -> dict[str, float]:
        return {c: self._thresholds[c] for c in self.categories}

    # -- embeddings ------------------------------------------------------------------------------------------
    def _clip(self, text: str) -> str:
        return clip_text(text, self.max_seq_length)

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised embeddings, shape (n, dim), float32 (truncated at `max_seq_length` word pieces)."""
        texts = _texts(texts)
        if not texts:
            return np.zeros((0, self.head_set.embedding_dim), dtype=np.float32)
        return self._embed_with(self._onnx if self._onnx is not None else self.encoder, texts)

    def _embed_with(self, engine, texts: list[str]) -> np.ndarray:
        """Embeddings by an OnnxEncoder or a SentenceTransformer."""
        from srllm.detect.onnx_encoder import OnnxEncoder

        if isinstance(engine, OnnxEncoder):
            return engine.encode(texts, max_seq_length=self.max_seq_length, batch_size=self.batch_size,
                                 threads=self.threads)
        return encode_texts(engine, texts, max_seq_length=self.max_seq_length, batch_size=self.batch_size,
                            threads=self.threads)

    def similarity(self, a: list[str], b: list[str]) -> np.ndarray:
        """Cosine similarity of a[i] and b[i] (both lists embedded in one batch). Always with the untuned encoder:
        an encoder tuned to tell unsafe from safe text would call a faithful rewrite of an insult dissimilar."""
        a, b = _texts(a, "a"), _texts(b, "b")
        if len(a) != len(b):
            raise ValueError(f"similarity needs lists of equal length, got {len(a)} and {len(b)}")
        if not self._tuned:
            emb = self.embed(a + b)
        else:
            if self._similarity_engine is None:
                from srllm.models import load_sentence_encoder

                base = load_sentence_encoder(self.head_set.encoder or None)
                onnx = self._onnx_engine("auto", None, base) if self._onnx is not None else None
                self._similarity_engine = onnx or base
            emb = self._embed_with(self._similarity_engine, a + b)
        return np.sum(emb[: len(a)] * emb[len(a):], axis=1).astype(np.float32)

    # -- scores ----------------------------------------------------------------------------------------------
    def _probs(self, emb: np.ndarray) -> np.ndarray:
        """Probabilities of the enabled heads, shape (n, len(categories))."""
        return self.head_set.predict_proba(emb)[:, self._active]

    def _thr(self) -> np.ndarray:
        return np.array([self._thresholds[c] for c in self.categories], dtype=np.float32)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """P(category) per text, shape (n, len(categories)), columns in `categories` order; a category whose
        terms the text contains scores at least its threshold (module doc)."""
        texts = _texts(texts)
        units, owners = self._sentence_units(texts) if self.sentence_level else ([], [])
        if self.claim_level:
            claim_units, claim_owners = self._claim_units(texts)
            units, owners = units + claim_units, owners + claim_owners
        sure = np.zeros(len(texts), dtype=bool)
        if self.screen is not None and texts:
            sure, estimates = self.screen.decide(texts, [self.screen.categories.index(c) for c in self.categories])
            sure[owners] = False  # a text scored sentence by sentence or claim by claim goes to the encoder
        todo = [i for i in range(len(texts)) if not sure[i]]
        full = (self._probs(self.embed([texts[i] for i in todo] + units)) if todo or units
                else np.zeros((0, len(self._categories)), dtype=np.float32))
        probs = np.zeros((len(texts) + len(units), len(self.categories)), dtype=np.float32)
        probs[todo] = full[:len(todo)]
        probs[len(texts):] = full[len(todo):]
        if sure.any():
            probs[:len(texts)][sure] = uncalibrated(estimates[sure], self._thr())
            self.screened["cleared"] += int((sure & (estimates.max(axis=1) < 0.5)).sum())
            self.screened["flagged"] += int((sure & (estimates.max(axis=1) >= 0.5)).sum())
        self.screened["texts"] += len(texts) if self.screen is not None else 0
        probs = self.head_set.apply_group_rule(probs, texts + units, ids=self.categories,
                                               extra_terms=self._group_terms)
        whole = probs[:len(texts)]
        for k, i in enumerate(owners):
            whole[i] = np.maximum(whole[i], probs[len(texts) + k])
        return self._raise_term_hits(texts, whole)

    def _sentence_units(self, texts: list[str]) -> tuple[list[str], list[int]]:
        """The sentences of each text of two or more sentences of >= min_sentence_words words, and their text's
        index (module doc)."""
        units, owners = [], []
        for i, text in enumerate(texts):
            sentences = [s for s in _SENTENCE_END.split(text.strip()) if len(s.split()) >= self.min_sentence_words]
            if len(sentences) >= 2:
                units += sentences
                owners += [i] * len(sentences)
        return units, owners

    @staticmethod
    def _claim_units(texts: list[str]) -> tuple[list[str], list[int]]:
        """The plain group claims of each text where they differ from what is written (module doc), and their
        text's index."""
        # The claim parser lives with the reframe that restates the same claims; imported here, on first use,
        # because srllm.rewrite builds on the detector package.
        from srllm.rewrite.reframe import plain_claims

        units, owners = [], []
        for i, text in enumerate(texts):
            found = plain_claims(text)
            units += found
            owners += [i] * len(found)
        return units, owners

    def _raise_term_hits(self, texts: list[str], probs: np.ndarray) -> np.ndarray:
        if not self._term_rules or not len(probs):
            return probs
        thr = self._thr()
        for i, text in enumerate(texts):
            for pattern, cols in self._term_rules:
                if pattern.search(text):
                    probs[i, cols] = np.maximum(probs[i, cols], thr[cols])
        return probs

    def unsafe_probability(self, texts: list[str]) -> np.ndarray:
        """P(unsafe) per text: >= 0.5 exactly when the text is unsafe (see the module doc; 0 when every category
        is disabled)."""
        return unsafe_score(self.probabilities(texts), self._thr())

    def is_unsafe(self, texts: list[str]) -> np.ndarray:
        """True where any enabled category is at or above its threshold."""
        p = self.probabilities(texts)
        return (p >= self._thr()).any(axis=1) if p.shape[1] else np.zeros(len(p), dtype=bool)

    def predict(self, texts: list[str], *, spans: bool = False) -> list[Verdict]:
        texts = _texts(texts)
        probs = self.probabilities(texts)
        thr, cats = self._thr(), self.categories
        verdicts = []
        for row in probs:
            scores = {c: float(p) for c, p in zip(cats, row, strict=True)}
            flagged = [c for c, t in zip(cats, thr, strict=True) if scores[c] >= t]
            verdicts.append(Verdict(unsafe=bool(flagged), categories=scores, flagged=flagged,
                                    severity=self._severity(flagged, scores)))
        if spans:
            todo = [i for i, v in enumerate(verdicts) if v.unsafe]
            for i, found in zip(todo, self._spans_many([texts[i] for i in todo], probs[todo]), strict=True):
                verdicts[i].spans = found
        return verdicts

    def _severity(self, flagged: list[str], probs: dict[str, float]) -> str:
        best = 0
        for c in flagged:
            rank = SEVERITY_RANK[self.taxonomy[c].severity]
            t = self._thresholds[c]
            confidence = (probs[c] - t) / (1 - t) if t < 1 else 1.0
            best = max(best, rank if confidence >= 0.5 else max(1, rank - 1))
        return _RANK_NAME[best]

    # -- spans -----------------------------------------------------------------------------------------------
    def spans(self, text: str) -> list[Span]:
        """The words that carry what the text is flagged for (see srllm.detect.spans for the rule)."""
        if not isinstance(text, str):
            raise TypeError(f"spans takes one string, got {type(text).__name__}")
        return self._spans_many([text])[0]

    def _spans_many(self, texts: list[str], probs: np.ndarray | None = None) -> list[list[Span]]:
        if probs is None:
            probs = self.probabilities(texts)
        thr, rule, cats = self._thr(), self.span_rule, self.categories
        jobs, variants = [], []
        for text, row in zip(texts, probs, strict=True):
            flagged = np.flatnonzero(row >= thr)
            text = self._clip(text)
            tokens = word_tokens(text, rule.max_words) if len(flagged) else []
            jobs.append((text, row, flagged, tokens, len(variants)))
            variants += leave_one_out(text, tokens)
        var_probs = self.probabilities(variants) if variants else np.zeros((0, len(cats)))
        results, spans_pending, removed = [], [], []
        for text, row, flagged, tokens, offset in jobs:
            if not tokens:
                results.append([])
                continue
            vp = var_probs[offset: offset + len(tokens)]
            drop_by_cat = _logit(row[flagged])[None, :] - _logit(vp[:, flagged])
            drops = drop_by_cat.max(axis=1)
            runs = merge_adjacent(select_words(drops, rule))
            found = []
            for run in runs:
                start, end = tokens[run[0]][0], tokens[run[-1]][1]
                best = max(run, key=lambda i: drops[i])
                category = cats[flagged[int(np.argmax(drop_by_cat[best]))]]
                found.append(Span(start=start, end=end, text=text[start:end], score=0.0, category=category))
                spans_pending.append((found[-1], float(unsafe_score(row[None, :], thr)[0])))
                removed.append(remove_range(text, start, end))
            results.append(found)
        if removed:
            after = self.unsafe_probability(removed)
            for (span, before), p in zip(spans_pending, after, strict=True):
                span.score = round(before - float(p), 4)
        return results
