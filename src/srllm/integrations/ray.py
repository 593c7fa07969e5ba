"""`srllm check` on a Ray cluster: the same Guard, the same input files, row checks and output records, run by a
pool of Guard actors with Ray Data, resumable shard by shard.

    from srllm.integrations.ray import check_file_ray

    report = check_file_ray("corpus.jsonl", "checked.jsonl", rewrite=False, num_actors=8,
                            guard_options={"policy": "policy.yaml"})

or from the shell: `srllm check -i corpus.jsonl -o checked.jsonl --no-rewrite --ray --ray-actors 8`.

How a run goes:

1. The driver reads the input with srllm's own readers (srllm.data.readers: JSONL, CSV/TSV, TXT, Parquet) and gives
   every row the checks `srllm check` makes (srllm.guard.checked_rows): a bad row stops the run with its file,
   line and field before Ray is started or any model loaded (bad_rows="skip": it is reported and left out, as in
   check_file). Parsing is cheap next to the models, and reading on the driver gives exactly the ids, errors and
   order of `srllm check`; the workers need no access to the input file.
2. The valid rows are numbered and cut into shards of `shard_size` rows. Each shard that no earlier run finished
   is put into the object store as Arrow blocks of up to 16 batches, and the blocks go through
   `Dataset.map_batches` over a fixed pool of `GuardActor`s (`ActorPoolStrategy(size=num_actors)`): each actor
   builds one `srllm.guard.Guard(**guard_options)` and runs `Guard.check` on batches of `batch_size` texts.
3. The driver collects the results; as soon as a shard is complete it is written, in input order, to
   `<output>.parts/part-NNNNN.jsonl` atomically (srllm.atomic), and progress is reported (`on_progress`, and log
   lines on the `srllm.ray` logger).
4. When every shard is written, the parts are joined in order into `output` atomically (JSONL, or Parquet when
   the name ends in .parquet: srllm.data.writers.result_schema) and `<output>.parts/` is removed. The records are
   the ones `srllm check -o` writes for the same input and options, in the same order.

Resume: `<output>.parts/manifest.json` holds a fingerprint of the input (its SHA-256) and of every option that
changes the results (text and id fields, format, rewrite, shard size, bad_rows, the Guard options and the contents
of a policy file they name; not api_key, not batch_size or the actor counts). A re-run with the same fingerprint
skips the shards whose part file exists; a changed input or option, or resume=False, starts over and removes the
old parts. Objects passed in guard_options (`detector=`, `backend=`) count by their type only. A finished run leaves
no parts, so running it again computes everything again.

Where the work runs: the detector runs on CPU in every actor (`num_cpus_per_actor` threads). Rewriting runs in the
same actor, since each rewrite is re-checked by the detector: with a local model, `num_gpus_per_actor=1` gives each
actor a GPU and moves the rewriting LLM onto it (the transformers engine; the ctranslate2 engine stays on CPU); or
keep CPU actors and let them call an OpenAI-compatible server such as vLLM, `guard_options={"base_url": ...,
"model": ...}`, which does the GPU work. The parts and the output are written on the driver's machine.

Tested on a local Ray instance with 2 CPUs (tests/test_ray_integration.py); not on a multi-node cluster, and not
with GPUs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from srllm.atomic import atomic_file, write_json_atomic
from srllm.errors import SrllmConfigError, SrllmDataError, SrllmError
from srllm.guard import CheckFileReport, Guard, checked_rows

__all__ = ["check_file_ray", "RayCheckReport", "GuardActor", "import_ray", "INSTALL_HINT"]

logger = logging.getLogger("srllm.ray")

INSTALL_HINT = "pip install 'srllm[ray]'"
MANIFEST_VERSION = 1
_PART = re.compile(r"part-(\d+)\.jsonl")
_NOT_KEYED = ("api_key",)  # never written to the manifest; does not change the results


@dataclass
class RayCheckReport(CheckFileReport):
    """check_file's report (processed, unsafe and actions count this run's rows; resumed, the rows of shards an
    earlier run finished), plus the shard counts."""

    shards: int = 0
    shards_resumed: int = 0


def import_ray():
    """The `ray` module with Ray Data, or an error that says what to install."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise SrllmConfigError(f"running on Ray needs Ray Data (ray[data] 2.9 or newer): {INSTALL_HINT}") from e
    return ray


class GuardActor:
    """What each Ray actor runs: one Guard, built once from `guard_options` (the keyword arguments of
    srllm.guard.Guard), checking batches of rows.

    A batch is a dict of columns (numpy arrays): shard, index, id, text. The result keeps shard and index and adds
    `record`, the CheckResult as the JSON line `srllm check -o` writes, and `error`: '' or, when the Guard raised
    one of srllm's own errors, its class and message, which the driver raises again (Ray passes a worker's
    exception on only as text)."""

    def __init__(self, guard_options: dict, rewrite: bool, threads: int | None = None, gpu: bool = False):
        if threads:  # the detector's threads: torch reads the variable when it loads; set it now if it has
            os.environ["OMP_NUM_THREADS"] = str(threads)
            if "torch" in sys.modules:
                sys.modules["torch"].set_num_threads(threads)
        self.rewrite, self.error = rewrite, ""
        try:
            self.guard = Guard(**guard_options)
            self.guard.detector  # noqa: B018 - load the detector now, once per actor, not in the first batch
            if gpu and rewrite:
                _rewriter_to_gpu(self.guard)
        except SrllmError as e:  # e.g. a model that cannot be loaded: reported with the first batch
            self.error = f"{type(e).__name__}: {e}"

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        texts = [str(t) for t in batch["text"]]
        records, error = [""] * len(texts), self.error
        if not error:
            try:
                results = self.guard.check(texts, ids=[str(i) for i in batch["id"]], rewrite=self.rewrite)
                records = [json.dumps(r.model_dump(mode="json"), ensure_ascii=False) for r in results]
            except SrllmError as e:
                error = f"{type(e).__name__}: {e}"
        return {"shard": batch["shard"], "index": batch["index"], "record": np.array(records, dtype=object),
                "error": np.array([error] * len(texts), dtype=object)}


def _raise_worker_error(error: str) -> None:
    """An srllm error a GuardActor returned as 'ClassName: message', raised again in the driver."""
    import srllm.errors

    name, _, message = error.partition(": ")
    cls = getattr(srllm.errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, SrllmError)):
        cls, message = SrllmError, error
    raise cls(f"{message} (in a Ray worker; the shards written so far are kept: run the same command again to "
              "resume)")


def _rewriter_to_gpu(guard: Guard) -> None:
    """Move a local transformers rewriting model onto this actor's GPU (Ray sets CUDA_VISIBLE_DEVICES to it)."""
    from srllm.models.backends import OpenAIBackend, TransformersBackend

    backend = guard.backend
    if isinstance(backend, OpenAIBackend):
        return  # the server does the GPU work
    import torch

    if not isinstance(backend, TransformersBackend):
        logger.warning("the %s engine runs on CPU; the actor's GPU is not used", getattr(backend, "name", "rewriting"))
    elif not torch.cuda.is_available():
        logger.warning("num_gpus_per_actor is set but torch sees no GPU in this actor; the rewriting model stays "
                       "on CPU")
    else:
        backend.model.to("cuda")


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_file(value) -> bool:
    try:
        return Path(value).is_file()
    except (OSError, ValueError):
        return False


def _keyed(value):
    """A JSON-able stand-in for an option value, as the manifest compares it."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str | os.PathLike):
        if _is_file(value):  # a policy file: its contents count, not only its name
            return {"path": str(value), "sha256": _file_sha256(Path(value))}
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _keyed(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _keyed(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_keyed(v) for v in value]
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


def _valid_rows(input, guard: Guard, *, text_field: str, id_field: str | None, fmt: str | None, bad_rows: str,
                report: RayCheckReport | None = None,
                on_bad_row: Callable[[SrllmDataError], None] | None = None) -> Iterator:
    """The rows check_file would check, in order; a bad row raises (bad_rows='stop', or reading cannot go on) or is
    reported into `report` and left out ('skip')."""
    for row in checked_rows(input, guard=guard, text_field=text_field, id_field=id_field, fmt=fmt):
        if isinstance(row, SrllmDataError):
            if bad_rows == "stop" or row.fatal:
                raise row
            if report is not None:
                report.bad_rows.append(str(row))
                if on_bad_row:
                    on_bad_row(row)
            continue
        yield row


def _open_parts(parts: Path, manifest: dict, resume: bool) -> set[int]:
    """The shards an earlier run of the same job finished; anything else in `parts` is removed."""
    if parts.exists():
        old = None
        with contextlib.suppress(OSError, ValueError):  # no manifest, or a torn one: start over
            old = json.loads((parts / "manifest.json").read_text(encoding="utf-8"))
        if resume and isinstance(old, dict) and old.get("fingerprint") == manifest["fingerprint"]:
            return {int(m.group(1)) for p in parts.iterdir() if (m := _PART.fullmatch(p.name))}
        if resume and old is not None:
            logger.warning("%s holds the parts of a run with another input or other options; starting over", parts)
        shutil.rmtree(parts)
    parts.mkdir(parents=True)
    write_json_atomic(parts / "manifest.json", manifest)
    return set()


def _part(parts: Path, shard: int) -> Path:
    return parts / f"part-{shard:05d}.jsonl"


def _connect(ray, address: str | None, init_options: dict | None) -> bool:
    """Join the cluster at `address` (or $RAY_ADDRESS), else start a local Ray; True when this call started it."""
    if ray.is_initialized():
        return False
    options = dict(init_options or {})
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        logger.info("connecting to the Ray cluster at %s", address)
        ray.init(address=address, **options)
    else:
        options.setdefault("include_dashboard", False)
        logger.info("starting a local Ray instance")
        ray.init(**options)
    return True


def _default_actors(ray, num_cpus: float, num_gpus: float) -> int:
    resources = ray.cluster_resources()
    if num_gpus:
        return max(1, int(resources.get("GPU", 0) // num_gpus))
    return max(1, int(resources.get("CPU", 1) // num_cpus))


def check_file_ray(input: str | Path, output: str | Path, *, guard_options: dict | None = None,
                   address: str | None = None, text_field: str = "text", id_field: str | None = None,
                   fmt: str | None = None, rewrite: bool = True, num_actors: int | None = None, batch_size: int = 32,
                   shard_size: int = 10_000, num_cpus_per_actor: float = 1, num_gpus_per_actor: float = 0,
                   bad_rows: str = "stop", resume: bool = True, ray_init_options: dict | None = None,
                   on_progress: Callable[[int, int], None] | None = None,
                   on_bad_row: Callable[[SrllmDataError], None] | None = None) -> RayCheckReport:
    """Check every text of `input` with a pool of Guard actors on Ray and write the results to `output` (see the
    module docstring for how, and for resuming).

    input, text_field, id_field, fmt, rewrite, bad_rows, resume: as srllm.guard.check_file (`output` is required
    and `input` cannot be stdin: a resumed run must read the same file again). guard_options: the keyword
    arguments of srllm.guard.Guard (model, adapter, base_url, api_key, policy, encoder, quantize, sentence_level,
    encoder_engine, rewrite_config, max_chars; or detector=/backend= objects, which are pickled to every actor).
    address: a Ray cluster ('auto', 'ray://host:10001', host:port); None: $RAY_ADDRESS when set, else a local Ray
    started for this run (and stopped after it; `ray_init_options` go to ray.init). A Ray already initialised in
    this process is used as it is. num_actors: Guard actors (default: the cluster's CPUs / num_cpus_per_actor, or
    its GPUs / num_gpus_per_actor). on_progress(shards done, shards in all) is called once at the start and after
    each shard is written."""
    if output is None:
        raise SrllmDataError("a Ray run writes its results to a file: give an output path (--output FILE)")
    if str(input) == "-":
        raise SrllmDataError("a Ray run reads a file, not stdin (a resumed run must read the same input again): "
                             "give --input FILE")
    if bad_rows not in ("stop", "skip"):
        raise SrllmDataError(f"bad_rows must be 'stop' or 'skip', got {bad_rows!r}")
    for name, value in (("batch_size", batch_size), ("shard_size", shard_size), ("num_actors", num_actors or 1)):
        if not isinstance(value, int) or value < 1:
            raise SrllmConfigError(f"{name} must be a whole number >= 1, got {value!r}")
    if num_cpus_per_actor <= 0 or num_gpus_per_actor < 0:
        raise SrllmConfigError(f"num_cpus_per_actor must be > 0 and num_gpus_per_actor >= 0, got "
                               f"{num_cpus_per_actor} and {num_gpus_per_actor}")
    ray = import_ray()
    from srllm.data.readers import detect_format

    input, output = Path(input), Path(output)
    detect_format(input, fmt)
    if not input.is_file():
        raise SrllmDataError(f"input file '{input}' does not exist" if not input.exists() else f"'{input}' is not "
                             "a file")
    guard_options = dict(guard_options or {})
    guard = Guard(**guard_options)  # checks rows on the driver; it loads no model
    rows = dict(text_field=text_field, id_field=id_field, fmt=fmt, bad_rows=bad_rows)

    # 1. Every row is read and checked before anything runs, so bad input costs no cluster time.
    report = RayCheckReport(output=str(output))
    n = sum(1 for _ in _valid_rows(input, guard, **rows, report=report, on_bad_row=on_bad_row))
    total = math.ceil(n / shard_size)
    options = {**rows, "rewrite": rewrite, "shard_size": shard_size,
               "guard": _keyed({k: v for k, v in guard_options.items() if k not in _NOT_KEYED})}
    input_sha256 = _file_sha256(input)
    fingerprint = hashlib.sha256(json.dumps([input_sha256, options], sort_keys=True).encode()).hexdigest()
    manifest = {"version": MANIFEST_VERSION, "fingerprint": fingerprint, "input": str(input),
                "input_sha256": input_sha256, "options": options, "rows": n, "shards": total}
    parts = output.with_name(output.name + ".parts")
    done = {k for k in _open_parts(parts, manifest, resume) if k < total}

    def shard_rows(k: int) -> int:
        return min(shard_size, n - k * shard_size)

    report.shards, report.shards_resumed = total, len(done)
    report.resumed = sum(shard_rows(k) for k in done)
    logger.info("%s: %d rows in %d shards of %d; %d shards already done", input, n, total, shard_size, len(done))
    if on_progress:
        on_progress(len(done), total)

    # 2-3. The shards not done yet, through the actor pool, each written as soon as it is complete.
    if len(done) < total:
        started = _connect(ray, address, ray_init_options)
        context = ray.data.DataContext.get_current()
        bars, context.enable_progress_bars = context.enable_progress_bars, False  # srllm reports shards
        try:
            import pyarrow as pa

            # A shard is the unit of writing and resuming; its blocks (a few batches each) are the unit of work
            # the actors share, so even a one-shard input keeps every actor busy.
            block_rows = batch_size * max(1, min(16, shard_size // batch_size))
            refs = []
            for k, shard in _shards(_valid_rows(input, guard, **rows), shard_size, skip=done):
                for b in range(0, len(shard), block_rows):
                    block = shard[b:b + block_rows]
                    refs.append(ray.put(pa.table({"shard": [k] * len(block), "index": [i for i, _ in block],
                                                  "id": [r.id for _, r in block],
                                                  "text": [r.text for _, r in block]})))
            actors = num_actors or _default_actors(ray, num_cpus_per_actor, num_gpus_per_actor)
            logger.info("checking %d shards (%d blocks) with %d Guard actors (%g CPU%s each)",
                        total - len(done), len(refs), actors, num_cpus_per_actor,
                        f", {num_gpus_per_actor:g} GPU" if num_gpus_per_actor else "")
            results = ray.data.from_arrow_refs(refs).map_batches(
                GuardActor, batch_size=batch_size, batch_format="numpy",
                fn_constructor_kwargs=dict(guard_options=guard_options, rewrite=rewrite,
                                           threads=max(1, int(num_cpus_per_actor)), gpu=num_gpus_per_actor > 0),
                compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=num_cpus_per_actor,
                num_gpus=num_gpus_per_actor or None)
            waiting: dict[int, dict[int, str]] = {}  # shard -> {row index: record line}
            for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
                for k, i, record, error in zip(batch["shard"], batch["index"], batch["record"], batch["error"],
                                               strict=True):
                    if error:
                        _raise_worker_error(str(error))
                    waiting.setdefault(int(k), {})[int(i)] = str(record)
                for k in [k for k, got in waiting.items() if len(got) == shard_rows(k)]:
                    got = waiting.pop(k)
                    lines = [got[i] for i in sorted(got)]
                    with atomic_file(_part(parts, k)) as tmp:
                        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
                    done.add(k)
                    for rec in map(json.loads, lines):
                        report.count(rec["unsafe"], rec["action"])
                    logger.info("shard %d written (%d/%d shards done)", k, len(done), total)
                    if on_progress:
                        on_progress(len(done), total)
        finally:
            context.enable_progress_bars = bars
            if started:
                ray.shutdown()
    missing = [k for k in range(total) if not _part(parts, k).is_file()]
    if missing:
        raise SrllmError(f"shards {missing[:5]} of {parts} were not written; run the same command again to resume")

    # 4. The parts, in order, into the output; then they go.
    _join(parts, total, output)
    shutil.rmtree(parts)
    logger.info("%d rows -> %s", n, output)
    return report


def _shards(rows: Iterator, shard_size: int, *, skip: set[int]) -> Iterator[tuple[int, list]]:
    """(shard number, [(row index, row), ...]) for every shard not in `skip`."""
    shard: list = []
    k = 0
    for i, row in enumerate(rows):
        k = i // shard_size
        if k in skip:
            continue
        shard.append((i, row))
        if len(shard) == shard_size:
            yield k, shard
            shard = []
    if shard:
        yield k, shard


def _join(parts: Path, total: int, output: Path) -> None:
    from srllm.data.writers import is_parquet, write_results_parquet

    def records():
        for k in range(total):
            with _part(parts, k).open(encoding="utf-8") as f:
                yield from (json.loads(line) for line in f)

    if is_parquet(output):
        write_results_parquet(output, records())
        return
    with atomic_file(output) as tmp, tmp.open("wb") as out:
        for k in range(total):
            with _part(parts, k).open("rb") as f:
                shutil.copyfileobj(f, out)
