"""`srllm review`: the review store (decisions saved, resume, export, bad input), its HTTP API in-process, and the
page in headless Chromium driven with the keyboard against a real `srllm review` process on loopback."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srllm.cli import app
from srllm.data.review import ReviewStore, export_reviewed, load_items
from srllm.errors import SrllmDataError

SRC = Path(__file__).resolve().parent.parent / "src"

RECORDS = [
    {"id": "r1", "text": "Women are too emotional to lead a team.", "bias": "high", "categories": ["bias.gender"],
     "biased_words": ["emotional"], "rewrite": "Whether someone can lead a team depends on the person.",
     "rationale": "A generalisation about women.", "source": "annotate", "split": "train"},
    {"id": "r2", "text": "The team meets at noon.", "bias": "none", "toxicity": "none"},
    {"id": "r3", "text": "you are a stupid idiot", "toxicity": "high", "categories": ["toxicity.insult"],
     "biased_words": ["stupid", "idiot"], "rewrite": "you are wrong"},
    {"id": "r4", "text": "Old people can't use phones.", "bias": "slight", "categories": ["bias.age"],
     "biased_words": ["Old people"], "rewrite": "Some people find phones hard to use."},
]
CHECKED = {"id": "c1", "text": "you are a stupid idiot", "unsafe": True, "categories": {"toxicity": 0.97, "bias": 0.1},
           "severity": "high", "spans": [{"start": 10, "end": 16, "text": "stupid", "score": 0.4}],
           "output": "you are wrong", "action": "rewritten", "similarity": 0.81}


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def cmd(tmp_path) -> Path:
    return write_jsonl(tmp_path / "cmd.jsonl", RECORDS)


# --- the store -------------------------------------------------------------------------------------------------------

def test_each_decision_is_saved_at_once_and_a_new_session_resumes_at_the_first_unreviewed(cmd):
    store = ReviewStore(cmd, reviewer="ana")
    assert store.out == cmd.with_name("cmd.review.jsonl") and not store.out.exists()
    assert store.first_unreviewed() == 0
    store.decide(0, "accept")
    assert [e["decision"] for e in read_jsonl(store.out)] == ["accepted"]
    store.decide(2, "reject")
    entries = read_jsonl(store.out)
    assert [(e["id"], e["line"], e["decision"]) for e in entries] == [("r1", 1, "accepted"), ("r3", 3, "rejected")]
    assert {e["reviewer"] for e in entries} == {"ana"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", e["time"]) for e in entries)
    assert not list(cmd.parent.glob("*.tmp"))  # atomic writes leave no temporary files

    again = ReviewStore(cmd, reviewer="bo")  # the page re-opened: decisions read back, start at record 2
    assert again.counts() == {"total": 4, "reviewed": 2, "accepted": 1, "corrected": 0, "rejected": 1}
    assert again.first_unreviewed() == 1
    again.decide(1, "accept")
    again.decide(3, "accept")
    assert again.first_unreviewed() is None
    assert [e["id"] for e in read_jsonl(again.out)] == ["r1", "r2", "r3", "r4"]  # one line per record, file order


def test_a_correction_keeps_only_the_fields_that_changed_and_a_new_decision_replaces_the_old(cmd):
    store = ReviewStore(cmd, reviewer="ana")
    entry = store.decide(0, "save", {"rewrite": "Anyone can lead a team.", "bias": "high",
                                     "categories": ["bias.gender"], "biased_words": ["too emotional"]})
    assert entry["decision"] == "corrected"
    assert entry["fields"] == {"rewrite": "Anyone can lead a team.", "biased_words": ["too emotional"]}
    assert store.current(store.items[0])["rewrite"] == "Anyone can lead a team."
    assert store.decide(0, "accept")["fields"] == entry["fields"]  # accepting keeps the correction shown
    assert store.decide(1, "save", {"bias": "none"})["decision"] == "accepted"  # saved unchanged: accepted
    assert store.decide(1, "save", {"bias": ""})["fields"] == {"bias": None}  # cleared label
    store.decide(0, "reject")
    assert store.counts()["rejected"] == 1 and "fields" not in store.reviews["r1"]
    assert len(read_jsonl(store.out)) == 2
    with pytest.raises(SrllmDataError, match="field 'bias'.*'very'"):
        store.decide(2, "save", {"bias": "very"})
    with pytest.raises(SrllmDataError, match="cannot correct text"):
        store.decide(2, "save", {"text": "something else"})
    assert "r3" not in store.reviews and len(read_jsonl(store.out)) == 2  # a refused correction saves nothing


def test_export_merges_corrections_drops_rejections_and_keeps_unreviewed_unless_asked(cmd, tmp_path):
    store = ReviewStore(cmd)
    store.decide(0, "save", {"rewrite": "Anyone can lead a team."})
    store.decide(1, "reject")
    store.decide(2, "accept")
    stats = export_reviewed(cmd, tmp_path / "out.jsonl")
    assert (stats.kept, stats.corrected, stats.rejected, stats.unreviewed) == (3, 1, 1, 1)
    out = read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in out] == ["r1", "r3", "r4"]
    assert out[0] == {**RECORDS[0], "rewrite": "Anyone can lead a team."}
    assert out[1:] == [RECORDS[2], RECORDS[3]]
    stats = export_reviewed(cmd, tmp_path / "reviewed.jsonl", reviewed_only=True)
    assert [r["id"] for r in read_jsonl(tmp_path / "reviewed.jsonl")] == ["r1", "r3"] and stats.kept == 2


def test_check_results_are_reviewed_by_their_output_and_exported_in_their_own_shape(tmp_path):
    path = write_jsonl(tmp_path / "checked.jsonl", [CHECKED, {**CHECKED, "id": "c2", "text": "fine text",
                                                              "unsafe": False, "output": "fine text",
                                                              "action": "kept", "spans": []}])
    store = ReviewStore(path)
    item = store.items[0]
    assert item.kind == "check" and item.spans() == [{"start": 10, "end": 16, "text": "stupid"}]
    store.decide(0, "save", {"output": "you are mistaken", "unsafe": True, "severity": "medium"})
    store.decide(1, "accept")
    export_reviewed(path, tmp_path / "out.jsonl")
    out = read_jsonl(tmp_path / "out.jsonl")
    assert out[0] == {**CHECKED, "output": "you are mistaken", "severity": "medium"} and out[1]["id"] == "c2"


def test_records_without_ids_get_line_based_ids_and_biased_words_are_found_in_the_text(tmp_path):
    path = write_jsonl(tmp_path / "noid.jsonl", [{"text": "Old people and old habits."},
                                                 {"text": "Old people and old habits.", "biased_words": ["old"]}])
    items = load_items(path)
    assert items[0].id != items[1].id and items[1].id.startswith("L2-")
    assert [s["text"] for s in items[1].spans()] == ["Old", "old"]


@pytest.mark.parametrize("lines, message", [
    ([RECORDS[0], "{not json"], r"bad\.jsonl, line 2"),
    ([RECORDS[0], {**RECORDS[1], "bias": "extreme"}], r"bad\.jsonl, line 2, field 'bias'.*'extreme'"),
    ([RECORDS[0], {"id": "x", "bias": "high"}], r"bad\.jsonl, line 2, field 'text'"),
    ([RECORDS[0], {**RECORDS[1], "colour": "red"}], r"bad\.jsonl, line 2, field 'colour'"),
    ([RECORDS[0], {**CHECKED, "severity": 3}], r"bad\.jsonl, line 2, field 'severity'.*srllm check"),
    ([RECORDS[0], RECORDS[0]], r"bad\.jsonl, line 2, field 'id'.*also on line 1"),
    ([], r"bad\.jsonl: no records"),
])
def test_bad_input_is_an_error_naming_file_line_and_field(tmp_path, lines, message):
    path = write_jsonl(tmp_path / "bad.jsonl", lines)
    with pytest.raises(SrllmDataError, match=message):
        ReviewStore(path)


def test_a_review_of_a_text_that_changed_since_is_refused(cmd):
    ReviewStore(cmd).decide(0, "accept")
    write_jsonl(cmd, [{**RECORDS[0], "text": "Men are too emotional to lead a team."}, *RECORDS[1:]])
    with pytest.raises(SrllmDataError, match=r"cmd\.review\.jsonl, line 1, field 'text_id'.*--out"):
        ReviewStore(cmd)


def test_cli_export_and_bad_input_exit_code(cmd, tmp_path):
    ReviewStore(cmd).decide(1, "reject")
    runner = CliRunner()
    res = runner.invoke(app, ["review", str(cmd), "--export", str(tmp_path / "out.jsonl")])
    assert res.exit_code == 0, res.output
    assert "wrote 3 records" in res.output and "dropped 1 rejected" in res.output
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["r1", "r3", "r4"]
    bad = write_jsonl(tmp_path / "bad.jsonl", [RECORDS[0], {**RECORDS[1], "bias": "extreme"}])
    res = runner.invoke(app, ["review", str(bad), "--no-open"])
    assert res.exit_code == 2 and "line 2" in res.output and "bias" in res.output and "Traceback" not in res.output


# --- the HTTP API, in-process ----------------------------------------------------------------------------------------

def test_http_api(cmd):
    from fastapi.testclient import TestClient

    from srllm.data.review import create_review_app

    client = TestClient(create_review_app(ReviewStore(cmd, reviewer="ana")))
    page = client.get("/")
    assert page.status_code == 200 and "srllm review" in page.text
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)  # self-contained: nothing from a CDN
    state = client.get("/api/state").json()
    assert state["counts"]["total"] == 4 and state["start"] == 0
    rec = client.get("/api/records/0").json()
    assert rec["spans"] == [{"start": 14, "end": 23, "text": "emotional"}]
    assert rec["rewrite_field"] == "rewrite" and rec["rationale"] == "A generalisation about women."
    assert rec["review"] is None and rec["labels"]["bias"] == "high"

    r = client.post("/api/records/0", json={"action": "accept"}).json()
    assert r["record"]["review"]["decision"] == "accepted" and r["state"]["start"] == 1
    r = client.post("/api/records/1", json={"action": "save", "fields": {"rewrite": "We meet at noon."}})
    assert r.json()["record"]["values"]["rewrite"] == "We meet at noon."
    assert r.json()["state"]["counts"] == {"total": 4, "reviewed": 2, "accepted": 1, "corrected": 1, "rejected": 0}
    assert read_jsonl(cmd.with_name("cmd.review.jsonl"))[1]["fields"] == {"rewrite": "We meet at noon."}

    r = client.post("/api/records/2", json={"action": "save", "fields": {"harm": "enormous"}})
    assert r.status_code == 422 and r.json()["field"] == "harm" and "line 3" in r.json()["detail"]
    assert client.post("/api/records/2", json={"action": "approve"}).status_code == 422
    assert client.get("/api/records/4").status_code == 404
    assert client.post("/api/records/-1", json={"action": "accept"}).status_code == 404


# --- the page in headless Chromium, as a person uses it ------------------------------------------------------------

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "chromium-headless-shell"))
                 if p), None)


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    return sync_playwright


class ReviewServer:
    """`srllm review FILE --port 0` in a real process on loopback; the URL is read from its output."""

    def __init__(self, args: list[str], log: Path):
        env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        self.log_path = log
        self._log = log.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "srllm.cli", "review", *args, "--host", "127.0.0.1",
                                      "--port", "0", "--no-open", "--reviewer", "tester"],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=env)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            m = re.search(r"review page: (http://127\.0\.0\.1:\d+/)", log.read_text())
            if m:
                self.url = m.group(1)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("srllm review did not start:\n" + log.read_text())

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (Debian `chromium`; scripts/setup.sh --dev tries to "
                    "install it)")
@pytest.mark.skipif(_playwright() is None, reason="playwright is not installed (pip install -e '.[dev]')")
def test_review_page_in_headless_chromium_with_the_keyboard(cmd, tmp_path):
    review_file = cmd.with_name("cmd.review.jsonl")
    server = ReviewServer([str(cmd)], tmp_path / "server.log")
    try:
        with _playwright()() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(server.url)
            page.wait_for_selector("body[data-ready='1']")
            position = page.locator("#position")
            assert position.inner_text() == "record 1 of 4"
            assert page.locator("#text mark").all_inner_texts() == ["emotional"]
            assert page.locator("#progress").inner_text() == "reviewed 0 / 4"

            page.keyboard.press("a")  # accept record 1: the page moves on to record 2
            page.wait_for_function("document.getElementById('position').textContent === 'record 2 of 4'")
            page.keyboard.press("r")  # reject record 2
            page.wait_for_function("document.getElementById('position').textContent === 'record 3 of 4'")
            assert page.locator("#text mark").all_inner_texts() == ["stupid", "idiot"]

            page.keyboard.press("e")  # edit record 3: rewrite and a label, then Ctrl+Enter
            rewrite = page.locator("#edit-rewrite")
            assert rewrite.is_visible() and rewrite.evaluate("el => el === document.activeElement")
            page.keyboard.press("Control+a")
            page.keyboard.type("you are mistaken")
            page.keyboard.press("Tab")  # the first label after the rewrite box: bias
            assert page.evaluate("document.activeElement.id") == "edit-bias"
            page.select_option("#edit-bias", "slight")
            page.keyboard.press("Control+Enter")
            page.wait_for_function("document.getElementById('position').textContent === 'record 4 of 4'")
            assert page.locator("#progress").inner_text() == "reviewed 3 / 4"
            counts = {d: page.locator(f"#n-{d}").inner_text() for d in ("accepted", "corrected", "rejected")}
            assert counts == {"accepted": "1", "corrected": "1", "rejected": "1"}

            entries = read_jsonl(review_file)  # on disk already, before the server stops
            assert [(e["id"], e["decision"]) for e in entries] == [("r1", "accepted"), ("r2", "rejected"),
                                                                   ("r3", "corrected")]
            assert entries[2]["fields"] == {"rewrite": "you are mistaken", "bias": "slight"}
            assert {e["reviewer"] for e in entries} == {"tester"}

            page.keyboard.press("k")  # back to record 3: it shows the correction
            page.wait_for_function("document.getElementById('position').textContent === 'record 3 of 4'")
            assert page.locator("#status").inner_text() == "corrected"
            assert page.locator("#rewrite").inner_text() == "you are mistaken"

            page.goto(server.url)  # re-opened: resumes at the first record not reviewed
            page.wait_for_selector("body[data-ready='1']")
            assert position.inner_text() == "record 4 of 4"
            assert page.locator("#progress").inner_text() == "reviewed 3 / 4"
            browser.close()
    finally:
        server.stop()
    assert len(read_jsonl(review_file)) == 3
