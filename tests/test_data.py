import json

import pytest

from srllm.data import (
    ResumableJsonlWriter,
    read_counterfactual,
    read_inputs,
    read_paradetox,
    read_srllm_csv,
    write_jsonl_atomic,
)
from srllm.errors import SrllmDataError
from srllm.schema import Record, row_id


def test_readers_by_format(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id": "x1", "body": "hello"}\n\n{"id": "x2", "body": "world"}\n')
    rows = list(read_inputs(tmp_path / "a.jsonl", text_field="body", id_field="id"))
    assert [(r.line, r.id, r.text) for r in rows] == [(1, "x1", "hello"), (3, "x2", "world")]
    (tmp_path / "a.csv").write_text('text,n\n"multi\nline",1\nplain,2\n')
    rows = list(read_inputs(tmp_path / "a.csv"))
    assert [r.text for r in rows] == ["multi\nline", "plain"] and rows[1].line == 4
    assert rows[0].id == row_id("multi\nline", 3)  # no id column: line number + text hash
    (tmp_path / "a.txt").write_text("one\n\ntwo\n")
    assert [r.text for r in read_inputs(tmp_path / "a.txt")] == ["one", "two"]


def test_tsv_quotes_are_text(tmp_path):
    # ParaDetox's TSV: an unbalanced quote inside a sentence; CSV quoting would swallow the following lines
    (tmp_path / "a.tsv").write_text('toxic\tneutral\nhe said " this is crap\the said it is bad\n"quoted" word\tx\n'
                                    "last one\ty\n")
    rows = list(read_inputs(tmp_path / "a.tsv", text_field="toxic"))
    assert [(r.line, r.text) for r in rows] == [(2, 'he said " this is crap'), (3, '"quoted" word'), (4, "last one")]


def test_an_id_field_or_column_is_used_by_default(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id": 7, "text": "same"}\n{"text": "same"}\n{"uid": "u3", "text": "same"}\n')
    assert [r.id for r in read_inputs(tmp_path / "a.jsonl")] == ["7", row_id("same", 2), row_id("same", 3)]
    named = list(read_inputs(tmp_path / "a.jsonl", id_field="uid", bad_rows="yield"))
    assert named[2].id == "u3" and isinstance(named[0], SrllmDataError)  # a named id field must be there
    (tmp_path / "a.csv").write_text("text,id\nsame,a\nsame,b\n")
    assert [r.id for r in read_inputs(tmp_path / "a.csv")] == ["a", "b"]
    (tmp_path / "a.txt").write_text("same\nsame\n")
    ids = [r.id for r in read_inputs(tmp_path / "a.txt")]
    assert len(set(ids)) == 2  # a repeated text is still two rows


def test_unknown_extension_and_missing_file(tmp_path):
    (tmp_path / "a.xml").write_text("<a/>")
    with pytest.raises(SrllmDataError, match="--format"):
        list(read_inputs(tmp_path / "a.xml"))
    with pytest.raises(SrllmDataError, match="does not exist"):
        list(read_inputs(tmp_path / "nope.jsonl"))


def test_csv_row_with_wrong_cell_count(tmp_path):
    (tmp_path / "a.csv").write_text("text,n\nok,1\nbad\n")
    with pytest.raises(SrllmDataError, match=r"a.csv, line 3: row has 1 cells"):
        list(read_inputs(tmp_path / "a.csv"))


def test_atomic_write_and_torn_partial_line_is_dropped(tmp_path):
    out = tmp_path / "o.jsonl"
    write_jsonl_atomic(out, [Record(text="hi")])
    assert json.loads(out.read_text())["text"] == "hi"
    partial = tmp_path / "r.jsonl.partial"
    partial.write_text('{"id": "a"}\n{"id": "b"}\n{"id": "c", "te')
    w = ResumableJsonlWriter(tmp_path / "r.jsonl")
    assert w.done_ids == {"a", "b"}
    w.write([{"id": "c"}])
    w.close(finished=True)
    assert [json.loads(x)["id"] for x in (tmp_path / "r.jsonl").read_text().splitlines()] == ["a", "b", "c"]


def test_srllm_csv_bad_biased_words_names_line_and_field(tmp_path):
    path = tmp_path / "cmd.csv"
    path.write_text("biased_text,dimension,biased_words,aspect,label,debiased_text\n"
                    "ok text,toxicity,['a'],Political,Slightly Biased,fine\n"
                    "\"two\nlines\",ageism,[oops,Ageism,Highly Biased,x\n")
    with pytest.raises(SrllmDataError, match=r"cmd.csv, line 3, field 'biased_words'"):
        read_srllm_csv(path)


@pytest.mark.shared
def test_import_the_shared_sources(shared_data):
    train = read_srllm_csv(shared_data / "sr-llm" / "train_500.csv")
    assert len(train) == 434
    assert all(r.rewrite and r.bias in ("slight", "high") and r.categories for r in train)
    assert sum("bias.political" in r.categories for r in train) > 50
    assert len(read_srllm_csv(shared_data / "sr-llm" / "infer_50.csv")) == 53
    para = read_paradetox(shared_data / "paradetox" / "paradetox.tsv")
    assert len(para) > 11_000
    # No quoting in that file: a quote character is literal text, not a field delimiter.
    assert any('"' in r.text for r in para)
    cf = read_counterfactual(shared_data / "sr-llm" / "counterfactual-inhouse.csv")
    assert len(cf) == 420 and "race_a_Black_person" in cf[0].columns and len(cf[0].texts()) == 11


def test_one_normaliser_three_levels():
    from srllm.data.normalize import normalize

    text = "  Don 't\tSHOUT ,  please!\n"
    assert normalize(text, "space") == "Don 't SHOUT , please!"
    assert normalize(text, "case") == "don 't shout , please!"
    assert normalize(text) == normalize("don't shout, please") == "don t shout please"
    with pytest.raises(ValueError, match="level"):
        normalize(text, "letters")
