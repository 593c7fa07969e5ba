"""Build the CMD training file: one JSONL of `Record`s with train/dev/test splits, from the shared data.

Sources: ParaDetox pairs (toxic → human rewrites), the SR_LLM authors' `train_500.csv` (train/dev only) and
`infer_50.csv` (their test set: test only). Texts are deduplicated after normalisation (case, spacing,
punctuation). A text's split is a seeded hash of its normalised form, so every copy of a text lands in the same
split and no text is in two splits. Keep-unchanged examples (target == input) are neutral ParaDetox rewrites of
texts in the same split; `counterfactual-inhouse.csv` is never used (it is the over-correction test set).

For each ParaDetox pair the reference is the first neutral rewrite that is not a copy of the toxic text; the
other non-copies become `alternatives`. In the train split, pairs whose every reference is a near-copy of the
input (same words once case and punctuation are ignored) are dropped: they only teach the model to copy.

With a `reference_judge` (`srllm data build --rank-references`: the shipped detector), the train split's references
are ranked by reward, as RAFT ranks samples: a pair's target becomes the reference the judge finds safe that is
closest in meaning to the input; pairs with no safe reference and keep-unchanged texts the judge flags are dropped
(they would teach the model to leave an insult in place). Dev and test are never touched, so they stay comparable
across builds.

`extra`: more JSONL files of CMD records (text, rewrite, split, source, categories), e.g. the stereotype pairs of
`srllm data stereotypes`; a record without a split is train; a text already present (any split) is dropped.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from srllm.atomic import write_text_atomic
from srllm.data.normalize import normalize
from srllm.data.sources import read_paradetox, read_srllm_csv, shared_data_dir
from srllm.data.sources.files import read_jsonl
from srllm.data.writers import write_jsonl_atomic
from srllm.errors import SrllmDataError
from srllm.schema import Record

__all__ = ["BuildStats", "build_cmd", "rank_references", "normalize", "assign_split", "stats_path"]

SPLITS = ("train", "dev", "test")
KEEP_SOURCE = "paradetox/neutral"


def assign_split(text: str, *, seed: int, dev: float, test: float) -> str:
    """A deterministic split for a text: a seeded hash of its normalised form mapped to [0, 1)."""
    h = int(hashlib.sha1(f"{seed}:{normalize(text)}".encode()).hexdigest()[:12], 16) / 16 ** 12
    return "test" if h < test else "dev" if h < test + dev else "train"


def stats_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.stem + ".stats.json")


@dataclass
class BuildStats:
    out: str
    seed: int
    total: int = 0
    command: str | None = None  # the `srllm data build` command line, when built from the CLI
    by_source_split: dict[str, dict[str, int]] = field(default_factory=dict)
    by_category_split: dict[str, dict[str, int]] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def _paradetox_pairs(path: Path, dropped: Counter) -> list[Record]:
    out = []
    for rec in read_paradetox(path):
        refs = [r for r in [rec.rewrite, *rec.alternatives] if r]
        exact = [r for r in refs if r.strip() != rec.text.strip()]
        if not refs:
            dropped["paradetox: no rewrite"] += 1
            continue
        if not exact:
            dropped["paradetox: every rewrite copies the text"] += 1
            continue
        # Prefer a reference that changes words; keep punctuation-only edits as alternatives.
        exact.sort(key=lambda r: normalize(r) == normalize(rec.text))
        out.append(rec.model_copy(update={"rewrite": exact[0], "alternatives": exact[1:]}))
    return out


def rank_references(records: list[Record], judge, dropped: Counter) -> list[Record]:
    """The train split re-targeted by reward (see the module doc). `judge` has `is_unsafe(texts) -> bool array` and
    `similarity(a, b) -> array` (e.g. srllm.detect.Detector)."""
    import numpy as np

    pairs = [i for i, r in enumerate(records) if r.split == "train" and r.source == "paradetox" and r.rewrite]
    keeps = [i for i, r in enumerate(records) if r.split == "train" and r.source == KEEP_SOURCE]
    srcs, refs, owner = [], [], []
    for i in pairs:
        for ref in [records[i].rewrite, *records[i].alternatives]:
            srcs.append(records[i].text)
            refs.append(ref)
            owner.append(i)
    unsafe = np.asarray(judge.is_unsafe(refs + [records[i].text for i in keeps]), dtype=bool)
    ref_unsafe, keep_unsafe = unsafe[: len(refs)], unsafe[len(refs):]
    sims = np.asarray(judge.similarity(srcs, refs), dtype=float) if refs else np.zeros(0)
    ranked: dict[int, list[tuple[float, str]]] = {}
    for k, i in enumerate(owner):
        if not ref_unsafe[k]:
            ranked.setdefault(i, []).append((-sims[k], refs[k]))
    drop = {i for k, i in enumerate(keeps) if keep_unsafe[k]}
    pair_set = set(pairs)
    dropped["keep-unchanged train: the reference judge flags it"] += len(drop)
    out = []
    for i, r in enumerate(records):
        if i in drop:
            continue
        if i in pair_set:
            if i not in ranked:
                dropped["paradetox train: no reference passes the reference judge"] += 1
                continue
            # Safest-first is given (only safe ones are ranked); then the closest in meaning. Stable for ties.
            order = [ref for _, ref in sorted(ranked[i], key=lambda x: x[0])]
            r = r.model_copy(update={"rewrite": order[0], "alternatives": order[1:]})
        out.append(r)
    return out


def build_cmd(out: str | Path, *, data_dir: str | Path | None = None, seed: int = 13, dev: float = 0.03,
              test: float = 0.05, srllm_dev: float = 0.1, keep_ratio: float = 0.2,
              max_paradetox: int | None = None, reference_judge=None, command: str | None = None,
              extra: list[str | Path] | None = None) -> BuildStats:
    """Write the CMD JSONL to `out` (atomically) and its counts to `<out stem>.stats.json`; return the counts.

    dev/test: shares of ParaDetox texts; srllm_dev: share of train_500 texts in dev; keep_ratio: keep-unchanged
    examples per rewrite pair in each split; max_paradetox: cap on ParaDetox pairs (seeded sample), for tests;
    reference_judge: rank the train split's references by reward (see the module doc); command: the command line
    to record in the stats (model cards quote it); extra: more CMD JSONL files (see the module doc).
    """
    if not (0 <= dev < 1 and 0 <= test < 1 and dev + test < 1):
        raise SrllmDataError(f"dev={dev} and test={test} must be shares in [0, 1) with dev + test < 1")
    if keep_ratio < 0:
        raise SrllmDataError(f"keep_ratio={keep_ratio} must be >= 0")
    root = Path(data_dir) if data_dir else shared_data_dir()
    if root is None or not root.is_dir():
        raise SrllmDataError("the shared data folder (paradetox/, sr-llm/) was not found; pass --data-dir or set "
                             "SRLLM_DATA_DIR", file=str(data_dir) if data_dir else None)
    dropped: Counter = Counter()
    rng = random.Random(seed)

    candidates: list[Record] = []  # in priority order: the authors' test set first, so it wins duplicates
    infer = root / "sr-llm" / "infer_50.csv"
    if infer.is_file():
        candidates += [r.model_copy(update={"split": "test"}) for r in read_srllm_csv(infer)]
    train500 = root / "sr-llm" / "train_500.csv"
    if train500.is_file():
        for r in read_srllm_csv(train500):
            split = "dev" if assign_split(r.text, seed=seed, dev=srllm_dev, test=0) == "dev" else "train"
            candidates.append(r.model_copy(update={"split": split}))
    pd_path = root / "paradetox" / "paradetox.tsv"
    pairs = _paradetox_pairs(pd_path, dropped) if pd_path.is_file() else []
    if max_paradetox is not None and len(pairs) > max_paradetox:
        pairs = sorted(rng.sample(pairs, max_paradetox), key=lambda r: r.id)
    for r in pairs:
        candidates.append(r.model_copy(update={"split": assign_split(r.text, seed=seed, dev=dev, test=test)}))
    for path in extra or []:
        for row in read_jsonl(path, line_key="_line"):
            if not row.get("text") or row.get("rewrite") is None:
                raise SrllmDataError("an --extra record needs `text` and `rewrite`", file=str(path),
                                     line=row.get("_line"))
            candidates.append(Record(text=row["text"], rewrite=row["rewrite"], split=row.get("split") or "train",
                                     source=row.get("source") or Path(path).stem,
                                     categories=row.get("categories") or [], bias=row.get("bias")))
    if not candidates:
        raise SrllmDataError(f"no source files found under {root} (expected paradetox/paradetox.tsv, "
                             "sr-llm/train_500.csv, sr-llm/infer_50.csv)")

    records: list[Record] = []
    split_of: dict[str, str] = {}
    for r in candidates:
        key = normalize(r.text)
        if key in split_of:
            dropped["duplicate text"] += 1
            continue
        if r.split == "train" and r.source == "paradetox" and normalize(r.rewrite or "") == key:
            dropped["paradetox train: rewrite is a near-copy"] += 1
            continue
        split_of[key] = r.split
        records.append(r)

    # A reference of one split must not be a text of another: the model would see a test answer in training.
    clean = []
    for r in records:
        if any(ref and split_of.get(normalize(ref), r.split) != r.split for ref in [r.rewrite, *r.alternatives]):
            dropped["reference is a text of another split"] += 1
            del split_of[normalize(r.text)]
            continue
        clean.append(r)
    records = clean
    ref_splits: dict[str, set[str]] = {}
    for r in records:
        for ref in [r.rewrite, *r.alternatives]:
            if ref:
                ref_splits.setdefault(normalize(ref), set()).add(r.split)

    keep: list[Record] = []
    for split in SPLITS:
        pool = [r for r in records if r.split == split and r.source == "paradetox"]
        want = round(keep_ratio * len([r for r in records if r.split == split and r.rewrite]))
        for r in rng.sample(pool, min(want, len(pool))):
            neutral = r.rewrite
            key = normalize(neutral)
            if key in split_of or ref_splits.get(key, {split}) != {split}:
                dropped["keep-unchanged: text already present"] += 1
                continue
            split_of[key] = split
            keep.append(Record(text=neutral, rewrite=neutral, toxicity="none", bias="none", source=KEEP_SOURCE,
                               split=split))
    records += keep
    if reference_judge is not None:
        records = rank_references(records, reference_judge, dropped)
    records.sort(key=lambda r: (SPLITS.index(r.split), r.source or "", r.id))

    stats = BuildStats(out=str(out), seed=seed, total=len(records), dropped=dict(sorted(dropped.items())),
                       command=command)
    for r in records:
        src = stats.by_source_split.setdefault(r.source or "?", dict.fromkeys(SPLITS, 0))
        src[r.split] += 1
        for cat in r.categories or ["none (keep unchanged)"]:
            stats.by_category_split.setdefault(cat, dict.fromkeys(SPLITS, 0))[r.split] += 1
    write_jsonl_atomic(out, records)
    write_text_atomic(stats_path(out), stats.to_json() + "\n")
    return stats
