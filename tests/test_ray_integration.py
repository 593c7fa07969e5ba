"""srllm.integrations.ray on a local Ray instance (2 CPUs, started once for the module): the Ray output equals
check_file's record for record (JSONL and Parquet, detection and rewriting), a stopped run resumes without redoing
finished shards, bad rows give check_file's errors, and `srllm check --ray` is a thin call into the module.

Not tested here: a multi-node cluster, GPU actors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srllm.errors import SrllmConfigError, SrllmDataError, SrllmModelError
from srllm.guard import Guard, check_file
from srllm.rewrite import RewriteConfig
from tests.fakes import ScriptedBackend, WordDetector

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'srllm[ray]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'srllm[ray]')")

from srllm.integrations import ray as sray  # noqa: E402
from srllm.integrations.ray import check_file_ray  # noqa: E402

SCRIPT = {"you idiot , you are wrong": ["you are wrong"], "lazy people never plan": ["people never plan"]}


class RecordingDetector(WordDetector):
    """WordDetector that appends every text it is asked about to a file (which rows a run really checked) and
    raises an srllm error on the text `fail_on` while the file `broken` exists."""

    def __init__(self, log: str, broken: str = "", fail_on: str = ""):
        self.log, self.broken, self.fail_on = log, broken, fail_on

    def predict(self, texts, *, spans=False):
        if self.fail_on in texts and Path(self.broken).exists():
            raise SrllmModelError("the detector broke")
        with open(self.log, "a", encoding="utf-8") as f:
            f.write("".join(t + "\n" for t in texts))
        return super().predict(texts, spans=spans)


@pytest.fixture(scope="module")
def local_ray():
    # Workers inherit the environment: they import this checkout's srllm and tests packages.
    root = Path(__file__).resolve().parents[1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", f"{root / 'src'}:{root}")
        mp.setenv("OMP_NUM_THREADS", "1")
        mp.delenv("RAY_ADDRESS", raising=False)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            yield ray
        finally:
            ray.shutdown()


def texts(n: int) -> list[str]:
    unsafe = ["you idiot , you are wrong", "lazy people never plan", "stupid idiot"]
    return [unsafe[i // 3 % 3] if i % 3 == 1 else f"the team meets at noon, day {i}" for i in range(n)]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_with_rewriting_stopped_and_resumed_equals_check_file(local_ray, tmp_path):
    """One job, run twice: in the first run a worker fails in the third shard (as a crashed job would), after two
    shards are written; the second run resumes with another number of actors, checks only the unfinished shards,
    and its output is check_file's, byte for byte. Rewriting on (scripted backend), a bad row skipped by both."""
    corpus = texts(13)
    rows = [{"text": t} for t in corpus]
    rows[5] = {"text": "   "}  # line 6: a bad row
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    config = RewriteConfig(similarity_threshold=0.3, max_ppl_ratio=None)  # no reference LM to load in each actor
    want = tmp_path / "want.jsonl"
    expected = check_file(src, want, guard=Guard(detector=WordDetector(), backend=ScriptedBackend(SCRIPT),
                                                 rewrite_config=config), batch_size=3, bad_rows="skip")
    out, log, broken = tmp_path / "out.jsonl", tmp_path / "checked.log", tmp_path / "broken"
    parts = tmp_path / "out.jsonl.parts"
    broken.touch()
    detector = RecordingDetector(str(log), str(broken), fail_on=corpus[8])  # shard 2 holds lines 8-10
    options = dict(guard_options={"detector": detector, "backend": ScriptedBackend(SCRIPT), "rewrite_config": config},
                   batch_size=3, shard_size=3, bad_rows="skip")  # a batch never spans two shards

    with pytest.raises(SrllmModelError, match=r"the detector broke \(in a Ray worker; the shards written so far"):
        check_file_ray(src, out, **options, num_actors=1)  # one actor: the shards finish in order
    assert not out.exists()
    assert sorted(p.name for p in parts.iterdir()) == ["manifest.json", "part-00000.jsonl", "part-00001.jsonl"]
    assert [r["text"] for r in lines(parts / "part-00001.jsonl")] == corpus[3:5] + corpus[6:7]  # line 6 skipped

    broken.unlink()
    log.write_text("")
    progress = []
    report = check_file_ray(src, out, **options, num_actors=2,
                            on_progress=lambda done, total: progress.append((done, total)))
    checked = set(log.read_text().splitlines())  # the rows and rewrites the detector saw in the second run
    assert set(corpus[7:]) <= checked and not checked & (set(corpus[:7]) - set(corpus[7:]))  # shards 0-1: not redone
    assert out.read_text() == want.read_text()  # the same records, in input order
    got = lines(out)
    assert {r["action"] for r in got} >= {"kept", "rewritten"} and len(got) == 12
    assert report.bad_rows == expected.bad_rows and "in.jsonl, line 6, field 'text': the text is empty" in \
        report.bad_rows[0]
    assert (report.shards, report.shards_resumed, report.resumed, report.processed) == (4, 2, 6, 6)
    assert progress == [(2, 4), (3, 4), (4, 4)]
    assert not parts.exists()


def test_parquet_in_and_out_with_the_tiny_real_detector_equals_check_file(local_ray, tmp_path, encoder_path, heads):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from srllm.data.writers import read_results
    from srllm.detect import Detector

    detector = Detector(encoder=encoder_path, heads=heads, encoder_engine="torch")
    from tests._tiny_encoder import BIASED, SAFE, TOXIC

    corpus = TOXIC[:4] + SAFE[:4] + BIASED[:4]
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"uid": [f"u{i}" for i in range(len(corpus))], "body": corpus}), src)
    want = tmp_path / "want.jsonl"
    check_file(src, want, guard=Guard(detector=detector), text_field="body", id_field="uid", rewrite=False,
               batch_size=2)
    out = tmp_path / "out.parquet"
    report = check_file_ray(src, out, guard_options={"detector": detector}, text_field="body", id_field="uid",
                            rewrite=False, num_actors=1, batch_size=2, shard_size=4)
    assert pq.read_schema(out).names == list(lines(want)[0])
    got, expected = read_results(out), lines(want)
    assert [r["id"] for r in got] == [f"u{i}" for i in range(len(corpus))]
    assert got == expected
    assert any(r["unsafe"] for r in got) and not all(r["unsafe"] for r in got)
    assert report.processed == len(corpus) and report.shards == 3


def test_parts_of_another_input_or_other_options_are_discarded(tmp_path):
    parts = tmp_path / "out.jsonl.parts"
    manifest = {"fingerprint": "a"}
    assert sray._open_parts(parts, manifest, resume=True) == set()
    (parts / "part-00000.jsonl").write_text("{}\n")
    (parts / "part-00001.jsonl.x1.tmp").write_text("torn")  # a killed atomic write: not a finished shard
    assert sray._open_parts(parts, manifest, resume=True) == {0}
    assert sray._open_parts(parts, {"fingerprint": "b"}, resume=True) == set()
    assert sorted(p.name for p in parts.iterdir()) == ["manifest.json"]
    (parts / "part-00000.jsonl").write_text("{}\n")
    assert sray._open_parts(parts, {"fingerprint": "b"}, resume=False) == set()
    assert json.loads((parts / "manifest.json").read_text()) == {"fingerprint": "b"}


def test_the_fingerprint_keys_option_values_and_policy_contents(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("a: 1\n")
    first = sray._keyed({"policy": policy, "detector": WordDetector(), "rewrite_config": RewriteConfig()})
    assert first["detector"] == "<tests.fakes.WordDetector>" and first["policy"]["sha256"]
    assert first["rewrite_config"]["similarity_threshold"] == RewriteConfig().similarity_threshold
    policy.write_text("a: 2\n")
    assert sray._keyed({"policy": policy})["policy"] != first["policy"]


@pytest.mark.parametrize("content,where", [
    ('{"text": "fine"}\n{"text": "also fine"}\n{"txt": "no text field"}\n', "in.jsonl, line 3, field 'text'"),
    ('{"id": "a", "text": "one"}\n{"id": "a", "text": "two"}\n', "in.jsonl, line 2, field 'id': the id 'a' was "
                                                                 "already used at line 1"),
    ('{"text": "fine"}\n{broken\n', "in.jsonl, line 2: not valid JSON"),
])
def test_a_bad_row_stops_before_anything_runs_with_file_line_and_field(tmp_path, content, where):
    src = tmp_path / "in.jsonl"
    src.write_text(content)
    with pytest.raises(SrllmDataError) as e:
        check_file_ray(src, tmp_path / "out.jsonl", guard_options={"detector": WordDetector()})
    assert where in str(e.value)
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "out.jsonl.parts").exists()


def test_bad_arguments(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": "fine"}])
    with pytest.raises(SrllmDataError, match="not stdin"):
        check_file_ray("-", tmp_path / "o.jsonl")
    with pytest.raises(SrllmDataError, match="--output FILE"):
        check_file_ray(src, None)
    with pytest.raises(SrllmDataError, match="does not exist"):
        check_file_ray(tmp_path / "missing.jsonl", tmp_path / "o.jsonl")
    with pytest.raises(SrllmConfigError, match="shard_size"):
        check_file_ray(src, tmp_path / "o.jsonl", shard_size=0)


runner = CliRunner()


def test_cli_ray_is_a_thin_call_into_the_module(monkeypatch, tmp_path):
    from srllm.cli import app

    seen = {}

    def fake(input, output, **kw):
        seen.update(kw, input=input, output=output)
        kw["on_progress"](0, 3)
        kw["on_progress"](3, 3)
        return sray.RayCheckReport(output=str(output), processed=7, resumed=2, unsafe=1, actions={"kept": 7},
                                   shards=3, shards_resumed=1)

    monkeypatch.setattr(sray, "check_file_ray", fake)
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": "fine"}])
    res = runner.invoke(app, ["check", "-i", str(src), "-o", str(tmp_path / "o.parquet"), "--no-rewrite", "--ray",
                              "--ray-address", "auto", "--ray-actors", "4", "--ray-shard-size", "5", "--int8",
                              "--batch-size", "8", "--bad-rows", "skip", "--restart"])
    assert res.exit_code == 0, res.output
    assert "7 checked, 2 already done (resumed), 1 unsafe" in res.output and "1 done by an earlier run" in res.output
    assert seen["input"] == str(src) and seen["output"] == tmp_path / "o.parquet"
    assert (seen["address"], seen["num_actors"], seen["shard_size"], seen["rewrite"], seen["batch_size"],
            seen["bad_rows"], seen["resume"]) == ("auto", 4, 5, False, 8, "skip", False)
    assert seen["guard_options"]["quantize"] == "int8" and seen["guard_options"]["rewrite_config"].batch_size == 8

    res = runner.invoke(app, ["check", "some text", "--ray"])
    assert res.exit_code == 2 and "--ray checks a file" in res.output


def test_cli_ray_without_ray_names_the_extra(monkeypatch, tmp_path):
    from srllm.cli import app

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": "fine"}])
    res = runner.invoke(app, ["check", "-i", str(src), "-o", str(tmp_path / "o.jsonl"), "--ray"])
    assert res.exit_code == 2 and "pip install 'srllm[ray]'" in res.output and "Traceback" not in res.output
