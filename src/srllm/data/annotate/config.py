"""`srllm annotate` options (one dataclass: the command's flags and `--config file.yaml`), and the annotators
they name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

from srllm.config import config_field as _help
from srllm.data.annotate.client import JSON_MODES
from srllm.errors import SrllmConfigError

__all__ = ["AnnotateConfig", "AnnotatorSpec", "parse_annotators", "DEFAULT_BASE_URL", "check_counts"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"  # a local `srllm serve`


def check_counts(cfg, *, at_least_one: tuple[str, ...], not_negative: tuple[str, ...]) -> None:
    """The client options of a config (also `srllm counterfactual --llm`'s): counts of at least 1, no negatives."""
    for name in at_least_one:
        if getattr(cfg, name) < 1:
            raise SrllmConfigError(f"{name} must be at least 1, got {getattr(cfg, name)}")
    bad = [name for name in not_negative if getattr(cfg, name) < 0]
    if bad:
        raise SrllmConfigError(f"{' and '.join(bad)} cannot be negative")


@dataclass
class AnnotateConfig:
    """`srllm annotate` options."""

    out: Path = _help("Output CMD JSONL, one record per input text (the voted labels), written atomically at the "
                      "end. The per-annotator labels go to <out stem>.raw.jsonl (written as texts finish, to "
                      "<raw>.partial; re-running resumes by id).", default=Path("runs/annotated.jsonl"))
    annotator: list[str] = _help(
        "Annotators, comma-separated: 'llm' (the endpoint of --base-url/--model/--api-key), 'detector' (srllm's "
        "detector pre-fills the labels, no LLM), or another endpoint as URL?model=M&key=K&temperature=T&seed=S"
        "&name=N. Several are combined by majority vote (srllm.data.annotate.vote).", default_factory=lambda: ["llm"])
    base_url: str = _help("OpenAI-compatible endpoint of the 'llm' annotator (default: a local `srllm serve`).",
                          default=DEFAULT_BASE_URL)
    model: str = _help("Model name sent to the endpoint.", default="default")
    api_key: str | None = _help("API key of the endpoint (Authorization: Bearer).", default=None)
    seeds: list[int] | None = _help("One 'llm' annotator per seed (needs --temperature > 0): several samples of "
                                    "one model voted like several annotators.", default=None)
    temperature: float = _help("Sampling temperature of the LLM annotators (0: greedy).", default=0.0)
    guideline: str = _help("Annotation guideline: a shipped version (v1) or a Markdown file.", default="v1")
    text_field: str = _help("Field/column holding the text (jsonl, csv, tsv).", default="text")
    id_field: str | None = _help("Field/column holding a unique id (default: 'id' where present, else the line "
                                 "number and a hash of the text).", default=None)
    limit: int | None = _help("Annotate only the first N texts of the input.", default=None)
    concurrency: int = _help("Texts annotated at once (requests in flight per LLM annotator).", default=4)
    rpm: float | None = _help("Most requests per minute to each endpoint (default: no limit).", default=None)
    max_retries: int = _help("Times an LLM is asked again, with the validation error, after an unusable answer; "
                             "then the text is recorded as a failure of that annotator.", default=2)
    max_wait: float = _help("Seconds to keep retrying an endpoint that is down or answers 429/5xx (exponential "
                            "back-off with jitter, Retry-After honoured) before the job stops (exit 2; re-run to "
                            "resume).", default=300.0)
    timeout: float = _help("Seconds one request may take.", default=300.0)
    max_tokens: int = _help("Most tokens of one answer.", default=384)
    json_mode: str = _help("Structured output asked of the endpoint first: json_schema, json_object or none; a "
                           "server that refuses it (400/422) is asked with the next one.", default="json_schema")
    policy: Path | None = _help("Policy YAML: the categories an annotation may use, and the detector's policy.",
                                default=None)
    summary: Path | None = _help("Summary JSON (agreement per field, counts, tokens, failures; a Markdown copy "
                                 "beside it). Default: <out stem>.summary.json.", default=None)
    restart: bool = _help("Ignore earlier results instead of resuming.", default=False)

    def __post_init__(self):
        check_counts(self, at_least_one=("concurrency", "max_tokens"), not_negative=("max_retries", "max_wait"))
        if self.rpm is not None and self.rpm <= 0:
            raise SrllmConfigError(f"rpm must be positive, got {self.rpm}")
        if self.json_mode not in JSON_MODES:
            raise SrllmConfigError(f"json_mode {self.json_mode!r}: use one of {', '.join(JSON_MODES)}")
        if self.seeds and self.temperature <= 0:
            raise SrllmConfigError("--seeds only give different annotations when sampling: set --temperature > 0 "
                                   "(e.g. 0.7)")
        if not self.annotator:
            raise SrllmConfigError("name at least one --annotator (llm, detector or a URL)")

    @property
    def raw_path(self) -> Path:
        return self.out.with_name(self.out.stem + ".raw.jsonl")

    @property
    def summary_path(self) -> Path:
        return self.summary or self.out.with_name(self.out.stem + ".summary.json")


@dataclass(frozen=True)
class AnnotatorSpec:
    name: str
    kind: str  # "llm" or "detector"
    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None
    temperature: float = 0.0
    seed: int | None = None


def _url_spec(spec: str, cfg: AnnotateConfig) -> AnnotatorSpec:
    parts = urlsplit(spec)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"model", "key", "temperature", "seed", "name"}
    if unknown:
        raise SrllmConfigError(f"--annotator {spec!r}: unknown parameter(s) {', '.join(sorted(unknown))}; "
                               "use model, key, temperature, seed, name")
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    model = query.get("model", "default")
    try:
        temperature = float(query.get("temperature", cfg.temperature))
        seed = int(query["seed"]) if "seed" in query else None
    except ValueError as e:
        raise SrllmConfigError(f"--annotator {spec!r}: {e}") from None
    return AnnotatorSpec(query.get("name", f"{parts.netloc}/{model}"), "llm", base, model, query.get("key"),
                         temperature, seed)


def parse_annotators(cfg: AnnotateConfig) -> list[AnnotatorSpec]:
    """The annotators of the options, in order (names made unique)."""
    specs: list[AnnotatorSpec] = []
    for raw in cfg.annotator:
        s = raw.strip()
        if s == "detector":
            specs.append(AnnotatorSpec("detector", "detector"))
        elif s == "llm":
            specs += [AnnotatorSpec("llm" if seed is None else f"llm@{seed}", "llm", cfg.base_url, cfg.model,
                                    cfg.api_key, cfg.temperature, seed) for seed in (cfg.seeds or [None])]
        elif s.startswith(("http://", "https://")):
            specs.append(_url_spec(s, cfg))
        else:
            raise SrllmConfigError(f"--annotator {raw!r}: use 'llm', 'detector' or an endpoint URL "
                                   "(http://host:port/v1?model=M)")
    seen: dict[str, int] = {}
    out = []
    for sp in specs:
        seen[sp.name] = seen.get(sp.name, 0) + 1
        out.append(sp if seen[sp.name] == 1 else AnnotatorSpec(**{**sp.__dict__, "name": f"{sp.name}#{seen[sp.name]}"}))
    return out
