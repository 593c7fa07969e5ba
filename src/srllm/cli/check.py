"""`srllm check`: the main job (a thin shell over srllm.guard)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from srllm.cli._app import app, err_console, friendly_errors
from srllm.cli.options import Flag, options_from
from srllm.errors import SrllmDataError
from srllm.rewrite import RewriteConfig


def _count_lines(path: Path) -> int | None:
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        except Exception:  # noqa: BLE001 - no total is fine; the reader reports a bad file
            return None
    try:
        with path.open("rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return None


@app.command("check")
@friendly_errors
@options_from(RewriteConfig, into="rewrite_config", exclude=("batch_size",),
              panel="Rewriting (srllm.rewrite.RewriteConfig)",
              flags={"keep_group_terms": Flag("--keep-group-terms/--delete-group-terms")},
              config_help="YAML file of the rewriting options (keys: the field names of RewriteConfig, batch_size "
                          "included); flags given here win, an unknown key is an error.")
def check_command(
    text: str | None = typer.Argument(None, help="A text to check. Omit it to read --input or stdin."),
    input: str | None = typer.Option(None, "--input", "-i", help="File to check (.jsonl, .csv, .tsv, .txt, "
                                     ".parquet), or '-' for stdin (one text per line)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="JSONL output (Parquet when it ends in "
                                       ".parquet), written atomically; re-running resumes by id. Default: stdout."),
    text_field: str = typer.Option("text", help="Field/column holding the text (jsonl, csv, tsv, "
                                    "parquet)."),
    id_field: str | None = typer.Option(None, help="Field/column holding a unique id (default: 'id' where present, "
                                        "else the line number and a hash of the text)."),
    fmt: str | None = typer.Option(None, "--format", help="jsonl|csv|tsv|txt|parquet (default: from the "
                                       "extension)."),
    no_rewrite: bool = typer.Option(False, "--no-rewrite", help="Detection only: never call the LLM."),
    model: str | None = typer.Option(None, help="Rewriting LLM: hub id, local path, or the model name served at "
                                     "--base-url. Default: the embedded SmolLM2-135M-Instruct."),
    adapter: str = typer.Option("default", help="PEFT adapter: 'default' (the shipped SR adapter, embedded model "
                                "only), 'none', a local path or a hub id."),
    base_url: str | None = typer.Option(None, help="OpenAI-compatible server (vLLM, llama.cpp, Ollama), e.g. "
                                        "http://localhost:8000/v1.", envvar="SRLLM_BASE_URL"),
    api_key: str | None = typer.Option(None, help="API key for --base-url.", envvar="SRLLM_API_KEY"),
    encoder: str | None = typer.Option(None, help="Sentence encoder of the detector (default: embedded MiniLM)."),
    policy: Path | None = typer.Option(None, help="YAML policy (add/disable categories, thresholds)."),
    int8: bool = typer.Option(False, "--int8", help="Embed with an int8 copy of the detector's encoder: faster on "
                              "CPU, scores move slightly (see docs/benchmarks.md, Detector encoder engines)."),
    encoder_engine: str = typer.Option("auto", "--encoder-engine", help="What runs the detector's encoder: auto "
                                       "(ONNX Runtime when it can run, else torch), onnx or torch."),
    sentence_level: bool = typer.Option(False, "--sentence-level", help="Also score each sentence of a long text "
                                        "and flag on the highest: more recall on paragraphs, more false positives "
                                        "(docs/benchmarks.md, Detector fairness and stereotypes)."),
    claim_level: bool = typer.Option(False, "--claim-level", help="Also score a claim about a group wrapped in words "
                                     "that only vouch for it ('It's a fact that X are Y.') as the plain claim: more "
                                     "stereotypes found, more safe mentions flagged (srllm.detect.Detector)."),
    screen: bool = typer.Option(False, "--screen", help="A first pass (bag of word pieces, distilled from the "
                                "detector) decides the texts it is sure about and sends only the rest to the encoder: "
                                "faster on mostly safe text, ~0.5% of decisions change (srllm.detect.screen)."),
    batch_size: int = typer.Option(32, help="Texts per batch."),
    bad_rows: str = typer.Option("stop", help="A malformed input row: 'stop' (exit 2; what was written is kept) or "
                                 "'skip' (report it, go on, exit 1 at the end)."),
    max_chars: int = typer.Option(20_000, help="Longest text accepted, in characters."),
    restart: bool = typer.Option(False, "--restart", help="Ignore earlier results in --output instead of resuming."),
    ray: bool = typer.Option(False, "--ray", help="Run on Ray: a pool of Guard actors, resumable shard by shard "
                             "(needs --input and --output, and pip install 'srllm[ray]'; srllm.integrations.ray).",
                             rich_help_panel="Ray"),
    ray_address: str | None = typer.Option(None, "--ray-address", help="Ray cluster to join: 'auto', host:port or "
                                           "ray://host:10001. Default: $RAY_ADDRESS when set, else a local Ray on "
                                           "this machine.", rich_help_panel="Ray"),
    ray_actors: int | None = typer.Option(None, "--ray-actors", help="Guard actors (default: the cluster's CPUs / "
                                          "--ray-cpus-per-actor, or its GPUs / --ray-gpus-per-actor).",
                                          rich_help_panel="Ray"),
    ray_cpus_per_actor: float = typer.Option(1.0, "--ray-cpus-per-actor", help="CPUs (and detector threads) per "
                                             "actor.", rich_help_panel="Ray"),
    ray_gpus_per_actor: float = typer.Option(0.0, "--ray-gpus-per-actor", help="GPUs per actor: the local "
                                             "rewriting model runs on it (not needed with --base-url).",
                                             rich_help_panel="Ray"),
    ray_shard_size: int = typer.Option(10_000, "--ray-shard-size", help="Rows per shard: the unit written to "
                                       "<output>.parts/ and skipped when a stopped run is resumed.",
                                       rich_help_panel="Ray"),
    rewrite_config: RewriteConfig = None,
):
    """Screen texts for bias, toxicity, stereotyping and harm; rewrite unsafe ones into a benign version that keeps
    the meaning. Writes one JSON line per input: id, text, unsafe, categories, severity, spans, output, action
    (kept | rewritten | reframed | edited | failed), similarity, and for edited or failed texts the reason."""
    from srllm.guard import Guard, check_file

    if text is not None and input is not None:
        raise SrllmDataError("give either a TEXT argument or --input, not both")
    if text is None and input is None:
        if sys.stdin.isatty():
            raise SrllmDataError("nothing to check: give a TEXT argument, --input FILE, or pipe text on stdin")
        input = "-"
    guard_options = dict(model=model, adapter=adapter, base_url=base_url, api_key=api_key, encoder=encoder,
                         policy=policy, quantize="int8" if int8 else None, sentence_level=sentence_level,
                         encoder_engine=encoder_engine, claim_level=claim_level, screen=screen,
                         # the LLM generates at most --batch-size texts at once (at most RewriteConfig.batch_size)
                         rewrite_config=replace(rewrite_config,
                                                batch_size=min(batch_size, rewrite_config.batch_size)),
                         max_chars=max_chars)
    if ray:
        if text is not None:
            raise SrllmDataError("--ray checks a file: give --input FILE and --output FILE, not a TEXT argument")
        _check_on_ray(input, output, guard_options, text_field=text_field, id_field=id_field, fmt=fmt,
                      rewrite=not no_rewrite, batch_size=batch_size, bad_rows=bad_rows, resume=not restart,
                      address=ray_address, num_actors=ray_actors, num_cpus_per_actor=ray_cpus_per_actor,
                      num_gpus_per_actor=ray_gpus_per_actor, shard_size=ray_shard_size)
        return
    guard = Guard(**guard_options)
    if text is not None:
        guard.validate(text, where={"field": "TEXT"})
        result = guard.check([text], rewrite=not no_rewrite)[0]
        record = result.model_dump(mode="json")  # the same fields, nulls included, as a file's output lines
        if output:
            from srllm.data.writers import is_parquet, write_jsonl_atomic, write_results_parquet

            (write_results_parquet if is_parquet(output) else write_jsonl_atomic)(output, [record])
        else:
            typer.echo(json.dumps(record, ensure_ascii=False))
        return

    total = _count_lines(Path(input)) if input != "-" else None
    with Progress(TextColumn("[bold]check[/]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err_console, disable=output is None and input == "-", transient=False) as progress:
        task = progress.add_task("check", total=total)
        report = check_file(
            input, output, guard=guard, text_field=text_field, id_field=id_field, fmt=fmt, batch_size=batch_size,
            rewrite=not no_rewrite, bad_rows=bad_rows, resume=not restart,
            on_progress=lambda n: progress.advance(task, n),
            on_bad_row=lambda e: err_console.print(f"[yellow]skipped:[/] {e}", highlight=False),
        )
    _summary(report)


def _check_on_ray(input: str, output: Path | None, guard_options: dict, **options) -> None:
    from srllm.integrations.ray import check_file_ray, import_ray

    import_ray()  # a missing Ray is reported before the progress bar is drawn
    with Progress(TextColumn("[bold]check --ray[/] shards"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err_console, transient=False) as progress:
        task = progress.add_task("shards", total=None)
        report = check_file_ray(
            input, output, guard_options=guard_options, **options,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            on_bad_row=lambda e: err_console.print(f"[yellow]skipped:[/] {e}", highlight=False))
    _summary(report, f", {report.shards} shard(s)"
             + (f", {report.shards_resumed} done by an earlier run" if report.shards_resumed else ""))


def _summary(report, extra: str = "") -> None:
    summary = (f"{report.processed} checked" + (f", {report.resumed} already done (resumed)" if report.resumed else "")
               + f", {report.unsafe} unsafe, actions {report.actions}" + extra)
    if report.output:
        summary += f" -> {report.output}"
    err_console.print(summary, highlight=False)
    if report.bad_rows:
        err_console.print(f"[yellow]{len(report.bad_rows)} bad row(s) skipped[/]", highlight=False)
        raise typer.Exit(1)
