"""`srllm eval`: run evaluation suites (a thin shell over srllm.evaluate.runner), or `--compare A B` two runs."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from srllm.cli._app import app, friendly_errors


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
def eval_command(
    suite: str = typer.Option("all", "--suite", "-s", help="Suites, comma-separated: detox, readability, "
                              "counterfactual, stereotypes, safety, detector, or 'all'."),
    model: str | None = typer.Option(None, help="Model under test: hub id, local path, or the model name at "
                                     "--base-url. Default: the embedded SmolLM2-135M-Instruct."),
    adapter: str = typer.Option("default", help="PEFT adapter: 'default' (shipped SR adapter), 'none', path or id."),
    base_url: str | None = typer.Option(None, help="OpenAI-compatible endpoint serving --model.",
                                        envvar="SRLLM_BASE_URL"),
    api_key: str | None = typer.Option(None, help="API key for the endpoints.", envvar="SRLLM_API_KEY"),
    baseline: str | None = typer.Option(None, help="Baseline to compare with: 'default' (embedded model), a hub id "
                                        "or path, or 'identity' (input returned unchanged; rewriting suites)."),
    baseline_adapter: str = typer.Option("none", help="Adapter of the baseline ('none' by default)."),
    baseline_base_url: str | None = typer.Option(None, help="OpenAI-compatible endpoint of the baseline."),
    systems: str | None = typer.Option(None, help="Several systems in one run instead of model + baseline, in table "
                                       "order: identity, zero-shot, few-shot, adapter, pipeline (the whole `srllm "
                                       "check`), reference (the first human reference)."),
    compare_to: str = typer.Option("identity,zero-shot,few-shot", help="With --systems: the baselines every other "
                                   "system is compared with (paired bootstrap)."),
    pipeline_option: list[str] = typer.Option([], "--pipeline-option", help="KEY=VALUE: a RewriteConfig option of "
                                              "the pipeline system (repeatable), e.g. retry_samples=0."),
    split: str = typer.Option("test", help="Split of the built-in rewriting sets: test, or dev (to choose adapters "
                              "and policies without looking at test)."),
    data: list[Path] = typer.Option([], "--data", help="Extra CMD .jsonl / SR_LLM .csv file (repeatable)."),
    out: Path = typer.Option(Path("eval-out"), "--out", "-o", help="Output folder: results.json, report.html, "
                             "report.md, items.json, samples/, cache/ (re-running resumes generation)."),
    limit: int | None = typer.Option(None, help="At most N items per dataset (a seeded sample) for a quick run."),
    limit_for: list[str] = typer.Option([], "--limit-for", help="SUITE=N or DATASET=N: a limit that overrides "
                                        "--limit (repeatable), e.g. --limit-for counterfactual=40 --limit-for "
                                        "paradetox-neutral=128."),
    threads: int | None = typer.Option(None, help="torch CPU threads (1 is often fastest on a busy shared CPU)."),
    max_new_tokens: int | None = typer.Option(None, help="Cap on the new tokens of every generation."),
    seed: int = typer.Option(0, help="Seed for sampling, bootstrap and torch."),
    n_resamples: int = typer.Option(1000, help="Bootstrap resamples for the 95% CIs and paired tests."),
    batch_size: int = typer.Option(16, help="Generation batch size."),
    detector: str | None = typer.Option(None, help="Detector heads folder (default: the shipped heads)."),
    policy: str | None = typer.Option(None, help="Taxonomy policy YAML for the detector."),
    llm_judge_url: str | None = typer.Option(None, help="OpenAI-compatible endpoint of an LLM judge for knowledge "
                                             "retention (optional)."),
    llm_judge_model: str | None = typer.Option(None, help="Model name at --llm-judge-url."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide progress bars."),
    compare: tuple[Path, Path] | None = typer.Option(None, "--compare", help="Compare two results.json files side "
                                                     "by side instead of running suites."),
    system_a: str | None = typer.Option(None, help="With --compare: system label in the first file."),
    system_b: str | None = typer.Option(None, help="With --compare: system label in the second file."),
):
    """Evaluate a model (+ adapter) on safety, fairness and rewriting suites; write results.json (value, n, 95% CI,
    judge, threshold for every number), report.html (self-contained, with plots) and report.md."""
    if compare:
        from srllm.evaluate.compare import compare_results

        rows = compare_results(compare[0], compare[1], system_a=system_a, system_b=system_b,
                               n_resamples=n_resamples, seed=seed)
        _print_comparison(rows, *compare)
        return
    from srllm.errors import SrllmConfigError
    from srllm.evaluate.runner import EvalConfig, run_eval

    suite_limits = {}
    for item in limit_for:
        name, _, n = item.partition("=")
        if not n.strip().isdigit():
            raise SrllmConfigError(f"--limit-for {item!r}: expected SUITE=N, e.g. counterfactual=40")
        suite_limits[name.strip()] = int(n)
    import yaml

    pipeline_options = {}
    for item in pipeline_option:
        key, eq, value = item.partition("=")
        if not eq:
            raise SrllmConfigError(f"--pipeline-option {item!r}: expected KEY=VALUE, e.g. retry_samples=0")
        pipeline_options[key.strip()] = yaml.safe_load(value)

    cfg = EvalConfig(suites=suite, model=model, adapter=adapter, base_url=base_url, api_key=api_key,
                     baseline=baseline, baseline_adapter=baseline_adapter, baseline_base_url=baseline_base_url,
                     systems=systems, compare_to=compare_to, pipeline_options=pipeline_options, split=split,
                     data=list(data), out=out, limit=limit, suite_limits=suite_limits, threads=threads,
                     max_new_tokens=max_new_tokens, seed=seed, n_resamples=n_resamples, batch_size=batch_size,
                     detector=detector, policy=policy, llm_judge_url=llm_judge_url, llm_judge_model=llm_judge_model,
                     progress=not no_progress)
    results = run_eval(cfg)
    console = Console(stderr=True)
    for name, s in results["suites"].items():
        console.print(f"{name}: {len(s['results'])} numbers, {len(s['comparisons'])} comparisons, "
                      f"{s['seconds']:.0f} s")
    if systems:
        from srllm.evaluate.report import rewriting_markdown

        print(rewriting_markdown(results))
    console.print(f"wrote {out / 'results.json'}, {out / 'report.html'}, {out / 'report.md'}")
