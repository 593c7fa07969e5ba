import json

import pytest

import srllm
from srllm.errors import SrllmDataError
from srllm.guard import Guard, check_file
from srllm.rewrite import RewriteConfig
from tests.fakes import ScriptedBackend, WordDetector


def make_guard(script=None, **kw):
    return Guard(detector=WordDetector(), backend=ScriptedBackend(script or {}),
                 rewrite_config=RewriteConfig(similarity_threshold=0.3), **kw)


def test_safe_text_comes_back_unchanged_and_unsafe_is_rewritten():
    guard = make_guard({"you idiot , you are wrong": ["you are wrong"]})
    safe, unsafe = guard.check(["The team meets at noon.", "you idiot , you are wrong"])
    assert (safe.action, safe.output, safe.unsafe) == ("kept", "The team meets at noon.", False)
    assert unsafe.unsafe and unsafe.action == "rewritten" and unsafe.output == "you are wrong"
    assert unsafe.spans[0].text == "idiot"
    assert unsafe.text[unsafe.spans[0].start:unsafe.spans[0].end] == "idiot"
    assert safe.reason is None and unsafe.reason is None


def test_a_text_that_could_not_be_fixed_says_why():
    [r] = make_guard({"idiot": ["idiot"]}).check(["idiot"])
    assert r.action == "failed" and r.output == "idiot"
    assert "returned the input unchanged" in r.reason and "span edit" in r.reason


def test_no_rewrite_gives_detection_only_and_never_calls_the_llm():
    backend = ScriptedBackend({})
    guard = Guard(detector=WordDetector(), backend=backend)
    [r] = guard.check(["you idiot"], rewrite=False)
    assert r.unsafe and r.output == "you idiot" and backend.calls == []


@pytest.mark.parametrize("text,needle", [("", "empty"), ("   ", "empty"), ("x" * 1_000_000, "1,000,000 characters")])
def test_bad_texts_give_clear_errors(text, needle):
    with pytest.raises(SrllmDataError, match=needle):
        make_guard().check([text])


def _write(path, lines):
    path.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(lines)))


def test_check_file_writes_atomically_and_resumes(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(src, ["fine text", "you idiot", "another fine one", "lazy people", "last"])

    class Boom(Exception):
        pass

    calls = {"n": 0}

    def stop_after_first(_n):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Boom

    with pytest.raises(Boom):
        check_file(src, out, guard=make_guard(), id_field="id", batch_size=2, on_progress=stop_after_first)
    assert not out.exists()  # no half-written output in place
    partial = out.with_name(out.name + ".partial")
    assert len(partial.read_text().splitlines()) == 4  # two finished batches kept
    guard = make_guard()
    report = check_file(src, out, guard=guard, id_field="id", batch_size=2)
    assert report.resumed == 4 and report.processed == 1
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["0", "1", "2", "3", "4"]
    assert not partial.exists()


def test_repeated_texts_without_ids_are_all_checked(tmp_path):
    src, out = tmp_path / "in.txt", tmp_path / "out.jsonl"
    src.write_text("you idiot\nfine\nyou idiot\nfine\nyou idiot\n")
    report = check_file(src, out, guard=make_guard(), batch_size=2, rewrite=False)
    assert report.processed == 5
    assert [json.loads(x)["text"] for x in out.read_text().splitlines()] == src.read_text().splitlines()


def test_a_repeated_id_is_a_bad_row(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text('{"id": "a", "text": "one"}\n{"id": "b", "text": "two"}\n{"id": "a", "text": "three"}\n')
    with pytest.raises(SrllmDataError, match=r"in.jsonl, line 3, field 'id': the id 'a' was already used at line 1"):
        check_file(src, out, guard=make_guard(), rewrite=False)
    report = check_file(src, out, guard=make_guard(), rewrite=False, bad_rows="skip", resume=False)
    assert report.processed == 2 and len(report.bad_rows) == 1


def test_bad_row_stops_and_keeps_what_was_written(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text('{"text": "one"}\n{"text": "two"}\n{broken json\n{"text": "four"}\n')
    with pytest.raises(SrllmDataError, match=r"in.jsonl, line 3: not valid JSON"):
        check_file(src, out, guard=make_guard(), batch_size=10)
    kept = out.with_name(out.name + ".partial").read_text().splitlines()
    assert [json.loads(x)["text"] for x in kept] == ["one", "two"]
    report = check_file(src, out, guard=make_guard(), batch_size=2, bad_rows="skip")
    assert report.processed == 1 and report.resumed == 2 and len(report.bad_rows) == 1
    assert len(out.read_text().splitlines()) == 3


def test_missing_column_names_file_and_columns(tmp_path):
    src = tmp_path / "data.csv"
    src.write_text("id,body\n1,hello\n")
    with pytest.raises(SrllmDataError, match=r"data.csv, line 1, field 'text'.*columns id, body"):
        check_file(src, None, guard=make_guard())


def test_undecodable_csv_stops_even_when_skipping_and_keeps_earlier_rows(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "o.jsonl"
    src.write_bytes(b"text\nfine\nalso fine\n\xff bad\nnever read\n")
    with pytest.raises(SrllmDataError, match=r"in.csv, line 4: invalid UTF-8"):
        check_file(src, out, guard=make_guard(), bad_rows="skip", batch_size=10)
    kept = out.with_name(out.name + ".partial").read_text().splitlines()
    assert [json.loads(x)["text"] for x in kept] == ["fine", "also fine"]


def test_invalid_utf8_is_reported_with_line(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(b"fine\n\xff\xfe oops\n")
    with pytest.raises(SrllmDataError, match=r"in.txt, line 2: invalid UTF-8"):
        check_file(src, tmp_path / "o.jsonl", guard=make_guard())


def test_public_quick_start_api_is_exported():
    assert callable(srllm.check) and "check" in srllm.__all__ and "Guard" in srllm.__all__


def test_parquet_input_and_output_give_the_jsonl_records_and_resume(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from srllm.data.writers import read_results, result_schema
    from srllm.schema import CheckResult

    assert result_schema().names == list(CheckResult.model_fields)
    texts = ["fine text", "you idiot , you are wrong", "another fine one", "lazy people", "last"]
    script = {"you idiot , you are wrong": ["you are wrong"]}
    jsonl, parquet = tmp_path / "in.jsonl", tmp_path / "in.parquet"
    _write(jsonl, texts)
    pq.write_table(pa.table({"id": [str(i) for i in range(5)], "text": texts}), parquet)
    want = tmp_path / "want.jsonl"
    check_file(jsonl, want, guard=make_guard(script), batch_size=2)
    want_rows = [json.loads(x) for x in want.read_text().splitlines()]
    assert any(r["spans"] for r in want_rows) and any(r["action"] == "rewritten" for r in want_rows)

    out = tmp_path / "out.parquet"
    partial = out.with_name(out.name + ".partial")
    partial.write_text("".join(json.dumps(r) + "\n" for r in want_rows[:2]))  # a killed run's first batch
    report = check_file(parquet, out, guard=make_guard(script), batch_size=2)
    assert report.resumed == 2 and report.processed == 3 and not partial.exists()
    assert read_results(out) == want_rows
    report = check_file(parquet, out, guard=make_guard(), batch_size=2)  # a finished Parquet output resumes too
    assert report.resumed == 5 and report.processed == 0 and read_results(out) == want_rows


def test_parquet_bad_rows_name_file_row_and_field(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"body": ["fine", None, "  "]}), src)
    with pytest.raises(SrllmDataError, match=r"in.parquet, field 'text': you set --text-field text, but the file "
                                             r"has columns body"):
        check_file(src, None, guard=make_guard())
    with pytest.raises(SrllmDataError, match=r"in.parquet, line 2, field 'body': expected a string, got NoneType"):
        check_file(src, tmp_path / "o.jsonl", guard=make_guard(), text_field="body", rewrite=False)
    report = check_file(src, tmp_path / "o.jsonl", guard=make_guard(), text_field="body", rewrite=False,
                        bad_rows="skip", resume=False)
    assert report.processed == 1 and len(report.bad_rows) == 2 and "line 3, field 'body': the text is empty" in \
        report.bad_rows[1]
