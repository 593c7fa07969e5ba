"""`srllm check` from the command line: output format, exit codes and bad input (no tracebacks)."""

import json

import pytest
from typer.testing import CliRunner

import srllm.detect
import srllm.models.backends
from srllm.cli import app
from tests.fakes import ScriptedBackend, WordDetector

runner = CliRunner()


@pytest.fixture(autouse=True)
def fake_models(monkeypatch):
    monkeypatch.setattr(srllm.detect, "Detector", lambda **kw: WordDetector(), raising=False)
    monkeypatch.setattr(srllm.models.backends, "make_backend",
                        lambda **kw: ScriptedBackend({"you idiot , you are wrong": ["you are wrong"]}))


def invoke(*args, input=None):
    return runner.invoke(app, ["check", *args], input=input)


def test_text_argument_prints_one_json_line():
    res = invoke("you idiot , you are wrong", "--similarity-threshold", "0.3")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip())
    assert set(out) == {"id", "text", "unsafe", "categories", "severity", "spans", "output", "action", "similarity",
                        "reason"}
    assert out["action"] == "rewritten" and out["output"] == "you are wrong"


def test_text_argument_to_output_file_has_the_same_fields(tmp_path):
    out = tmp_path / "one.jsonl"
    res = invoke("all good here", "--output", str(out))
    assert res.exit_code == 0, res.output
    row = json.loads(out.read_text())
    assert row["action"] == "kept" and row["reason"] is None and "similarity" in row


def test_stdin_lines(tmp_path):
    res = invoke(input="all good here\nyou idiot , you are wrong\n")
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.strip().splitlines() if x.startswith("{")]
    assert [(x["action"], x["output"]) for x in lines] == [("kept", "all good here"), ("rewritten", "you are wrong")]


def test_no_rewrite_file_to_output(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.jsonl"
    src.write_text("uid,body\n1,all good\n2,you idiot\n")
    res = invoke("--input", str(src), "--text-field", "body", "--id-field", "uid", "--output", str(out),
                 "--no-rewrite")
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(r["id"], r["unsafe"], r["output"]) for r in rows] == [("1", False, "all good"), ("2", True, "you idiot")]


@pytest.mark.parametrize("args,needle", [
    (["   "], "field 'TEXT': the text is empty"),
    (["x", "--input", "f.txt"], "not both"),
])
def test_bad_arguments(args, needle):
    res = invoke(*args)
    assert res.exit_code == 2 and needle in res.output and "Traceback" not in res.output


def test_bad_files_give_clear_errors_and_keep_what_was_written(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("fine\n" + "a" * 1_048_576 + "\n")
    res = invoke("--input", str(big), "--output", str(tmp_path / "o1.jsonl"))
    assert res.exit_code == 2 and "line 2" in res.output and "1,048,576 characters" in res.output
    assert "Traceback" not in res.output
    assert len((tmp_path / "o1.jsonl.partial").read_text().splitlines()) == 1  # 'fine' was kept

    nocol = tmp_path / "data.csv"
    nocol.write_text("id,body\n1,hello\n")
    res = invoke("--input", str(nocol))
    assert res.exit_code == 2 and "data.csv, line 1, field 'text'" in res.output
    assert "columns id, body. Use --text-field body" in res.output

    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"text": "ok one"}\n{"text": "ok two"\n{"text": "ok three"}\n\xff\xfe\n')
    out = tmp_path / "o2.jsonl"
    res = invoke("--input", str(bad), "--output", str(out))
    assert res.exit_code == 2 and "bad.jsonl, line 2: not valid JSON" in res.output
    assert "Traceback" not in res.output
    res = invoke("--input", str(bad), "--output", str(out), "--bad-rows", "skip")
    assert res.exit_code == 1 and "line 4: invalid UTF-8" in res.output and "2 bad row(s) skipped" in res.output
    assert [json.loads(x)["text"] for x in out.read_text().splitlines()] == ["ok one", "ok three"]


def test_taxonomy_command_lists_categories():
    res = runner.invoke(app, ["taxonomy", "--json"])
    assert res.exit_code == 0
    assert any(r["id"] == "bias.gender" for r in json.loads(res.stdout))


def test_int8_and_screen_flags_reach_the_detector(monkeypatch):
    seen = {}

    def detector(**kw):
        seen.update(kw)
        return WordDetector()

    monkeypatch.setattr(srllm.detect, "Detector", detector, raising=False)
    res = invoke("all good here", "--int8")
    assert res.exit_code == 0, res.output
    assert seen["quantize"] == "int8" and seen["screen"] is False
    invoke("all good here", "--screen")
    assert seen["quantize"] is None and seen["screen"] is True
