"""The main job: screen texts with the detector and rewrite the unsafe ones. `srllm.check(...)` and
`srllm check` are this module."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from srllm.errors import SrllmDataError
from srllm.rewrite.rewriter import RewriteConfig, Rewriter
from srllm.schema import CheckResult, text_id

if TYPE_CHECKING:
    from srllm.data.readers import InputRow

__all__ = ["Guard", "check", "check_file", "checked_rows", "CheckFileReport", "MAX_CHARS"]

MAX_CHARS = 20_000


class Guard:
    """A detector plus a rewriter. The LLM is loaded only when a text needs rewriting.

    model/adapter/base_url/api_key choose the rewriting LLM: the embedded SmolLM2 with the shipped SR adapter by
    default; a hub id or local path; or any OpenAI-compatible server (`base_url`). encoder/policy/quantize/
    encoder_engine configure the detector (`quantize="int8"`: an int8 encoder; `encoder_engine`: "auto" (default:
    ONNX Runtime when available), "onnx" or "torch"; `sentence_level`: also score each sentence of a long text;
    `claim_level`: also score a group claim wrapped in vouching words as the plain claim; `screen`: a first pass
    that decides the texts it is sure about without the encoder; see srllm.detect.Detector).
    """

    def __init__(self, *, detector=None, backend=None, model: str | None = None, adapter: str | None = "default",
                 base_url: str | None = None, api_key: str | None = None, policy=None, encoder: str | None = None,
                 quantize: str | None = None, sentence_level: bool = False, encoder_engine: str = "auto",
                 rewrite_config: RewriteConfig | None = None, max_chars: int = MAX_CHARS, claim_level: bool = False,
                 screen=False):
        self._detector = detector
        self._detector_args = dict(encoder=encoder, policy=policy, quantize=quantize, sentence_level=sentence_level,
                                   encoder_engine=encoder_engine, claim_level=claim_level, screen=screen)
        self._backend = backend
        self._backend_args = dict(model=model, adapter=adapter, base_url=base_url, api_key=api_key)
        self.rewrite_config = rewrite_config or RewriteConfig()
        self.max_chars = max_chars

    @property
    def detector(self):
        # Loaded on first use, so bad input is reported before any model is read.
        if self._detector is None:
            from srllm.detect import Detector

            self._detector = Detector(**self._detector_args)
        return self._detector

    @property
    def backend(self):
        if self._backend is None:
            from srllm.models.backends import make_backend

            self._backend = make_backend(**self._backend_args, engine=self.rewrite_config.engine)
        return self._backend

    def validate(self, text, *, where: dict | None = None) -> None:
        where = where or {}
        if not isinstance(text, str):
            raise SrllmDataError(f"expected a string, got {type(text).__name__}", **where)
        if not text.strip():
            raise SrllmDataError("the text is empty", **where)
        if len(text) > self.max_chars:
            raise SrllmDataError(f"the text is {len(text):,} characters; the limit is {self.max_chars:,}. Split it "
                                 "into paragraphs (one per line of a .txt file) or raise max_chars / --max-chars",
                                 **where)

    def check(self, texts: list[str], *, ids: list[str] | None = None, rewrite: bool = True,
              spans: bool = True) -> list[CheckResult]:
        """One CheckResult per text, in order. Safe texts come back unchanged (`action='kept'`)."""
        for i, t in enumerate(texts):
            self.validate(t, where={"field": f"texts[{i}]"} if len(texts) > 1 else None)
        ids = ids or [text_id(t) for t in texts]
        verdicts = self.detector.predict(texts, spans=spans)
        unsafe_idx = [i for i, v in enumerate(verdicts) if v.unsafe]
        rewrites = {}
        if rewrite and unsafe_idx:
            from srllm.rewrite.quality import ReferencePerplexity

            backend = self.backend if self.rewrite_config.max_attempts else None
            rewriter = Rewriter(backend=backend, detector=self.detector, config=self.rewrite_config,
                                perplexity=ReferencePerplexity(backend))
            for i, r in zip(unsafe_idx, rewriter.rewrite([texts[i] for i in unsafe_idx]), strict=True):
                rewrites[i] = r
        results = []
        for i, (text, v) in enumerate(zip(texts, verdicts, strict=True)):
            r = rewrites.get(i)
            reason = None
            if not v.unsafe:
                output, action, sim = text, "kept", 1.0
            elif r is None:  # detection only
                output, action, sim = text, "failed" if rewrite else "kept", None
            else:
                output, action, sim, reason = r.output, r.action, r.similarity, r.reason
            results.append(CheckResult(id=ids[i], text=text, unsafe=v.unsafe, categories=v.categories,
                                       severity=v.severity, spans=v.spans, output=output, action=action,
                                       similarity=None if sim is None else round(float(sim), 4), reason=reason))
        return results


_DEFAULT_GUARDS: dict[tuple, Guard] = {}


def check(texts: str | list[str], *, rewrite: bool = True, **guard_options) -> CheckResult | list[CheckResult]:
    """Quick start: `srllm.check("some text")` → CheckResult; a list gives a list. Guard options (model, adapter,
    base_url, policy, ...) choose the models; the Guard is cached per option set."""
    key = tuple(sorted((k, str(v)) for k, v in guard_options.items()))
    if key not in _DEFAULT_GUARDS:
        _DEFAULT_GUARDS[key] = Guard(**guard_options)
    guard = _DEFAULT_GUARDS[key]
    if isinstance(texts, str):
        return guard.check([texts], rewrite=rewrite)[0]
    return guard.check(list(texts), rewrite=rewrite)


@dataclass
class CheckFileReport:
    output: str | None
    processed: int = 0
    resumed: int = 0
    unsafe: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    bad_rows: list[str] = field(default_factory=list)

    def count(self, unsafe: bool, action: str) -> None:
        """One checked text: its verdict and action into the totals."""
        self.processed += 1
        self.unsafe += int(unsafe)
        self.actions[action] = self.actions.get(action, 0) + 1


def _batches(rows: Iterable, size: int):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _check_and_write(guard: Guard, rows: list, writer, report: CheckFileReport, rewrite: bool) -> None:
    import json

    results = guard.check([r.text for r in rows], ids=[r.id for r in rows], rewrite=rewrite)
    records = [r.model_dump(mode="json") for r in results]
    if writer:
        writer.write(records)
    else:
        for rec in records:
            sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    for r in results:
        report.count(r.unsafe, r.action)


def checked_rows(input: str | Path, *, guard: Guard, text_field: str = "text", id_field: str | None = None,
                 fmt: str | None = None) -> Iterator[InputRow | SrllmDataError]:
    """The rows of an input file (or '-' for stdin) in order, each an `InputRow` that passed `guard.validate` and
    the unique-id check, or in its place the `SrllmDataError` naming its file, line and field (`error.fatal`: the
    rest of the file cannot be read). check_file and srllm.integrations.ray share these checks."""
    from srllm.data.readers import read_inputs

    seen: dict[str, int] = {}  # id -> line: an id twice would make resuming skip a row
    for row in read_inputs(input, fmt=fmt, text_field=text_field, id_field=id_field, bad_rows="yield"):
        if isinstance(row, SrllmDataError):
            yield row
            continue
        try:
            guard.validate(row.text, where={"file": str(input), "line": row.line, "field": text_field})
        except SrllmDataError as e:
            yield e
            continue
        if row.id in seen:
            yield SrllmDataError(f"the id '{row.id}' was already used at line {seen[row.id]}; ids must be unique "
                                 "(results are resumed by id). Fix the ids, or choose another id field with "
                                 "id_field / --id-field", file=str(input), line=row.line, field=id_field or "id")
            continue
        seen[row.id] = row.line
        yield row


def check_file(input: str | Path, output: str | Path | None = None, *, guard: Guard, text_field: str = "text",
               id_field: str | None = None, fmt: str | None = None, batch_size: int = 32, rewrite: bool = True,
               bad_rows: str = "stop", resume: bool = True,
               on_progress: Callable[[int], None] | None = None,
               on_bad_row: Callable[[SrllmDataError], None] | None = None) -> CheckFileReport:
    """Check every text of a file (or '-' for stdin). With `output`, results go to `<output>.partial` as they
    are made and are moved into place atomically at the end (an output named *.parquet is written as Parquet
    then, srllm.data.writers.result_schema); re-running resumes by id. Without it, JSON lines go to stdout. Ids:
    `id_field`, else a record's `id` where present, else line number + text hash (srllm.data.readers); an id used
    twice is a bad row. bad_rows='stop' raises at the first malformed row (what was written stays); 'skip'
    reports it through `on_bad_row` and goes on."""
    from srllm.data.writers import ResumableJsonlWriter, is_parquet

    if bad_rows not in ("stop", "skip"):
        raise SrllmDataError(f"bad_rows must be 'stop' or 'skip', got {bad_rows!r}")
    report = CheckFileReport(output=str(output) if output else None)
    writer = ResumableJsonlWriter(output, resume=resume, parquet=is_parquet(output)) if output else None
    done_before = set(writer.done_ids) if writer else set()  # a re-run skips these
    report.resumed = len(done_before)
    finished = False
    try:
        rows = checked_rows(input, guard=guard, text_field=text_field, id_field=id_field, fmt=fmt)
        for batch in _batches(rows, batch_size):
            good, stop_error = [], None
            for row in batch:
                if isinstance(row, SrllmDataError):
                    if bad_rows == "stop" or row.fatal:
                        stop_error = row  # finish the rows before it first, so they are not lost
                        break
                    report.bad_rows.append(str(row))
                    if on_bad_row:
                        on_bad_row(row)
                elif row.id not in done_before:
                    good.append(row)
            if good:
                _check_and_write(guard, good, writer, report, rewrite)
            if stop_error is not None:
                raise stop_error
            if on_progress:
                on_progress(len(batch))
        finished = True
    finally:
        if writer:
            writer.close(finished=finished)
    return report
