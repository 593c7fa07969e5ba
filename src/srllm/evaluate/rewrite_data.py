"""Datasets of the rewriting suites: the ParaDetox test split, SR_LLM's infer_50.csv, neutral texts for
over-correction, and any CMD / SR_LLM-format file given with --data. `builtin_sets(data, "dev")` gives the dev
split instead (ParaDetox dev pairs, the train_500.csv rows `srllm data build` puts in dev, neutral dev texts), for
choosing adapters and policies without looking at test."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from srllm.errors import SrllmDataError
from srllm.schema import Record

__all__ = ["RewriteSet", "SPLITS", "builtin_sets", "paradetox_split", "paradetox_pairs", "paradetox_test",
           "paradetox_neutral", "infer50", "srllm_dev", "from_file", "CMD_SPLIT", "SRLLM_DEV_SHARE"]

# The split settings of `srllm data build` (srllm.data.build.build_cmd defaults), which made the training data of
# the shipped adapter: evaluating on the same test split keeps training texts out of the test set.
CMD_SPLIT = {"seed": 13, "dev": 0.03, "test": 0.05}
SRLLM_DEV_SHARE = 0.1  # build_cmd's srllm_dev: the share of train_500.csv texts in dev
SPLITS = ("test", "dev")


@dataclass
class RewriteSet:
    name: str
    ids: list[str]
    texts: list[str]
    references: list[list[str]] = field(default_factory=list)  # human rewrites per item ([] when absent)
    categories: list[list[str]] = field(default_factory=list)
    unsafe: list[bool | None] = field(default_factory=list)  # labels where the file has them (--data CMD files)

    def __post_init__(self):
        n = len(self.texts)
        self.references = self.references or [[] for _ in range(n)]
        self.categories = self.categories or [[] for _ in range(n)]
        self.unsafe = self.unsafe or [None] * n
        if not (len(self.ids) == len(self.references) == len(self.categories) == n):
            raise SrllmDataError(f"dataset '{self.name}': ids, texts, references and categories differ in length")

    @property
    def has_references(self) -> bool:
        return bool(self.texts) and all(self.references)

    def subset(self, keep: list[int]) -> RewriteSet:
        return RewriteSet(self.name, [self.ids[i] for i in keep], [self.texts[i] for i in keep],
                          [self.references[i] for i in keep], [self.categories[i] for i in keep],
                          [self.unsafe[i] for i in keep])


def paradetox_split(text: str) -> str:
    """The split `srllm data build` gives this ParaDetox text ('train', 'dev' or 'test')."""
    from srllm.data.build import assign_split

    return assign_split(text, **CMD_SPLIT)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise SrllmDataError(f"unknown split '{split}': the rewriting sets have {', '.join(SPLITS)}")


def _paradetox_records(data: Path, split: str = "test") -> list[Record]:
    """ParaDetox pairs of a split whose references are not copies of the toxic text (as `srllm data build`)."""
    from srllm.data import read_paradetox

    _check_split(split)
    out = []
    for r in read_paradetox(data / "paradetox" / "paradetox.tsv"):
        refs = [x for x in [r.rewrite, *r.alternatives] if x and x.strip() != r.text.strip()]
        if refs and paradetox_split(r.text) == split:
            out.append(r.model_copy(update={"rewrite": refs[0], "alternatives": refs[1:]}))
    return out


def paradetox_pairs(data: Path, split: str = "test") -> RewriteSet:
    """The ParaDetox pairs of a split ('paradetox-test', 'paradetox-dev'), every human rewrite a reference."""
    recs = [r for r in _paradetox_records(data, split) if r.rewrite]
    return RewriteSet(f"paradetox-{split}", [r.id for r in recs], [r.text for r in recs],
                      [[r.rewrite, *r.alternatives] for r in recs], [["toxicity"] for _ in recs])


def paradetox_test(data: Path) -> RewriteSet:
    return paradetox_pairs(data, "test")


def paradetox_neutral(data: Path, split: str = "test") -> RewriteSet:
    """Human neutral rewrites of a split's ParaDetox pairs ('paradetox-neutral' for test, 'paradetox-neutral-dev'):
    safe inputs that should come back unchanged (the keep-unchanged training examples of `srllm data build` come
    from the train split only)."""
    seen, ids, texts = set(), [], []
    for r in _paradetox_records(data, split):
        t = r.rewrite
        if t and t.lower() != r.text.lower() and t not in seen:
            seen.add(t)
            ids.append(f"{r.id}:neutral")
            texts.append(t)
    return RewriteSet("paradetox-neutral" if split == "test" else f"paradetox-neutral-{split}", ids, texts)


def infer50(data: Path) -> RewriteSet:
    from srllm.data import read_srllm_csv

    recs = read_srllm_csv(data / "sr-llm" / "infer_50.csv")
    return RewriteSet("sr-llm-infer50", [r.id for r in recs], [r.text for r in recs],
                      [[r.rewrite] if r.rewrite else [] for r in recs], [r.categories for r in recs])


def srllm_dev(data: Path) -> RewriteSet:
    """The rows of SR_LLM's train_500.csv that `srllm data build` puts in dev (its one human rewrite as reference):
    the SR_LLM paragraphs for choosing on dev, as infer_50 is for test."""
    from srllm.data import read_srllm_csv
    from srllm.data.build import assign_split

    recs = [r for r in read_srllm_csv(data / "sr-llm" / "train_500.csv")
            if assign_split(r.text, seed=CMD_SPLIT["seed"], dev=SRLLM_DEV_SHARE, test=0) == "dev"]
    return RewriteSet("sr-llm-dev", [r.id for r in recs], [r.text for r in recs],
                      [[r.rewrite] if r.rewrite else [] for r in recs], [r.categories for r in recs])


def builtin_sets(data: Path, split: str = "test") -> list[RewriteSet]:
    """The built-in sets to rewrite, for a split: ParaDetox pairs and the SR_LLM texts (infer_50 for test, the
    train_500 dev rows for dev). Their over-correction set is `paradetox_neutral(data, split)`."""
    _check_split(split)
    return [paradetox_pairs(data, split), infer50(data) if split == "test" else srllm_dev(data)]


def from_file(path: Path) -> RewriteSet:
    """A CMD JSONL (Record fields; `rewrite`/`alternatives` become references), an SR_LLM-format CSV, or any
    file `srllm check` reads (texts only)."""
    from srllm.data import iter_jsonl, read_inputs, read_srllm_csv

    path = Path(path)
    if not path.is_file():
        raise SrllmDataError("no such file; --data takes a CMD .jsonl, an SR_LLM .csv or a text file",
                             file=str(path))
    name = path.stem
    if path.suffix == ".jsonl":
        recs = []
        for line, raw in iter_jsonl(path):  # strict: a bad line stops with its line; no line is dropped
            try:
                recs.append(Record.model_validate(raw))
            except ValueError as e:
                raise SrllmDataError(f"not a CMD record: {e}", file=str(path), line=line) from e
    elif path.suffix == ".csv":
        try:
            recs = read_srllm_csv(path)
        except SrllmDataError:
            recs = [Record(text=r.text, id=r.id) for r in read_inputs(path)]
    else:
        recs = [Record(text=r.text, id=r.id) for r in read_inputs(path)]
    refs = [[x for x in [r.rewrite, *r.alternatives] if x] for r in recs]
    return RewriteSet(name, [r.id for r in recs], [r.text for r in recs], refs, [r.categories for r in recs],
                      [r.unsafe for r in recs])
