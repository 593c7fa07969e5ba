"""End to end on the real embedded models (SmolLM2-135M-Instruct + its shipped SR adapter, MiniLM + the shipped
detector heads). Few and slow by design; everything else uses tiny models."""

import json
import subprocess
import sys

import pytest

import srllm

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def guard():
    return srllm.Guard()


def test_unsafe_text_is_fixed_and_safe_text_kept(guard):
    unsafe, safe = guard.check(["you are a fucking idiot and your article is garbage",
                                "The team will meet at the designated time and location."])
    assert safe.action == "kept" and safe.output == safe.text and not safe.unsafe
    assert unsafe.unsafe and unsafe.categories["toxicity"] >= 0.5
    assert unsafe.action in ("rewritten", "edited")
    assert unsafe.output != unsafe.text
    assert not guard.detector.is_unsafe([unsafe.output])[0]
    assert any("fucking" in s.text or "idiot" in s.text for s in unsafe.spans)


def test_cli_main_job_runs_as_a_user_would(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "srllm.cli", "check", "what a stupid idea, you moron"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["unsafe"] and out["action"] in ("rewritten", "edited", "failed")
    # The main job is quiet: no library warnings, no per-tensor loading bars (a one-line note on first conversion).
    noise = [x for x in proc.stderr.splitlines() if x.strip() and not x.startswith("srllm: converting")]
    assert noise == [], proc.stderr


def _jsonl(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_killed_check_resumes_without_losing_or_doubling_a_row(tmp_path):
    """A real `srllm check` process is killed (SIGKILL) mid-file and re-run: the output has every row once, the
    rows of a repeated text included (no ids in the input: line number + text hash), as an uninterrupted run."""
    import random
    import signal
    import time

    texts = [f"comment {k}: you are a stupid idiot" if k % 3 == 0 else f"comment {k}: the meeting is at noon"
             for k in range(40)]
    rng = random.Random(0)
    lines = [rng.choice(texts) for _ in range(1200)]  # every text repeats
    src = tmp_path / "in.txt"
    src.write_text("\n".join(lines) + "\n")
    cmd = [sys.executable, "-m", "srllm.cli", "check", "-i", str(src), "--no-rewrite", "--batch-size", "16", "-o"]
    whole, resumed = tmp_path / "whole.jsonl", tmp_path / "resumed.jsonl"
    subprocess.run([*cmd, str(whole)], check=True, capture_output=True, timeout=600)
    partial = resumed.with_name(resumed.name + ".partial")
    proc = subprocess.Popen([*cmd, str(resumed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if partial.exists() and len(partial.read_bytes().splitlines()) >= 160:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed: make the input longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not resumed.exists()
    done = len(partial.read_bytes().splitlines())
    assert 160 <= done < len(lines)
    again = subprocess.run([*cmd, str(resumed)], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "already done (resumed)" in again.stderr
    a, b = _jsonl(whole), _jsonl(resumed)
    assert len(b) == len(lines) and len({r["id"] for r in b}) == len(lines)
    assert [(r["id"], r["text"], r["unsafe"]) for r in b] == [(r["id"], r["text"], r["unsafe"]) for r in a]
    for x, y in zip(a, b, strict=True):  # a batch cut by the kill is re-embedded in a smaller batch
        assert x["categories"] == pytest.approx(y["categories"], abs=1e-3)
