"""run_eval end to end on tiny data: results.json, items.json, report.md/html, --compare, the CLI, and the HTML
report rendered by headless Chromium."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from typer.testing import CliRunner

from srllm.cli import app
from srllm.evaluate.compare import compare_results
from srllm.evaluate.runner import EvalConfig, run_eval
from tests._eval_fakes import CategoryDetector, HashEncoder, one_torch_thread, refusal_classifier, systems

pytestmark = pytest.mark.usefixtures("one_torch_thread")
_ = one_torch_thread

ROWS = [{"text": "you are a stupid idiot", "rewrite": "you are wrong", "toxicity": "high", "categories": ["toxicity"]},
        {"text": "women are lazy", "rewrite": "some people rest", "bias": "high", "categories": ["bias.gender"]},
        {"text": "the team meets at noon", "rewrite": "the team meets at noon", "toxicity": "none", "bias": "none"},
        {"text": "he was an idiot", "rewrite": "he was mistaken", "toxicity": "high", "categories": ["toxicity"]}]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One tiny run of detox + detector, shared by the tests below."""
    import torch

    from srllm.evaluate.judges import SafetyJudge
    from srllm.models.lm_scoring import PerplexityScorer
    from tests._tiny_lm import make_tiny_lm

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("eval")
    data = tmp / "tiny.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS), "utf-8")
    mp = pytest.MonkeyPatch()
    mp.setattr("srllm.data.shared_data_dir", lambda: None)
    lm, tok = make_tiny_lm(3)
    cfg = EvalConfig(suites="detox,detector", data=[data], out=tmp / "out", n_resamples=50, progress=False)
    results = run_eval(cfg, systems=systems(), judge_factory=lambda: SafetyJudge(CategoryDetector(), name="words"),
                       refusal_factory=refusal_classifier, encoder_factory=HashEncoder,
                       fluency_factory=lambda: PerplexityScorer(model=lm, tokenizer=tok, name="tiny"))
    mp.undo()
    torch.set_num_threads(threads)
    return cfg.out, results


def test_results_json_carries_n_ci_judge_threshold(run):
    out, results = run
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["format"] == "srllm-eval-results/1" and set(on_disk["suites"]) == {"detox", "detector"}
    assert on_disk["systems"] == {"model": "tiny-model", "baseline": "tiny-baseline"}
    rows = on_disk["suites"]["detox"]["results"]
    for r in rows:
        assert {"value", "n", "ci_low", "ci_high", "judge", "threshold", "unit", "dataset", "system"} <= set(r)
    fl = next(r for r in rows if r["name"] == "fl")
    assert fl["threshold"] > 1 and fl["judge"] == "tiny"
    items = json.loads((out / "items.json").read_text())
    j = np.array(items["detox/tiny/model/j"]["values"])
    assert len(j) == 4 and next(r for r in rows if r["name"] == "j" and r["system"] == "model")["value"] == \
        pytest.approx(j.mean(), abs=1e-5)
    assert (out / "samples" / "detox.jsonl").is_file()


def test_reports_say_the_same_thing(run):
    out, _ = run
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    assert "Suite `detox`" in md and "Paired comparisons" in md and "significant" in md
    assert md.count("|") > 50
    imgs = re.findall(r"<img [^>]*src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(imgs) >= 2 and "http://" not in page and "https://" not in page
    text = html.unescape(page)
    for title in re.findall(r"^#+ (.*)$", md, flags=re.M):
        assert title.replace("`", "") in text


def test_compare_two_runs(run, tmp_path):
    out, _ = run
    rows = compare_results(out / "results.json", out)
    assert rows and all(r["delta"] == 0 for r in rows)
    paired = [r for r in rows if r["paired"]]
    assert paired and all(r["paired"]["p_value"] == 1.0 for r in paired)
    cross = compare_results(out, out, system_a="baseline", system_b="model")
    assert {r["system_a"] for r in cross} == {"baseline"} and {r["system_b"] for r in cross} == {"model"}
    result = CliRunner().invoke(app, ["eval", "--compare", str(out / "results.json"), str(out / "results.json")])
    assert result.exit_code == 0, result.output
    assert "detox" in result.output and "B − A" in result.output


def test_cli_errors_are_one_line(tmp_path):
    result = CliRunner().invoke(app, ["eval", "--suite", "stereotypez", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "Did you mean stereotypes" in result.output
    missing = CliRunner().invoke(app, ["eval", "--compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert missing.exit_code == 2 and "no such results file" in missing.output
    assert CliRunner().invoke(app, ["eval", "--limit", "0"]).exit_code == 2
    bad = CliRunner().invoke(app, ["eval", "--limit-for", "counterfactual", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "SUITE=N" in bad.output
    unknown = CliRunner().invoke(app, ["eval", "--limit-for", "nosuch=3", "--out", str(tmp_path)])
    assert unknown.exit_code == 2 and "nosuch" in unknown.output


def test_cli_runs_a_suite_on_a_saved_tiny_model(tmp_path):
    from tests._tiny_lm import make_tiny_lm

    model, tok = make_tiny_lm(4)
    model.save_pretrained(tmp_path / "tiny")
    tok.save_pretrained(tmp_path / "tiny")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["eval", "--suite", "stereotypes", "--model", str(tmp_path / "tiny"),
                                      "--adapter", "none", "--limit", "5", "--n-resamples", "20", "--out", str(out),
                                      "--no-progress"])
    assert result.exit_code == 0, result.output
    res = json.loads((out / "results.json").read_text())
    icat = [r for r in res["suites"]["stereotypes"]["results"] if r["name"] == "icat"]
    assert icat and all(r["n"] >= 1 for r in icat)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian `chromium` is not installed (scripts/setup.sh --dev installs it)")
def test_html_report_renders_with_its_plots_in_headless_chromium(run, tmp_path):
    from PIL import Image

    out, _ = run
    page = (out / "report.html").read_text()
    probe = ("<script>window.addEventListener('load',()=>{const i=[...document.images];"
             "document.body.setAttribute('data-loaded',i.filter(x=>x.complete&&x.naturalWidth>0).length+'/'+i.length)"
             "})</script></body>")
    html_file = tmp_path / "probe.html"
    html_file.write_text(page.replace("</body>", probe), "utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path}/u"]
    dom = subprocess.run([CHROMIUM, *flags, "--virtual-time-budget=5000", "--dump-dom", html_file.as_uri()],
                         capture_output=True, text=True, timeout=120)
    loaded = re.search(r'data-loaded="(\d+)/(\d+)"', dom.stdout)
    assert loaded, dom.stderr[-2000:]
    assert int(loaded.group(1)) == int(loaded.group(2)) >= 2
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,2400",
                    (out / "report.html").as_uri()], capture_output=True, timeout=120)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.01  # text and plots, not a blank page
