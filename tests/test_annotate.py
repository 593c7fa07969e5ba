"""`srllm annotate`: parsing and repair of model answers, the retry loop, agreement statistics against reference
values, voting, the endpoint client against a real HTTP stub (JSON-mode fallback, 429 + Retry-After, usage), and
the whole command against real `srllm serve` processes on loopback (a tiny Llama that always answers one JSON
annotation wrapped in prose with a trailing comma): records, kill-and-resume, the server killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from srllm.data.annotate import (
    AnnotateConfig,
    Annotation,
    ChatClient,
    LLMAnnotator,
    annotate_file,
    cohen_kappa,
    combine,
    field_agreement,
    find_spans,
    fleiss_kappa,
    krippendorff_alpha,
    parse_annotation,
    parse_annotators,
)
from srllm.data.annotate.client import RateLimiter, Reply, backoff_delay
from srllm.errors import SrllmConfigError
from srllm.taxonomy import default_taxonomy
from tests._serve import SRC, make_parrot_llm, start

CATS = [c.id for c in default_taxonomy()]
TEXT = "you are a stupid idiot and women cannot drive"
GOOD = {"bias": "high", "toxicity": "mild", "sentiment": "negative", "harm": "low",
        "categories": ["toxicity.insult", "bias.gender"], "biased_words": ["stupid idiot"],
        "rewrite": "I disagree with you.", "rationale": "It insults the reader and generalises about women."}


# -- parsing and repair -----------------------------------------------------------------------------------------

def test_valid_json_parses_unchanged():
    r = parse_annotation(json.dumps(GOOD), TEXT, CATS)
    assert r.error is None and r.repairs == []
    assert r.annotation.model_dump() == GOOD


def test_json_in_prose_with_trailing_commas_and_synonyms_is_repaired():
    raw = ("Sure! Here is the annotation:\n```json\n{\"Bias level\": \"Highly Biased\", \"toxicity\": \"Toxic\", "
           "\"sentiment\": \"neg\", \"harm\": \"none\", \"categories\": [\"gender\", \"insult\", \"aliens\",], "
           "\"biased_words\": \"stupid idiot, banana\", \"rewrite\": \"I disagree.\", \"rationale\": \"rude\",}\n```"
           "\nHope this helps.")
    r = parse_annotation(raw, TEXT, CATS)
    assert r.error is None, r.error
    a = r.annotation
    assert (a.bias, a.toxicity, a.sentiment, a.harm) == ("high", "mild", "negative", "low")
    assert a.categories == ["bias.gender", "toxicity.insult"]  # short names mapped, the unknown one dropped
    assert a.biased_words == ["stupid idiot"]  # a word not in the text is dropped
    text = " ".join(r.repairs)
    for said in ("extracted", "trailing commas", "'Highly Biased' -> 'high'", "aliens", "banana"):
        assert said in text, r.repairs


def test_a_wrong_optional_label_is_dropped_not_re_asked():
    r = parse_annotation('{"bias": "none", "toxicity": "none", "sentiment": "low", "biased_words": ["a", "idiot"]}',
                         TEXT, CATS)
    assert r.annotation.sentiment is None and r.annotation.biased_words == ["idiot"]
    assert any("dropped sentiment 'low'" in x for x in r.repairs)


def test_python_literal_numeric_levels_and_a_cut_off_answer():
    r = parse_annotation("{'bias': 0, 'toxicity': 2, 'sentiment': 'neutral', 'harm': 'low', 'rationale': None}",
                         TEXT, CATS)
    assert (r.annotation.bias, r.annotation.toxicity) == ("none", "high")
    stray = parse_annotation('{"bias": "slight", "toxicity": "none", "rationale": "loaded", "wait until next week?"}',
                             TEXT, CATS)
    assert stray.annotation is not None and stray.annotation.rationale == "loaded"
    cut = parse_annotation('{"bias": "slight", "toxicity": "none", "rationale": "a loaded wor', TEXT, CATS)
    assert cut.annotation is not None and cut.annotation.rationale == "a loaded wor"


@pytest.mark.parametrize("raw, says", [
    ("I cannot annotate this text.", "no JSON object"),
    ('{"bias": "high", "toxicity": "loud", "sentiment": "low"}', "'toxicity'"),
    ('{"bias": "purple", "toxicity": "none"}', "'bias'"),
    ('{"toxicity": "none"}', "'bias': Field required"),
    ('["high", "mild"]', "no JSON object"),
])
def test_hopeless_answers_give_an_error_to_send_back(raw, says):
    r = parse_annotation(raw, TEXT, CATS)
    assert r.annotation is None and says in r.error


class ScriptedClient:
    """Stands in for ChatClient in the retry-loop tests: answers from a script, records what it was sent."""

    def __init__(self, answers):
        self.answers, self.sent, self.retries = list(answers), [], 0

    def complete(self, messages, **kw):
        self.sent.append([dict(m) for m in messages])
        return Reply(self.answers.pop(0), prompt_tokens=100, completion_tokens=20)


def test_retry_appends_the_validation_error_then_succeeds():
    client = ScriptedClient(["no idea", json.dumps(GOOD)])
    res = LLMAnnotator("m", client, guideline="G", categories=CATS, max_tries=3).annotate(TEXT)
    assert res.labels == GOOD and res.tries == 2 and res.error is None
    assert (res.prompt_tokens, res.completion_tokens) == (200, 40)
    second = client.sent[1]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert "no JSON object" in second[-1]["content"] and '"biased_words"' in second[-1]["content"]


def test_hopeless_after_every_try_is_a_recorded_failure():
    client = ScriptedClient(["no", "still no", "never"])
    res = LLMAnnotator("m", client, guideline="G", categories=CATS, max_tries=3).annotate(TEXT)
    assert res.labels is None and res.tries == 3 and "after 3 tries" in res.error and res.raw == "never"


# -- agreement and voting ---------------------------------------------------------------------------------------

def test_cohen_kappa_matches_sklearn():
    from sklearn.metrics import cohen_kappa_score

    a = ["none", "slight", "high", "none", "slight", "slight", "high", "none"]
    b = ["none", "slight", "slight", "none", "high", "slight", "high", "slight"]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa(a, a) == pytest.approx(1.0)


def test_fleiss_kappa_textbook_example():
    # Fleiss (1971) as worked in Wikipedia's "Fleiss' kappa": 10 subjects, 14 raters, 5 categories: 0.210.
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert fleiss_kappa(table) == pytest.approx(0.2099, abs=1e-4)


def test_krippendorff_alpha_textbook_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 coders, 12 units, missing values.
    n = None
    coders = [[1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n], [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
              [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n], [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n]]
    units = list(zip(*coders, strict=True))
    assert krippendorff_alpha(units, level="nominal") == pytest.approx(0.743, abs=1e-3)
    assert krippendorff_alpha(units, level="ordinal") == pytest.approx(0.815, abs=1e-3)
    assert krippendorff_alpha(units, level="interval") == pytest.approx(0.849, abs=1e-3)


def test_field_agreement_picks_the_statistic_by_annotator_count():
    rows = [{"a": "none", "b": "none", "c": "slight"}, {"a": "high", "b": "high", "c": "high"},
            {"a": "slight", "b": "none", "c": None}, {"a": "none", "b": "none", "c": "none"}]
    two = field_agreement(rows, ["a", "b"], "bias")
    assert two["items"] == 4 and two["percent_agreement"] == 0.75 and "cohen_kappa" in two
    three = field_agreement(rows, ["a", "b", "c"], "bias")
    assert three["items"] == 3 and "fleiss_kappa" in three and "krippendorff_alpha_ordinal" in three


def test_vote_majority_ties_and_half_rules():
    a = {**GOOD, "bias": "slight", "categories": ["bias.gender"], "rewrite": "A."}
    b = {**GOOD, "bias": "high", "sentiment": "neutral", "categories": ["bias.gender", "toxicity.insult"],
         "rewrite": "B."}
    v = combine([a, b])
    assert v["bias"] == "high"  # ordinal tie: the more severe label
    assert v["sentiment"] == "negative"  # nominal tie: the first annotator's
    assert v["categories"] == ["bias.gender", "toxicity.insult"]  # named by at least half
    assert v["rewrite"] == "B."  # from the annotator whose bias and toxicity are the vote's
    c = {**a, "sentiment": None}
    v3 = combine([a, b, c])
    assert v3["bias"] == "slight" and v3["categories"] == ["bias.gender"] and v3["rewrite"] == "A."
    assert combine([]) is None


def test_spans_are_offsets_in_the_text():
    spans = find_spans("Stupid people say stupid things", ["stupid", "things", "absent"])
    assert spans == [{"start": 0, "end": 6, "text": "Stupid"}, {"start": 25, "end": 31, "text": "things"}]


def test_annotator_specs():
    cfg = AnnotateConfig(annotator=["llm", "detector", "http://h:1/v1?model=q&temperature=0.5&name=big"],
                         seeds=[1, 2], temperature=0.7)
    specs = parse_annotators(cfg)
    assert [s.name for s in specs] == ["llm@1", "llm@2", "detector", "big"]
    assert (specs[3].base_url, specs[3].model, specs[3].temperature) == ("http://h:1/v1", "q", 0.5)
    with pytest.raises(SrllmConfigError, match="temperature"):
        AnnotateConfig(seeds=[1, 2])
    with pytest.raises(SrllmConfigError, match="use 'llm'"):
        parse_annotators(AnnotateConfig(annotator=["gpt"]))


# -- the endpoint client against a real HTTP stub ---------------------------------------------------------------

def test_backoff_and_rate_limit():
    import random

    rng = random.Random(0)
    delays = [backoff_delay(k, base=1, cap=8, rng=rng) for k in range(6)]
    assert all(2 ** min(k, 3) / 2 <= d <= 2 ** min(k, 3) for k, d in enumerate(delays))
    assert backoff_delay(0, retry_after=7) == 7
    now, slept = [0.0], []
    limiter = RateLimiter(120, clock=lambda: now[0], sleep=slept.append)
    for _ in range(3):
        limiter.acquire()
    assert slept == [0.5, 1.0]  # 120 per minute: one start every 0.5 s


class _Stub(BaseHTTPRequestHandler):
    """An OpenAI-like endpoint that refuses response_format, answers 429 (Retry-After: 3) once, then a JSON
    annotation with usage counts."""

    seen: list[dict] = []
    throttled = False

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(body)
        if "response_format" in body:
            return self._send(400, {"error": {"message": "response_format is not supported"}})
        if not type(self).throttled:
            type(self).throttled = True
            return self._send(429, {"error": {"message": "slow down"}}, {"Retry-After": "3"})
        self._send(200, {"choices": [{"message": {"role": "assistant", "content": json.dumps(GOOD)}}],
                         "usage": {"prompt_tokens": 321, "completion_tokens": 45}})

    def _send(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        for k, v in {"Content-Type": "application/json", "Content-Length": str(len(data)), **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_client_steps_down_json_modes_and_honours_retry_after():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    slept = []
    try:
        client = ChatClient(base_url=f"http://127.0.0.1:{server.server_port}/v1", model="m", max_wait=60,
                            schema={"type": "object"}, sleep=slept.append)
        reply = client.complete([{"role": "user", "content": "hi"}])
    finally:
        server.shutdown()
    assert [b.get("response_format", {}).get("type") for b in _Stub.seen] == ["json_schema", "json_object", None,
                                                                             None]
    assert client.json_mode == "none" and client.retries == 1 and slept == [3.0]
    assert (reply.prompt_tokens, reply.completion_tokens) == (321, 45)
    assert Annotation.model_validate_json(reply.content).bias == "high"


def test_unreachable_endpoint_gives_up_after_max_wait():
    from srllm.errors import SrllmModelError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    client = ChatClient(base_url=f"http://127.0.0.1:{port}/v1", max_wait=0.3, timeout=2)
    t = time.monotonic()
    with pytest.raises(SrllmModelError, match="gave up after 0 s of retries.*Re-run"):
        client.complete([{"role": "user", "content": "hi"}])
    assert client.retries >= 1 and time.monotonic() - t < 10


# -- the command against real srllm serve processes -------------------------------------------------------------

PARROT_JSON = ("Here is the annotation: " + json.dumps(
    {"bias": "Slightly Biased", "toxicity": "mild", "sentiment": "negative", "harm": "low",
     "categories": ["toxicity.insult"], "biased_words": ["idiot"], "rewrite": "you are wrong .",
     "rationale": "It insults someone."})[:-1] + ",}")


class Served:
    """One `srllm serve` of the parrot on a fixed port, which a test may kill and start again."""

    def __init__(self, model: Path, tmp: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.model = model
        self.args = ["--model", str(model), "--adapter", "none", "--port", str(self.port)]
        self.tmp, self.starts = tmp, 0
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.process = None

    def start(self):
        self.starts += 1
        self.process = start(self.args, self.tmp / f"serve{self.starts}.log")
        return self.process


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("annotate")
    s = Served(make_parrot_llm(tmp / "parrot", PARROT_JSON, verbatim=True), tmp)
    try:
        s.start().wait_ready()
        yield s
    finally:
        if s.process:
            s.process.terminate()


def _texts(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({"id": f"t{i}", "text": f"text {i}: you are an idiot number {i}"}) + "\n"
                            for i in range(n)), encoding="utf-8")
    return path


def _cli(*args, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "srllm.cli", "annotate", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _wait_lines(path: Path, n: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and len(path.read_text(encoding="utf-8").splitlines()) >= n:
            return
        time.sleep(0.1)
    raise TimeoutError(f"{path} did not reach {n} lines")


@pytest.mark.slow
def test_annotate_against_a_real_server(served, tmp_path):
    small = _texts(tmp_path / "small.jsonl", 3)
    cfg = AnnotateConfig(out=tmp_path / "small_out.jsonl", base_url=served.url, concurrency=2)
    report = annotate_file(small, cfg)
    records = _lines(cfg.out)
    assert [r["id"] for r in records] == ["t0", "t1", "t2"]
    r0 = records[0]
    assert (r0["bias"], r0["toxicity"], r0["categories"], r0["biased_words"]) == (
        "slight", "mild", ["toxicity.insult"], ["idiot"])
    assert r0["rewrite"] == "you are wrong ." and r0["source"] == "srllm-annotate:llm"
    raw = _lines(tmp_path / "small_out.raw.jsonl")
    text = "text 0: you are an idiot number 0"
    assert raw[0]["spans"] == [{"start": text.index("idiot"), "end": text.index("idiot") + 5, "text": "idiot"}]
    llm = raw[0]["annotators"][0]
    assert llm["tries"] == 1 and any("trailing commas" in x for x in llm["repairs"])
    assert report.summary["records"] == 3 and report.summary["failed"] == 0 and report.annotated == 3
    # the server's usage, summed: each text's prompt as the parrot's chat template renders it, and its answer (one
    # token: the parrot knows it as one) with the end-of-turn token
    from transformers import AutoTokenizer

    from srllm.data.annotate.annotators import _request, load_guideline

    tok = AutoTokenizer.from_pretrained(served.model)
    guideline = load_guideline("v1")[1]
    prompts = [tok.apply_chat_template(
        [{"role": "system", "content": guideline},
         {"role": "user", "content": _request(f"text {i}: you are an idiot number {i}")}],
        tokenize=False, add_generation_prompt=True) for i in range(3)]
    assert report.summary["per_annotator"]["llm"]["prompt_tokens"] == sum(
        len(tok(p, add_special_tokens=False)["input_ids"]) for p in prompts)
    assert report.summary["per_annotator"]["llm"]["completion_tokens"] == 3 * 2
    assert (tmp_path / "small_out.summary.md").read_text().startswith("# Annotation summary")
    assert annotate_file(small, cfg).annotated == 0  # a re-run of a finished job asks nothing


@pytest.mark.slow
def test_annotate_killed_mid_run_then_resumed(served, tmp_path):
    many = _texts(tmp_path / "many.jsonl", 16)
    out = tmp_path / "many_out.jsonl"
    args = (many, "-o", out, "--base-url", served.url, "--concurrency", "1", "--rpm", "240")
    proc = _cli(*args)
    _wait_lines(tmp_path / "many_out.raw.jsonl.partial", 3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _lines(tmp_path / "many_out.raw.jsonl.partial")
    assert 3 <= len(before) < 16 and not out.exists()
    proc = _cli(*args)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert f"{len(before)} already done (resumed)" in stderr
    assert "llm: 16 answered, 0 failed, " in stderr and " completion tokens" in stderr
    ids = [r["id"] for r in _lines(tmp_path / "many_out.raw.jsonl")]
    assert sorted(ids) == sorted(f"t{i}" for i in range(16)) and len(ids) == 16  # nothing lost, nothing twice
    assert [r["id"] for r in _lines(out)] == [f"t{i}" for i in range(16)]  # in input order
    assert not (tmp_path / "many_out.raw.jsonl.partial").exists()


@pytest.mark.slow
def test_server_killed_mid_run_the_job_waits_and_finishes(served, tmp_path):
    texts = _texts(tmp_path / "in.jsonl", 12)
    out = tmp_path / "out.jsonl"
    proc = _cli(texts, "-o", out, "--base-url", served.url, "--concurrency", "2", "--rpm", "240",
                "--max-wait", "120")
    try:
        _wait_lines(tmp_path / "out.raw.jsonl.partial", 3)
        served.process.proc.send_signal(signal.SIGKILL)  # the server dies mid-run
        served.process.terminate()
        time.sleep(1)  # the job meets refused connections and backs off
        served.start()
        _, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    raw = _lines(tmp_path / "out.raw.jsonl")
    assert sorted(r["id"] for r in raw) == sorted(f"t{i}" for i in range(12))  # nothing lost or doubled
    assert all(not r["failed"] for r in raw)
    assert json.loads((tmp_path / "out.summary.json").read_text())["transport_retries_this_run"] >= 1


def test_bad_input_names_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"body": "no text field"}\n', encoding="utf-8")
    proc = _cli(bad, "-o", tmp_path / "o.jsonl", "--base-url", "http://127.0.0.1:9/v1")
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "bad.jsonl, line 2, field 'text'" in " ".join(stderr.split())


@pytest.mark.slow
def test_detector_annotator_prefills_labels(tmp_path):
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(
        ["you are a stupid idiot", "the team meets at noon on friday", "shut up, you worthless moron"])))
    cfg = AnnotateConfig(out=tmp_path / "d_out.jsonl", annotator=["detector"])
    report = annotate_file(src, cfg)
    recs = _lines(cfg.out)
    assert [r["id"] for r in recs] == ["0", "1", "2"]
    words = " ".join(recs[0]["biased_words"]).split()
    assert recs[0]["toxicity"] != "none" and words and set(words) <= {"stupid", "idiot"}
    assert (recs[1]["bias"], recs[1]["toxicity"], recs[1]["categories"]) == ("none", "none", [])
    assert "sentiment" not in recs[0]  # the detector abstains on sentiment
    assert report.summary["records"] == 3 and "agreement" not in report.summary
