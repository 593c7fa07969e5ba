"""Dataset cards (`srllm data card FILE`) and the list of data on this machine (`srllm data list`).

A card is Markdown in the layout of a Hugging Face dataset card (YAML front matter, then sections) with numbers
computed from the file: records per split, label, category and source; text length; exact and near-duplicates
within a split and across splits (a text in train and in test is a leak); and label balance per group of people
(records whose text names a group of that kind, by the group lexicon).

Readable files: CMD JSONL (every line a `Record`, checked), the SR_LLM CMD CSVs (train_500.csv, infer_50.csv),
counterfactual CSVs (column `Original`; originals and variants as neutral records) and ParaDetox TSVs.

Duplicates are found on srllm's "words" normal form (case, spacing and punctuation ignored). Near-duplicates: TF-IDF
of character 3-5-grams (scikit-learn), cosine similarity >= `near_threshold` between texts that are not exact
duplicates; every pair is counted once.
"""

from __future__ import annotations

import csv
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from srllm.data.group_lexicon import GROUPS, TAXONOMY_ADDITIONS
from srllm.data.normalize import normalize
from srllm.data.sources.files import iter_jsonl, shared_data_dir
from srllm.errors import SrllmDataError
from srllm.schema import Record

__all__ = ["CardConfig", "DataCard", "read_records", "compute_card", "card_markdown", "list_data", "LABELS"]

LABELS = ("bias", "toxicity", "sentiment", "harm")
NO_SPLIT = "(none)"
_LENGTH_EDGES = (5, 10, 20, 40, 80, 160)  # word-count histogram bucket upper bounds


@dataclass
class CardConfig:
    """`srllm data card` options."""

    out: Path | None = field(default=None, metadata={
        "help": "Write the card here (Markdown, atomic); default: print it."})
    name: str | None = field(default=None, metadata={"help": "Dataset name in the card (default: the file name)."})
    near_threshold: float = field(default=0.9, metadata={
        "help": "Cosine similarity of character 3-5-gram TF-IDF at or above which two texts are near-duplicates."})
    examples: int = field(default=5, metadata={"help": "Example pairs shown per duplicate kind."})


def _record(obj: dict, name: str, line: int) -> Record:
    try:
        return Record(**obj)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or None
        raise SrllmDataError(err["msg"], file=name, line=line, field=loc) from e
    except TypeError as e:
        raise SrllmDataError(str(e), file=name, line=line) from e


def read_records(path: str | Path) -> list[Record]:
    """The records of a data file: CMD JSONL, an SR_LLM CMD CSV, a counterfactual CSV or a ParaDetox TSV."""
    from srllm.data.sources.paradetox import read_paradetox
    from srllm.data.sources.sr_llm import read_counterfactual, read_srllm_csv

    p = Path(path)
    if not p.is_file():
        raise SrllmDataError("no such file" if not p.exists() else "not a file", file=str(p))
    suffix = p.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return [_record(obj, str(p), n) for n, obj in iter_jsonl(p)]
    if suffix == ".tsv":
        return read_paradetox(p)
    if suffix == ".csv":
        with p.open(newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), [])
        if "Original" in header:
            recs: dict[str, Record] = {}
            for row in read_counterfactual(p):
                for col in row.columns:
                    text = row.text(col).strip()
                    if text:
                        r = Record(text=text, bias="none", toxicity="none", source=f"counterfactual/{col}")
                        recs.setdefault(r.id, r)
            return list(recs.values())
        return read_srllm_csv(p)
    raise SrllmDataError(f"cannot read '{suffix or '(no extension)'}' files: give a CMD .jsonl, an SR_LLM or "
                         "counterfactual .csv, or a ParaDetox .tsv", file=str(p))


# --- groups -----------------------------------------------------------------------------------------------------

def _group_patterns() -> dict[str, re.Pattern]:
    """Kind of group -> a whole-word, case-insensitive pattern of its words (the group lexicon's plural,
    adjective and singular forms, plus its taxonomy additions)."""
    words: dict[str, set[str]] = defaultdict(set)
    for kind, entries in GROUPS.items():
        for entry in entries:
            words[kind].update(f.lower() for f in entry if f)
    for cid, extra in TAXONOMY_ADDITIONS.items():
        words[cid.split(".", 1)[1]].update(w.lower() for w in extra)
    return {k: re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in sorted(v, key=len, reverse=True))
                          + r")(?![\w-])", re.I) for k, v in sorted(words.items())}


# --- the card ---------------------------------------------------------------------------------------------------

@dataclass
class DataCard:
    name: str
    path: str
    n: int
    splits: dict[str, int]
    labels: dict[str, dict[str, dict[str, int]]]  # label -> value -> split -> count
    categories: dict[str, dict[str, int]]  # category -> split -> count
    sources: dict[str, dict[str, int]]
    lengths: dict[str, dict[str, float]]  # split -> stats of word counts (and chars)
    length_hist: dict[str, dict[str, int]]  # bucket -> split -> count
    rewrites: dict[str, int]  # split -> records with a rewrite
    exact: dict[str, int]  # within/across -> duplicate groups
    exact_records: dict[str, int]  # within/across -> surplus copies (records beyond the first of each text)
    exact_examples: list[dict]
    near: dict[str, int]  # within/across -> pairs
    near_examples: list[dict]
    near_threshold: float
    groups: dict[str, dict]  # kind -> {n, unsafe, bias: Counter, toxicity: Counter}
    unsafe_overall: float | None


def _split(r: Record) -> str:
    return r.split or NO_SPLIT


def _by_split(items) -> dict[str, dict[str, int]]:
    out: dict[str, Counter] = defaultdict(Counter)
    for key, split in items:
        out[key][split] += 1
    return {k: dict(v) for k, v in sorted(out.items())}


def _length_stats(counts: list[int]) -> dict[str, float]:
    if not counts:
        return {}
    qs = statistics.quantiles(counts, n=20, method="inclusive") if len(counts) > 1 else [counts[0]] * 19
    return {"min": min(counts), "p5": qs[0], "median": statistics.median(counts), "mean": statistics.fmean(counts),
            "p95": qs[18], "max": max(counts)}


def _bucket(n: int) -> str:
    lo = 1
    for hi in _LENGTH_EDGES:
        if n <= hi:
            return f"{lo}-{hi}"
        lo = hi + 1
    return f">{_LENGTH_EDGES[-1]}"


def _near_pairs(texts: list[str], threshold: float, *, chunk: int = 2000) -> list[tuple[int, int, float]]:
    """(i, j, similarity), i < j, for texts whose char 3-5-gram TF-IDF cosine is >= threshold."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(texts) < 2:
        return []
    x = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=True, min_df=1,
                        dtype=np.float32).fit_transform(texts)  # rows are L2-normalised
    pairs = []
    for start in range(0, x.shape[0], chunk):
        sims = (x[start:start + chunk] @ x.T).tocoo()
        keep = (sims.data >= threshold) & (sims.row + start < sims.col)
        pairs += [(int(i) + start, int(j), float(s)) for i, j, s in
                  zip(sims.row[keep], sims.col[keep], sims.data[keep], strict=True)]
    return pairs


def compute_card(records: list[Record], *, name: str, path: str, near_threshold: float = 0.9,
                 examples: int = 5) -> DataCard:
    splits = Counter(_split(r) for r in records)
    labels = {lab: _by_split(((getattr(r, lab) or "(unlabelled)"), _split(r)) for r in records) for lab in LABELS}
    labels = {k: v for k, v in labels.items() if set(v) != {"(unlabelled)"}}
    categories = _by_split((c, _split(r)) for r in records for c in (r.categories or ["(none)"]))
    sources = _by_split((r.source or "(none)", _split(r)) for r in records)
    words_by_split: dict[str, list[int]] = defaultdict(list)
    chars_by_split: dict[str, list[int]] = defaultdict(list)
    for r in records:
        words_by_split[_split(r)].append(len(r.text.split()))
        chars_by_split[_split(r)].append(len(r.text))
    lengths = {s: {**_length_stats(w), "chars_median": statistics.median(chars_by_split[s])}
               for s, w in sorted(words_by_split.items())}
    all_words = [n for w in words_by_split.values() for n in w]
    lengths["all"] = {**_length_stats(all_words),
                      "chars_median": statistics.median([n for c in chars_by_split.values() for n in c])}
    length_hist = _by_split((_bucket(len(r.text.split())), _split(r)) for r in records)
    order = [_bucket(e) for e in _LENGTH_EDGES] + [f">{_LENGTH_EDGES[-1]}"]
    length_hist = {b: length_hist[b] for b in order if b in length_hist}
    rewrites = dict(Counter(_split(r) for r in records if r.rewrite))

    # Exact duplicates on the "words" normal form.
    by_norm: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        by_norm[normalize(r.text)].append(i)
    exact = Counter()
    exact_records = Counter()
    exact_examples = []
    for idx in by_norm.values():
        if len(idx) < 2:
            continue
        kind = "across" if len({_split(records[i]) for i in idx}) > 1 else "within"
        exact[kind] += 1
        exact_records[kind] += len(idx) - 1
        if kind == "across" or len(exact_examples) < examples:
            exact_examples.append({"kind": kind, "splits": sorted({_split(records[i]) for i in idx}),
                                   "texts": [records[i].text for i in idx[:2]], "copies": len(idx)})
    exact_examples = sorted(exact_examples, key=lambda e: e["kind"] != "across")[:examples]

    # Near-duplicates among distinct normal forms (one representative record per form).
    reps = [idx[0] for idx in by_norm.values()]
    rep_splits = [{_split(records[i]) for i in idx} for idx in by_norm.values()]
    pairs = _near_pairs([records[i].text for i in reps], near_threshold)
    near = Counter()
    near_examples = []
    for a, b, sim in sorted(pairs, key=lambda p: -p[2]):
        kind = "across" if rep_splits[a] != rep_splits[b] or len(rep_splits[a]) > 1 else "within"
        near[kind] += 1
        near_examples.append({"kind": kind, "similarity": round(sim, 3),
                              "splits": [sorted(rep_splits[a]), sorted(rep_splits[b])],
                              "texts": [records[reps[a]].text, records[reps[b]].text]})
    near_examples = (sorted(near_examples, key=lambda e: e["kind"] != "across"))[:examples]

    # Label balance per kind of group named in the text.
    groups: dict[str, dict] = {}
    unsafe_known = [r.unsafe for r in records if r.unsafe is not None]
    for kind, pat in _group_patterns().items():
        hit = [r for r in records if pat.search(r.text)]
        if not hit:
            continue
        known = [r.unsafe for r in hit if r.unsafe is not None]
        groups[kind] = {"n": len(hit), "unsafe": (sum(known) / len(known)) if known else None,
                        "bias": dict(Counter(r.bias or "(unlabelled)" for r in hit)),
                        "toxicity": dict(Counter(r.toxicity or "(unlabelled)" for r in hit))}
    return DataCard(name=name, path=path, n=len(records), splits=dict(sorted(splits.items())), labels=labels,
                    categories=categories, sources=sources, lengths=lengths, length_hist=length_hist,
                    rewrites=rewrites, exact=dict(exact), exact_records=dict(exact_records),
                    exact_examples=exact_examples, near=dict(near), near_examples=near_examples,
                    near_threshold=near_threshold, groups=groups,
                    unsafe_overall=(sum(unsafe_known) / len(unsafe_known)) if unsafe_known else None)


# --- Markdown ---------------------------------------------------------------------------------------------------

def _size_category(n: int) -> str:
    for hi, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < hi:
            return name
    return "n>1M"


def _cell(text: str, width: int = 90) -> str:
    t = " ".join(text.split()).replace("|", "\\|")
    return t if len(t) <= width else t[:width - 1] + "…"


def _split_table(title: str, rows: dict[str, dict[str, int]], splits: list[str]) -> list[str]:
    out = [f"| {title} | " + " | ".join(splits) + " | total |", "|---|" + "---:|" * (len(splits) + 1)]
    for key, counts in rows.items():
        out.append(f"| {key} | " + " | ".join(str(counts.get(s, 0)) for s in splits)
                   + f" | {sum(counts.values())} |")
    return out


def card_markdown(card: DataCard) -> str:
    splits = list(card.splits)
    tasks = ["text-classification"] + (["text2text-generation"] if card.rewrites else [])
    lines = ["---", "language:", "- en", "pretty_name: " + card.name, "size_categories:",
             f"- {_size_category(card.n)}", "task_categories:", *(f"- {t}" for t in tasks),
             "tags:", "- safety", "- bias", "- toxicity", "- srllm-cmd", "---", "",
             f"# Dataset Card for {card.name}", "",
             f"Made by `srllm data card` from `{card.path}`: {card.n} records"
             + (f" in {len(splits)} splits" if splits != [NO_SPLIT] else "") + ".", "",
             "## Dataset Structure", "",
             "Each record is a CMD record (srllm.schema.Record): `text`, labels `bias` (none/slight/high), "
             "`toxicity` (none/mild/high), `sentiment`, `harm`, taxonomy `categories`, `biased_words`, a benign "
             "`rewrite` and `alternatives`, `rationale`, `source` and `split`.", "",
             "### Data Splits", "", "| split | records | with a rewrite |", "|---|---:|---:|"]
    lines += [f"| {s} | {n} | {card.rewrites.get(s, 0)} |" for s, n in card.splits.items()]
    lines += ["", "## Labels", ""]
    if card.unsafe_overall is not None:
        lines += [f"Unsafe (any label not none, or any category): {card.unsafe_overall:.1%} of the labelled "
                  "records.", ""]
    for lab, rows in card.labels.items():
        lines += [f"### {lab}", "", *_split_table(lab, rows, splits), ""]
    lines += ["## Categories", "", *_split_table("category", card.categories, splits), "",
              "## Sources", "", *_split_table("source", card.sources, splits), "",
              "## Text length", "", "Words per text (whitespace-separated):", "",
              "| split | min | p5 | median | mean | p95 | max | median chars |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s, st in card.lengths.items():
        if st:
            lines.append(f"| {s} | {st['min']:.0f} | {st['p5']:.0f} | {st['median']:.0f} | {st['mean']:.1f} | "
                         f"{st['p95']:.0f} | {st['max']:.0f} | {st['chars_median']:.0f} |")
    lines += ["", *_split_table("words", card.length_hist, splits), "",
              "## Duplicates and leaks", "",
              "Exact duplicates: same text once case, spacing and punctuation are ignored. Near-duplicates: "
              f"character 3-5-gram TF-IDF cosine ≥ {card.near_threshold} between texts that are not exact "
              "duplicates. *Across splits* means a leak (the same or nearly the same text in two splits).", "",
              "| kind | within a split | across splits (leaks) |", "|---|---:|---:|",
              f"| exact: texts with copies | {card.exact.get('within', 0)} | {card.exact.get('across', 0)} |",
              f"| exact: surplus records | {card.exact_records.get('within', 0)} | "
              f"{card.exact_records.get('across', 0)} |",
              f"| near-duplicate pairs | {card.near.get('within', 0)} | {card.near.get('across', 0)} |", ""]
    if card.exact_examples:
        lines += ["Exact duplicates (examples):", "", "| kind | splits | copies | text |", "|---|---|---:|---|"]
        lines += [f"| {e['kind']} | {', '.join(e['splits'])} | {e['copies']} | {_cell(e['texts'][0])} |"
                  for e in card.exact_examples]
        lines.append("")
    if card.near_examples:
        lines += ["Near-duplicates (examples, most similar first):", "",
                  "| kind | similarity | splits | text A | text B |", "|---|---:|---|---|---|"]
        lines += [f"| {e['kind']} | {e['similarity']:.3f} | {'/'.join(e['splits'][0])} vs "
                  f"{'/'.join(e['splits'][1])} | {_cell(e['texts'][0], 60)} | {_cell(e['texts'][1], 60)} |"
                  for e in card.near_examples]
        lines.append("")
    lines += ["## Label balance per group", "",
              "Records whose text names a group of that kind (group lexicon words, whole words, any case). "
              "A group whose unsafe share is far from the others' may teach a detector that naming the group is "
              "itself unsafe.", "",
              "| group | records | unsafe | bias none/slight/high | toxicity none/mild/high |",
              "|---|---:|---:|---|---|"]
    for kind, g in sorted(card.groups.items(), key=lambda kv: -kv[1]["n"]):
        b, t = g["bias"], g["toxicity"]
        unsafe = f"{g['unsafe']:.1%}" if g["unsafe"] is not None else "n/a"
        lines.append(f"| {kind} | {g['n']} | {unsafe} | {b.get('none', 0)}/{b.get('slight', 0)}/{b.get('high', 0)}"
                     f" | {t.get('none', 0)}/{t.get('mild', 0)}/{t.get('high', 0)} |")
    lines.append("")
    return "\n".join(lines)


# --- data list --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DataFile:
    path: Path
    kind: str
    records: int | None
    note: str = ""


_KINDS = {"paradetox.tsv": "ParaDetox pairs (toxic -> human rewrites)",
          "paradetox_cannot_rewrite.tsv": "ParaDetox texts annotators could not rewrite",
          "train_500.csv": "SR_LLM CMD CSV (train/dev of srllm data build)",
          "infer_50.csv": "SR_LLM CMD CSV (their test set)",
          "counterfactual-inhouse.csv": "SR_LLM counterfactual variants (over-correction test set)"}


def list_data(data_dir: Path | None = None, *, count: bool = True) -> list[DataFile]:
    """The data files on this machine that srllm reads: the shared data folder's ParaDetox and SR_LLM files."""
    from srllm.data.sources.paradetox import read_paradetox_cannot_rewrite

    root = data_dir or shared_data_dir()
    if root is None:
        return []
    out = []
    for p in sorted(root.glob("*/*")):
        if p.name not in _KINDS:
            continue
        n = None
        if count:
            n = len(read_paradetox_cannot_rewrite(p)) if p.name == "paradetox_cannot_rewrite.tsv" \
                else len(read_records(p))
        out.append(DataFile(p, _KINDS[p.name], n))
    return out
