"""CMD build (splits by text, keep-unchanged examples, counts) and SIT mixing."""

from __future__ import annotations

import csv
import json

import pytest

from srllm.data.build import assign_split, build_cmd, stats_path
from srllm.data.mix import mix_rows, parse_mix
from srllm.data.normalize import normalize
from srllm.errors import SrllmDataError

SRLLM_HEADER = ["biased_text", "dimension", "biased_words", "aspect", "label", "Done (x)", "debiased_text",
                "comments", "text_length"]


def _fixture(root, n=60):
    (root / "paradetox").mkdir(parents=True)
    (root / "sr-llm").mkdir()
    lines = ["toxic\tneutral1\tneutral2\tneutral3"]
    for i in range(n):
        lines.append(f"you idiot number {i} ruined it\tyou number {i} ruined it\tperson {i} ruined it\t")
    lines.append("same text copied\tsame text copied\t\t")  # every rewrite is a copy: dropped
    lines.append("copy first then good\tcopy first then good\tthe good one here\t")  # the non-copy is chosen
    lines.append("You Idiot Number 3 ruined it!\tdup\t\t")  # a duplicate of row 3 after normalisation
    (root / "paradetox" / "paradetox.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name, k in (("train_500.csv", 20), ("infer_50.csv", 5)):
        with (root / "sr-llm" / name).open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(SRLLM_HEADER)
            for i in range(k):
                w.writerow([f"{name} old people {i} are slow", "ageism", "['slow']", "ageism", "Highly Biased", "x",
                            f"people {i} have their own pace", "", "5"])
    return root


def _assert_no_text_in_two_splits(rows):
    """No input text is in two splits, and no input text of one split is a reference in another (two different
    toxic texts may share a common neutral reference, e.g. "I agree")."""
    text_split: dict[str, str] = {}
    for r in rows:
        assert text_split.setdefault(normalize(r["text"]), r["split"]) == r["split"], r["text"]
    for r in rows:
        for ref in [r.get("rewrite") or "", *r.get("alternatives", [])]:
            assert text_split.get(normalize(ref), r["split"]) == r["split"], ref


def test_build_on_fixture_splits_by_text(tmp_path):
    root = _fixture(tmp_path / "data")
    out = tmp_path / "runs" / "cmd.jsonl"
    stats = build_cmd(out, data_dir=root, seed=1, dev=0.2, test=0.2, keep_ratio=0.5)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == stats.total
    _assert_no_text_in_two_splits(rows)
    assert {r["split"] for r in rows if r["source"] == "sr-llm/infer_50"} == {"test"}
    assert {r["split"] for r in rows if r["source"] == "sr-llm/train_500"} <= {"train", "dev"}
    by_text = {r["text"]: r for r in rows}
    assert "same text copied" not in by_text
    assert by_text["copy first then good"]["rewrite"] == "the good one here"
    keep = [r for r in rows if r["source"] == "paradetox/neutral"]
    assert keep and all(r["text"] == r["rewrite"] and r["toxicity"] == "none" for r in keep)
    assert stats.dropped["duplicate text"] == 1
    saved = json.loads(stats_path(out).read_text())
    assert saved["by_source_split"]["sr-llm/infer_50"]["test"] == 5
    first = out.read_bytes()
    build_cmd(out, data_dir=root, seed=1, dev=0.2, test=0.2, keep_ratio=0.5)
    assert out.read_bytes() == first  # deterministic
    assert not list(out.parent.glob("*.tmp"))


class _WordJudge:
    """A reference judge for tests: a text is unsafe when it contains 'you'; similarity is the share of the
    source's words the text keeps."""

    def is_unsafe(self, texts):
        import numpy as np

        return np.array(["you" in t.split() for t in texts])

    def similarity(self, a, b):
        return [len(set(x.split()) & set(y.split())) / len(set(x.split())) for x, y in zip(a, b, strict=True)]


def test_rank_references_targets_the_safe_reference_closest_in_meaning(tmp_path):
    root = _fixture(tmp_path / "data")
    with (root / "paradetox" / "paradetox.tsv").open("a", encoding="utf-8") as f:
        for i in range(40):  # every reference flagged: such pairs leave the train split
            f.write(f"shut up idiot {i}\tyou shut up {i}\tyou be quiet {i}\t\n")
    plain, ranked = tmp_path / "plain.jsonl", tmp_path / "ranked.jsonl"
    build_cmd(plain, data_dir=root, seed=1, dev=0.2, test=0.2, keep_ratio=0.5)
    stats = build_cmd(ranked, data_dir=root, seed=1, dev=0.2, test=0.2, keep_ratio=0.5, reference_judge=_WordJudge())
    before = {r["text"]: r for r in map(json.loads, plain.read_text().splitlines())}
    after = {r["text"]: r for r in map(json.loads, ranked.read_text().splitlines())}
    train = [t for t, r in after.items() if r["split"] == "train" and r["source"] == "paradetox"]
    swapped = [t for t in train if t.startswith("you idiot number")]
    assert swapped and all(before[t]["rewrite"].startswith("you number") for t in swapped)
    assert all(after[t]["rewrite"].startswith("person") and after[t]["alternatives"] == [] for t in swapped)
    assert not any(t.startswith("shut up idiot") for t in train)
    assert any(t.startswith("shut up idiot") and r["split"] == "train" for t, r in before.items())
    assert stats.dropped["paradetox train: no reference passes the reference judge"] > 0
    assert stats.dropped["keep-unchanged train: the reference judge flags it"] > 0
    assert not any(r["source"] == "paradetox/neutral" and r["split"] == "train" and "you" in t.split()
                   for t, r in after.items())
    for split in ("dev", "test"):  # untouched
        assert {t: r for t, r in before.items() if r["split"] == split} == \
            {t: r for t, r in after.items() if r["split"] == split}


def test_build_errors(tmp_path):
    with pytest.raises(SrllmDataError, match="dev"):
        build_cmd(tmp_path / "x.jsonl", data_dir=tmp_path, dev=0.6, test=0.5)
    with pytest.raises(SrllmDataError, match="no source files"):
        build_cmd(tmp_path / "x.jsonl", data_dir=tmp_path)


def test_assign_split_ignores_case_and_punctuation():
    a = assign_split("You are an IDIOT!", seed=3, dev=0.3, test=0.3)
    assert a == assign_split("you are an idiot", seed=3, dev=0.3, test=0.3)


@pytest.mark.shared
def test_build_on_shared_data(shared_data, tmp_path):
    from srllm.data import read_counterfactual

    out = tmp_path / "cmd.jsonl"
    stats = build_cmd(out, data_dir=shared_data)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    _assert_no_text_in_two_splits(rows)
    assert stats.by_source_split["sr-llm/infer_50"] == {"train": 0, "dev": 0, "test": 53}
    originals = {normalize(r.original) for r in read_counterfactual(shared_data / "sr-llm" /
                                                                       "counterfactual-inhouse.csv")}
    assert not originals & {normalize(r["text"]) for r in rows}  # the over-correction test set stays unseen


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_mix_by_ratio_is_seeded_and_reported(tmp_path):
    general = _jsonl(tmp_path / "general.jsonl", [{"prompt": f"q{i}", "completion": f"a{i}"} for i in range(100)])
    safety = _jsonl(tmp_path / "safety.jsonl", [{"text": f"bad {i}", "rewrite": f"ok {i}"} for i in range(10)])
    rows, parts = mix_rows(f"{general}:0.8,{safety}:0.2", seed=7)
    assert len(rows) == 50 and [p.taken for p in parts] == [40, 10] and not any(p.repeated for p in parts)
    again, _ = mix_rows(f"{general}:0.8,{safety}:0.2", seed=7)
    assert rows == again
    rows, parts = mix_rows(f"{general}:0.8,{safety}:0.2", seed=7, total=100)
    assert [p.taken for p in parts] == [80, 20] and parts[1].repeated


def test_sft_examples_take_the_mix_total(tmp_path):
    from srllm.train.sft_data import load_examples

    general = _jsonl(tmp_path / "general.jsonl", [{"prompt": f"q{i}", "completion": f"a{i}"} for i in range(100)])
    risky = _jsonl(tmp_path / "risky.jsonl", [{"prompt": f"r{i}", "completion": f"b{i}"} for i in range(5)])
    spec = f"{general}:0.9,{risky}:0.1"
    assert len(load_examples(None, mix=spec)) == 50  # the scarcest file bounds the mix
    examples = load_examples(None, mix=spec, mix_total=120)
    assert len(examples) == 120 and sum(e["prompt"][-1]["content"].startswith("r") for e in examples) == 12


def test_mix_errors(tmp_path):
    with pytest.raises(SrllmDataError, match="FILE.jsonl:RATIO"):
        parse_mix("general.jsonl")
    with pytest.raises(SrllmDataError, match="not a number"):
        parse_mix("a.jsonl:lots")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a"}\nnot json\n')
    with pytest.raises(SrllmDataError, match="line 2"):
        mix_rows(f"{bad}:1")


def test_extra_records_join_the_build_deduplicated(tmp_path):
    root = _fixture(tmp_path / "data")
    extra = tmp_path / "stereo_pairs.jsonl"
    rows = [{"text": "Old drivers are a menace.", "rewrite": "Some drivers are a menace.", "source": "stereo/template",
             "categories": ["stereotyping"]},
            {"text": "you idiot number 4 ruined it", "rewrite": "x"},  # already in the build: dropped
            {"text": "Teenagers are lazy.", "rewrite": "Some teenagers are lazy.", "split": "dev"}]
    extra.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "cmd.jsonl"
    stats = build_cmd(out, data_dir=root, seed=1, dev=0.2, test=0.2, keep_ratio=0.0, extra=[extra])
    by_text = {r["text"]: r for r in map(json.loads, out.read_text().splitlines())}
    old = by_text["Old drivers are a menace."]
    assert old["split"] == "train" and old["source"] == "stereo/template" and old["categories"] == ["stereotyping"]
    assert by_text["Teenagers are lazy."]["split"] == "dev"
    assert by_text["Teenagers are lazy."]["source"] == "stereo_pairs"
    assert by_text["you idiot number 4 ruined it"]["source"] == "paradetox"
    assert stats.dropped["duplicate text"] >= 2
    extra.write_text(json.dumps({"text": "no rewrite"}) + "\n")
    with pytest.raises(SrllmDataError, match="line 1"):
        build_cmd(out, data_dir=root, extra=[extra])


def test_cli_data_build(tmp_path):
    from typer.testing import CliRunner

    from srllm.cli import app

    root = _fixture(tmp_path / "data")
    out = tmp_path / "o" / "cmd.jsonl"
    res = CliRunner().invoke(app, ["data", "build", "--out", str(out), "--data-dir", str(root)])
    assert res.exit_code == 0, res.output
    assert "paradetox/neutral" in res.output and out.is_file() and stats_path(out).is_file()
    assert json.loads(stats_path(out).read_text())["command"] == f"srllm data build --out {out} --data-dir {root}"
    res = CliRunner().invoke(app, ["data", "build", "--out", str(out), "--data-dir", str(root), "--keep-ratio", "0.5",
                                   "--seed", "13"])
    assert res.exit_code == 0, res.output
    assert json.loads(stats_path(out).read_text())["command"] == (
        f"srllm data build --out {out} --data-dir {root} --keep-ratio 0.5")
