"""`srllm eval`: run evaluation suites (a thin shell over srllm.evaluate.runner), or `--compare A B` two runs."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from srllm.cli._app import app, friendly_errors
from srllm.cli.options import Flag, options_from
from srllm.evaluate.runner import EvalConfig, run_eval


def _print_comparison(rows: list[dict], a: Path, b: Path) -> None:
    from srllm.evaluate.report import fmt

    table = Table(title=f"A = {a}   B = {b}", show_lines=False)
    for col in ("suite", "dataset", "metric", "system", "A [95% CI]", "B [95% CI]", "B − A", "CIs overlap",
                "paired p"):
        table.add_column(col, overflow="fold")
    for r in rows:
        ua, ub = r["a"].get("unit", "fraction"), r["b"].get("unit", "fraction")
        cell_a = f"{fmt(r['a']['value'], ua)} [{fmt(r['a']['ci_low'], ua)}, {fmt(r['a']['ci_high'], ua)}]"
        cell_b = f"{fmt(r['b']['value'], ub)} [{fmt(r['b']['ci_low'], ub)}, {fmt(r['b']['ci_high'], ub)}]"
        system = r["system_a"] if r["system_a"] == r["system_b"] else f"{r['system_a']} / {r['system_b']}"
        overlap = {True: "yes", False: "no", None: "n/a"}[r["ci_overlap"]]
        paired = f"{r['paired']['p_value']:.3f}" if r["paired"] else "n/a"
        table.add_row(r["suite"], r["dataset"], r["metric"], system, cell_a, cell_b, f"{r['delta']:+.3f}", overlap,
                      paired)
    Console(width=200).print(table)


@app.command("eval")
@friendly_errors
@options_from(EvalConfig, flags={
    "suites": Flag("--suite", "-s"), "out": Flag("--out", "-o"), "suite_limits": Flag("--limit-for", metavar="SUITE=N"),
    "pipeline_options": Flag("--pipeline-option", metavar="KEY=VALUE"),
    "base_url": Flag(envvar="SRLLM_BASE_URL"), "api_key": Flag(envvar="SRLLM_API_KEY")})
def eval_command(
    compare: tuple[Path, Path] | None = typer.Option(None, "--compare", help="Compare two results.json files side "
                                                     "by side instead of running suites.",
                                                     rich_help_panel="Compare two runs"),
    system_a: str | None = typer.Option(None, help="With --compare: system label in the first file.",
                                        rich_help_panel="Compare two runs"),
    system_b: str | None = typer.Option(None, help="With --compare: system label in the second file.",
                                        rich_help_panel="Compare two runs"),
    config: EvalConfig = None,
):
    """Evaluate a model (+ adapter) on safety, fairness and rewriting suites; write results.json (value, n, 95% CI,
    judge, threshold for every number), report.html (self-contained, with plots) and report.md."""
    if compare:
        from srllm.evaluate.compare import compare_results

        rows = compare_results(compare[0], compare[1], system_a=system_a, system_b=system_b,
                               n_resamples=config.n_resamples, seed=config.seed)
        _print_comparison(rows, *compare)
        return
    results = run_eval(config)
    console = Console(stderr=True)
    for name, s in results["suites"].items():
        console.print(f"{name}: {len(s['results'])} numbers, {len(s['comparisons'])} comparisons, "
                      f"{s['seconds']:.0f} s")
    out = config.out
    if config.systems:
        from srllm.evaluate.report import rewriting_markdown

        print(rewriting_markdown(results))
    console.print(f"wrote {out / 'results.json'}, {out / 'report.html'}, {out / 'report.md'}")
