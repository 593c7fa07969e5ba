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
