"""`srllm annotate`: read the texts, run every annotator on each (LLM requests in a thread pool), vote, write.

Resumable: one line per finished text (every annotator's labels, or its failure) goes to `<raw>.partial` as soon
as the text is done (flushed and fsynced); ids already there are skipped on a re-run, so a killed job loses at
most the texts in flight and never annotates one twice. At the end the raw file is moved into place and the CMD
records (`out`) and the summary are written atomically from it. A text on which an annotator gave no valid
answer after its tries is recorded as that annotator's failure (and not retried on a re-run); an endpoint down
for longer than max_wait stops the job (SrllmModelError) with nothing of the unfinished texts written.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from srllm.data.annotate.agreement import field_agreement
from srllm.data.annotate.annotators import AnnotatorResult, DetectorAnnotator, LLMAnnotator, load_guideline
from srllm.data.annotate.client import ChatClient
from srllm.data.annotate.config import AnnotateConfig, parse_annotators
from srllm.data.annotate.labels import SCALES, response_schema
from srllm.data.annotate.vote import combine, find_spans, to_record
from srllm.errors import SrllmDataError

__all__ = ["AnnotateReport", "WorkerPool", "annotate_file", "build_annotators", "read_rows", "summarize",
           "summary_markdown"]


@dataclass
class AnnotateReport:
    out: Path
    raw: Path
    summary_path: Path
    annotated: int = 0  # this run
    resumed: int = 0  # done by an earlier run
    summary: dict = field(default_factory=dict)


def build_annotators(cfg: AnnotateConfig, *, detector=None) -> list:
    from srllm.taxonomy import load_policy

    version, guideline = load_guideline(cfg.guideline)
    taxonomy = load_policy(cfg.policy)
    categories = [c.id for c in taxonomy if taxonomy.enabled(c.id)]
    out, clients = [], {}
    for spec in parse_annotators(cfg):
        if spec.kind == "detector":
            out.append(DetectorAnnotator(spec.name, detector=detector,
                                         policy=str(cfg.policy) if cfg.policy else None))
            continue
        key = (spec.base_url, spec.model, spec.api_key)
        if key not in clients:  # one client (connection pool, rate limit, JSON mode) per endpoint and model
            clients[key] = ChatClient(base_url=spec.base_url, model=spec.model, api_key=spec.api_key,
                                      timeout=cfg.timeout, rpm=cfg.rpm, max_wait=cfg.max_wait,
                                      json_mode=cfg.json_mode, schema=response_schema())
        out.append(LLMAnnotator(spec.name, clients[key], guideline=guideline, categories=categories,
                                temperature=spec.temperature, seed=spec.seed, max_tries=1 + cfg.max_retries,
                                max_tokens=cfg.max_tokens))
    return out


class WorkerPool:
    """Worker threads for the LLM requests. Daemon threads (not concurrent.futures'), so an interrupted or failed
    job exits at once instead of waiting for the requests in flight (their texts are simply not written)."""

    def __init__(self, fn: Callable, workers: int):
        self.fn, self.todo, self.done, self.stopped = fn, queue.Queue(), queue.Queue(), threading.Event()
        self.workers = workers
        for _ in range(workers):
            threading.Thread(target=self._work, daemon=True, name="srllm-annotate").start()

    def _work(self) -> None:
        while not self.stopped.is_set():
            j, item = self.todo.get()
            if self.stopped.is_set():
                return
            try:
                self.done.put((j, self.fn(item), None))
            except BaseException as e:  # noqa: BLE001 - handed to the main thread, which raises it
                self.done.put((j, None, e))

    def map_unordered(self, items: list) -> Iterator[tuple[int, object]]:
        """(index, fn(item)) as each finishes; the first failure is raised."""
        for j, item in enumerate(items):
            self.todo.put((j, item))
        for _ in items:
            j, value, error = self.done.get()
            if error is not None:
                raise error
            yield j, value

    def stop(self) -> None:
        self.stopped.set()
        while True:  # drop the work not started; idle workers wake up on the sentinels and leave
            try:
                self.todo.get_nowait()
            except queue.Empty:
                break
        for _ in range(self.workers):
            self.todo.put((-1, None))


def read_rows(input_path, cfg: AnnotateConfig) -> list:
    from srllm.data.readers import read_inputs

    rows, seen = [], {}
    for row in read_inputs(input_path, text_field=cfg.text_field, id_field=cfg.id_field):
        if row.id in seen:
            raise SrllmDataError(f"the id '{row.id}' was already used at line {seen[row.id]}; ids must be unique "
                                 "(annotations are resumed by id). Fix the ids or choose another --id-field",
                                 file=str(input_path), line=row.line, field=cfg.id_field or "id")
        seen[row.id] = row.line
        rows.append(row)
        if cfg.limit is not None and len(rows) >= cfg.limit:
            break
    return rows


def _detail(row, results: list[AnnotatorResult], names: list[str]) -> dict:
    labels = [r.labels for r in results if r.labels is not None]
    voted = combine(labels)
    record = to_record(row.id, row.text, voted, source="srllm-annotate:" + "+".join(names))
    return {"id": row.id, "line": row.line, "record": record.model_dump(exclude_none=True),
            "spans": find_spans(row.text, record.biased_words), "failed": voted is None,
            "annotators": [r.to_dict() for r in results]}


def annotate_file(input_path: str | Path, cfg: AnnotateConfig, *, detector=None,
                  on_progress: Callable[[int, int], None] | None = None,
                  on_start: Callable[[int, int], None] | None = None) -> AnnotateReport:
    """Annotate every text of a file (JSONL/CSV/TSV/TXT) into CMD records; see the module doc.
    on_start(texts to do, texts already done) is called once before the first request, on_progress(texts done
    now, tokens used so far) as texts finish."""
    from srllm.data.writers import ResumableJsonlWriter, read_resume_records, write_jsonl_atomic

    rows = read_rows(input_path, cfg)  # the whole input is checked before any request
    annotators = build_annotators(cfg, detector=detector)
    names = [a.name for a in annotators]
    report = AnnotateReport(cfg.out, cfg.raw_path, cfg.summary_path)
    writer = ResumableJsonlWriter(cfg.raw_path, resume=not cfg.restart)
    pending = [r for r in rows if r.id not in writer.done_ids]
    report.resumed = len(rows) - len(pending)
    if on_start:
        on_start(len(pending), report.resumed)
    llms = [a for a in annotators if isinstance(a, LLMAnnotator)]
    tokens, started, finished = 0, time.monotonic(), False
    pool = WorkerPool(lambda text: [a.annotate(text) for a in llms], cfg.concurrency)
    try:
        step = max(16, 4 * cfg.concurrency)
        for i in range(0, len(pending), step):
            chunk = pending[i:i + step]
            pre = {a.name: a.annotate_many([r.text for r in chunk])  # the detector, batched, in this thread
                   for a in annotators if isinstance(a, DetectorAnnotator)}
            for j, llm_results in pool.map_unordered([r.text for r in chunk]):  # an endpoint down too long raises
                by_name = {r.annotator: r for r in llm_results}
                by_name.update({n: res[j] for n, res in pre.items()})
                results = [by_name[n] for n in names]
                writer.write([_detail(chunk[j], results, names)])
                report.annotated += 1
                tokens += sum(r.prompt_tokens + r.completion_tokens for r in results)
                if on_progress:
                    on_progress(1, tokens)
        finished = True
    finally:
        pool.stop()
        writer.close(finished=finished)
    order = {r.id: k for k, r in enumerate(rows)}
    details = sorted((d for d in read_resume_records(cfg.raw_path) if d["id"] in order), key=lambda d: order[d["id"]])
    write_jsonl_atomic(cfg.out, [d["record"] for d in details])
    retries = sum(c.retries for c in {id(a.client): a.client for a in llms}.values())
    report.summary = summarize(details, names, extra={
        "input": str(input_path), "out": str(cfg.out), "raw": str(cfg.raw_path), "guideline": cfg.guideline,
        "annotated_this_run": report.annotated, "resumed": report.resumed,
        "seconds_this_run": round(time.monotonic() - started, 1), "transport_retries_this_run": retries})
    _write_summary(report.summary_path, report.summary)
    return report


def summarize(details: list[dict], names: list[str], *, extra: dict | None = None) -> dict:
    """Counts, labels, failures, tokens and agreement per field of the raw lines (see annotate_file)."""
    per: dict[str, dict] = {n: {"answered": 0, "failed": 0, "tries": 0, "repaired": 0, "prompt_tokens": 0,
                                "completion_tokens": 0, "errors": []} for n in names}
    label_rows: dict[str, list[dict]] = {f: [] for f in (*SCALES, "flagged")}
    for d in details:
        by = {a["annotator"]: a for a in d["annotators"]}
        for n in names:
            a, s = by.get(n, {}), per[n]
            s["tries"] += a.get("tries", 0)
            s["prompt_tokens"] += a.get("prompt_tokens", 0)
            s["completion_tokens"] += a.get("completion_tokens", 0)
            if a.get("labels") is not None:
                s["answered"] += 1
                s["repaired"] += bool(a.get("repairs"))
            else:
                s["failed"] += 1
                if len(s["errors"]) < 5:
                    s["errors"].append({"id": d["id"], "error": a.get("error", "no result")})
        for f in label_rows:
            label_rows[f].append({n: (None if (la := by.get(n, {}).get("labels")) is None else
                                      bool(la.get("categories")) if f == "flagged" else la.get(f)) for n in names})
    records = [d["record"] for d in details]
    counts = {f: dict(sorted(_count(r.get(f) for r in records).items())) for f in SCALES}
    counts["categories"] = dict(sorted(_count(c for r in records for c in r.get("categories", [])).items()))
    summary = {**(extra or {}), "annotators": names, "records": len(details),
               "failed": sum(d["failed"] for d in details), "labels": counts, "per_annotator": per,
               "tokens": {"prompt": sum(p["prompt_tokens"] for p in per.values()),
                          "completion": sum(p["completion_tokens"] for p in per.values())}}
    if len(names) >= 2:
        summary["agreement"] = [field_agreement(label_rows[f], names, f) for f in label_rows]
    return summary


def _count(values) -> dict:
    out: dict = {}
    for v in values:
        key = "(none)" if v is None else str(v)
        out[key] = out.get(key, 0) + 1
    return out


def summary_markdown(s: dict) -> str:
    lines = [f"# Annotation summary: {s.get('out', '')}", "",
             f"{s['records']} records, {s['failed']} with no valid annotation; annotators: "
             f"{', '.join(s['annotators'])}; guideline {s.get('guideline', '?')}.",
             f"Tokens: {s['tokens']['prompt']} prompt, {s['tokens']['completion']} completion "
             "(0 where the endpoint reports no usage).", "",
             "| annotator | answered | failed | tries | repaired | prompt tokens | completion tokens |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for n, p in s["per_annotator"].items():
        lines.append(f"| {n} | {p['answered']} | {p['failed']} | {p['tries']} | {p['repaired']} | "
                     f"{p['prompt_tokens']} | {p['completion_tokens']} |")
    if s.get("agreement"):
        kappa = "cohen_kappa" if len(s["annotators"]) == 2 else "fleiss_kappa"
        lines += ["", f"| field | items | agreement | {kappa.replace('_', ' ')} | Krippendorff's alpha |",
                  "|---|---:|---:|---:|---:|"]
        for a in s["agreement"]:
            if not a["items"]:
                lines.append(f"| {a['field']} | 0 | - | - | - |")
                continue
            alpha = next((v for k, v in a.items() if k.startswith("krippendorff")), None)
            level = next((k.rsplit("_", 1)[1] for k in a if k.startswith("krippendorff")), "")
            lines.append(f"| {a['field']} | {a['items']} | {a.get('percent_agreement', '-')} | "
                         f"{a.get(kappa, '-')} | {alpha} ({level}) |")
    lines += ["", "Labels of the voted records:", ""]
    for f, c in s["labels"].items():
        lines.append(f"- {f}: " + ", ".join(f"{k} {v}" for k, v in c.items()))
    return "\n".join(lines) + "\n"


def _write_summary(path: Path, summary: dict) -> None:
    import json

    from srllm.atomic import atomic_file

    for p, text in ((path, json.dumps(summary, indent=2, ensure_ascii=False) + "\n"),
                    (path.with_suffix(".md"), summary_markdown(summary))):
        with atomic_file(p) as tmp:
            tmp.write_text(text, encoding="utf-8")
