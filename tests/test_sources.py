"""The data sources: the strict JSONL reader (file and line on a bad line, no lost last line), the tolerant reader
kept for resume files, the package-file locator, and --data CMD files read strictly (the bug of issue 12)."""

from __future__ import annotations

import json

import pytest

from srllm.data import CounterfactualRow, iter_jsonl, package_file, read_counterfactual, read_jsonl
from srllm.data.writers import read_resume_records
from srllm.errors import SrllmDataError
from srllm.evaluate.rewrite_data import from_file


def _cmd_file(path, n: int, *, final_newline: bool):
    rows = [json.dumps({"id": f"r{i}", "text": f"text {i}", "rewrite": f"rewrite {i}", "bias": "high"})
            for i in range(n)]
    path.write_text("\n".join(rows) + ("\n" if final_newline else ""), encoding="utf-8")
    return path


def test_strict_reader_keeps_a_last_line_without_newline_and_numbers_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\r\n{"a": 3}', encoding="utf-8")
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert [n for n, _ in iter_jsonl(path)] == [1, 3, 4]
    assert read_jsonl(path, line_key="_line")[2] == {"a": 3, "_line": 4}


@pytest.mark.parametrize(("content", "message"), [
    ('{"a": 1}\n{"a": \n{"a": 3}\n', r"a.jsonl, line 2: not valid JSON"),
    ('{"a": 1}\n[1, 2]\n', r"a.jsonl, line 2: expected a JSON object, got list"),
    (b'{"a": 1}\n{"a": "\xff"}\n', r"a.jsonl, line 2: invalid UTF-8"),
])
def test_strict_reader_names_file_and_line(tmp_path, content, message):
    path = tmp_path / "a.jsonl"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(SrllmDataError, match=message) as err:
        read_jsonl(path)
    assert err.value.line == 2 and err.value.file == str(path)
    with pytest.raises(SrllmDataError, match="no such file"):
        read_jsonl(tmp_path / "missing.jsonl")


def test_resume_reader_drops_a_torn_last_line(tmp_path):
    path = tmp_path / "out.jsonl.partial"
    path.write_text('{"id": "a"}\n{"id": "b"}\n{"id": "c", "te', encoding="utf-8")
    assert [r["id"] for r in read_resume_records(path)] == ["a", "b"]
    assert read_resume_records(tmp_path / "absent.jsonl") == []


def test_data_file_without_final_newline_keeps_its_last_record(tmp_path):
    # Issue 12: `--data` went through the resume reader, which drops a last line without a newline.
    for final_newline in (True, False):
        path = _cmd_file(tmp_path / f"cmd-{final_newline}.jsonl", 3, final_newline=final_newline)
        ds = from_file(path)
        assert ds.ids == ["r0", "r1", "r2"] and ds.texts[-1] == "text 2" and ds.references[-1] == ["rewrite 2"]
        assert ds.unsafe == [True, True, True]


def test_data_file_with_a_broken_line_names_file_and_line(tmp_path):
    path = _cmd_file(tmp_path / "cmd.jsonl", 3, final_newline=True)
    lines = path.read_text().splitlines()
    lines[1] = lines[1][:-5]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SrllmDataError, match=r"cmd.jsonl, line 2: not valid JSON"):
        from_file(path)
    path.write_text('{"id": "a", "text": "t"}\n{"id": "b", "text": "t", "bias": "very"}\n')
    with pytest.raises(SrllmDataError, match=r"cmd.jsonl, line 2: not a CMD record"):
        from_file(path)


def test_package_file_names_the_package_and_the_fix():
    with pytest.raises(SrllmDataError, match=r"'no_such_pkg_xyz' package is not installed.*pip install --no-deps "
                                             r"no_such_pkg_xyz"):
        package_file("no_such_pkg_xyz", "data", "x.jsonl")


def test_counterfactual_rows_are_typed_and_keep_file_order(tmp_path):
    path = tmp_path / "cf.csv"
    path.write_text('Original,gender_a_man,gender_a_woman\nA plan.,"A man, a plan.",A woman plans.\n\n')
    rows = read_counterfactual(path)
    assert rows == [CounterfactualRow("A plan.", (("gender_a_man", "A man, a plan."),
                                                  ("gender_a_woman", "A woman plans.")))]
    assert rows[0].columns == ("Original", "gender_a_man", "gender_a_woman")
    assert rows[0].text("gender_a_woman") == "A woman plans." and rows[0].texts()[0] == "A plan."
    path.write_text("Original,gender_a_man\nA plan.\n")
    with pytest.raises(SrllmDataError, match=r"cf.csv, line 2: row has 1 cells, the header has 2"):
        read_counterfactual(path)
