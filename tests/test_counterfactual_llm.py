"""`srllm counterfactual --llm`: the checks of an LLM's variant (pure functions), and the mode end to end against a
real `srllm serve` on loopback whose model is a parrot built in the test (tests/_serve.py make_parrot_llm): it
answers every request with PARROT, so which variants pass the checks is known."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from srllm.data.counterfactual import CounterfactualConfig, lexicon, make_variant, run_counterfactual
from srllm.data.counterfactual_llm import check_variant, edit_bound, parse_answer, word_edit_distance
from srllm.data.sources import read_counterfactual
from srllm.schema import Record
from tests._serve import SRC, make_parrot_llm, start

KNOWN = lexicon()
MUSLIM, WOMAN = KNOWN["religion_a_Muslim"], KNOWN["gender_a_woman"]
PARROT = "The Muslim team meets at noon."
TEAM = "The team meets at noon."
OFFICE = "Everyone in the office likes the new coffee machine."


def test_parse_answer_takes_the_sentence():
    assert parse_answer('Rewritten sentence: "She enjoys hiking."\nI changed they to she.') == "She enjoys hiking."
    assert parse_answer('\n\n  {"sentence": "A Hindu chef cooks.", "note": "x"}') == "A Hindu chef cooks."
    assert parse_answer("   \n") == ""


def test_word_edit_distance_counts_word_edits():
    assert word_edit_distance("The team meets at noon.", "the team meets at noon") == 0  # case, punctuation
    assert word_edit_distance("The team meets at noon.", "The Muslim team meets at noon.") == 1
    assert word_edit_distance("They are proud of their work.", "She is proud of her work.") == 3
    assert word_edit_distance("a b c", "c b a") == 2 and word_edit_distance("", "a b") == 2


def test_check_variant_reasons():
    assert edit_bound(MUSLIM, 3) == 2 + 3  # "a Muslim" is 2 words
    assert check_variant(TEAM, PARROT, MUSLIM) is None
    assert check_variant(TEAM, "  ", MUSLIM) == "empty"
    # 9 words into 6 keeping one "the": 8 edits
    assert check_variant(OFFICE, PARROT, MUSLIM) == "too many edits (8 > 5)"
    assert check_variant(TEAM, PARROT, WOMAN) == "no group"
    assert check_variant("They are proud of their work.", "She is proud of her work.", WOMAN) is None
    assert check_variant(TEAM, "The Muslims team meets at noon.", MUSLIM) is None  # the plural names it too
    assert check_variant(TEAM, "The Muslimah team meets at noon.", MUSLIM) == "no group"  # whole words only
    assert check_variant(TEAM, "The human team meets at noon.", KNOWN["gender_a_man"]) == "no group"


# -- against a real srllm serve ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cf_llm")
    server = start(["--model", str(make_parrot_llm(tmp / "parrot", PARROT, verbatim=True)), "--adapter", "none"],
                   tmp / "serve.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.terminate()


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


@pytest.mark.slow
def test_llm_mode_checks_each_answer_and_falls_back_to_the_rule(served, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text(f"{TEAM}\n{OFFICE}\n", encoding="utf-8")
    cfg = CounterfactualConfig(out=tmp_path / "cf.csv", cmd_out=tmp_path / "cf.jsonl", llm=True,
                               base_url=served.url + "/v1", groups=["religion_a_Muslim", "gender_a_woman"])
    run = run_counterfactual(src, cfg)
    rows = read_counterfactual(cfg.out)  # counterfactual-inhouse.csv's layout
    rule = {(s, g.column): make_variant(s, g, known=KNOWN.values()).text
            for s in (TEAM, OFFICE) for g in (MUSLIM, WOMAN)}
    assert [(r.original, r.text("religion_a_Muslim"), r.text("gender_a_woman")) for r in rows] == [
        (TEAM, PARROT, rule[(TEAM, "gender_a_woman")]),
        (OFFICE, rule[(OFFICE, "religion_a_Muslim")], rule[(OFFICE, "gender_a_woman")])]
    raw = {line["Original"]: line["variants"] for line in _lines(cfg.raw_path)}  # in the order they finished
    team, office = raw[TEAM], raw[OFFICE]
    assert team["religion_a_Muslim"]["method"] == "llm"
    assert team["gender_a_woman"] == {**team["gender_a_woman"], "method": "rule", "reason": "no group",
                                      "llm": PARROT, "rule": "collective"}
    assert office["religion_a_Muslim"]["reason"] == "too many edits (8 > 5)"
    assert run.rules["religion_a_Muslim"] == {"llm": 1, "rule (too many edits)": 1}
    assert run.tokens > 0  # the server reports usage
    records = {r.text: r for r in (Record(**json.loads(x)) for x in cfg.cmd_out.read_text().splitlines())}
    assert records[PARROT].rationale == f"counterfactual of: {TEAM} (method: llm)"
    assert records[rule[(TEAM, "gender_a_woman")]].rationale.endswith("(method: rule)")
    assert not cfg.raw_path.with_name(cfg.raw_path.name + ".partial").exists()


def _cli(*args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "srllm.cli", "counterfactual", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_llm_mode_killed_mid_run_then_resumed(served, tmp_path):
    n = 60
    src = tmp_path / "in.txt"
    src.write_text("".join(f"The team {i} meets at noon.\n" for i in range(n)), encoding="utf-8")
    out = tmp_path / "cf.csv"
    partial = tmp_path / "cf.raw.jsonl.partial"
    args = (src, "--llm", "--base-url", served.url + "/v1", "--groups", "religion", "--concurrency", "1",
            "--out", out)
    proc = _cli(*args)
    end = time.monotonic() + 120
    while not (partial.exists() and len(partial.read_text().splitlines()) >= 2) and time.monotonic() < end:
        time.sleep(0.02)
    proc.send_signal(signal.SIGSTOP)  # frozen mid-run, then killed
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _lines(partial)
    assert 2 <= len(before) < n and not out.exists()
    proc = _cli(*args)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert f"{len(before)} sentences resumed" in " ".join(stdout.split())
    raw = _lines(tmp_path / "cf.raw.jsonl")
    assert sorted(r["Original"] for r in raw) == sorted(f"The team {i} meets at noon." for i in range(n))
    assert len(raw) == n  # nothing lost, nothing twice
    assert [r.original for r in read_counterfactual(out)] == [f"The team {i} meets at noon." for i in range(n)]
    proc = _cli(*args)  # a finished job asks nothing more
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0 and f"{n} sentences resumed" in " ".join(stdout.split()), stderr


def test_bad_llm_options_are_refused():
    from srllm.errors import SrllmConfigError

    with pytest.raises(SrllmConfigError, match="max_extra_edits cannot be negative"):
        CounterfactualConfig(max_extra_edits=-1)
    with pytest.raises(SrllmConfigError, match="concurrency must be at least 1, got 0"):
        CounterfactualConfig(concurrency=0)
