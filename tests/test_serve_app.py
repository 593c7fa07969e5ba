"""The `srllm serve` app in-process (FastAPI's TestClient), with test doubles for the models: a word-list detector
and scripted LLMs. Seconds to run; tests/test_serve.py runs the same server as real processes (marked slow).
The last test uses the real embedded detector (slow)."""

from __future__ import annotations

import json
import re
import threading

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from srllm.models.backends import GenerationBackend
from srllm.schema import Span, Verdict
from srllm.serve import ServeConfig, create_app
from srllm.taxonomy import default_taxonomy
from tests._serve import assert_error

KEY = "k1"
AUTH = {"Authorization": f"Bearer {KEY}"}
INSULTS = {"idiot", "stupid"}
THREATS = {"kill"}


class WordDetector:
    """Flags toxicity.insult for INSULTS and toxicity.threat for THREATS; every rewrite keeps the meaning."""

    categories = ["toxicity.insult", "toxicity.threat"]
    thresholds = {"toxicity.insult": 0.5, "toxicity.threat": 0.5}
    taxonomy = default_taxonomy()

    def predict(self, texts, *, spans=False):
        out = []
        for t in texts:
            words = set(re.findall(r"\w+", t.lower()))
            probs = {"toxicity.insult": 0.9 if words & INSULTS else 0.1,
                     "toxicity.threat": 0.9 if words & THREATS else 0.1}
            flagged = [c for c, p in probs.items() if p >= 0.5]
            found = [Span(start=m.start(), end=m.end(), text=m.group(), score=0.8, category="toxicity.insult")
                     for m in re.finditer(r"\w+", t) if m.group().lower() in INSULTS] if spans else []
            out.append(Verdict(unsafe=bool(flagged), categories=probs, flagged=flagged,
                               severity="medium" if flagged else "none", spans=found))
        return out

    def is_unsafe(self, texts):
        return np.array([v.unsafe for v in self.predict(texts)])

    def similarity(self, a, b):
        return np.full(len(a), 0.9)


class Reply(GenerationBackend):
    """Answers every conversation with `reply`; streams it word by word. `gate`, when given, holds every call
    until it is set (to saturate the server)."""

    name = "reply"

    def __init__(self, reply: str, gate: threading.Event | None = None):
        self.reply, self.gate, self.calls = reply, gate, 0
        self.entered = threading.Event()

    def generate(self, conversations, config=None):
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(30)
        return [self.reply for _ in conversations]

    def stream(self, conversation, config=None):
        yield from re.findall(r"\S+\s*", self.generate([conversation], config)[0])


class ReadyClient(TestClient):
    """A TestClient whose `with` block starts once the models are loaded (they load in a background thread)."""

    def __enter__(self):
        super().__enter__()
        if not self.app.state.srllm.engines.ready.wait(60):
            raise TimeoutError(f"not ready: {self.get('/ready').json()}")
        return self


def client(config: ServeConfig | None = None, reply: str = "you are wrong.", **kw) -> ReadyClient:
    config = config or ServeConfig(api_key=[KEY], max_batch=4, max_chars=200, max_body_bytes=5000)
    return ReadyClient(create_app(config, detector=WordDetector(), backend=Reply(reply), **kw))


@pytest.fixture(scope="module")
def app():
    with client() as c:
        yield c


def test_health_ready_metrics_and_docs_are_open(app):
    assert app.get("/health").json() == {"status": "ok"}
    assert app.get("/ready").json()["status"] == "ready"
    assert "srllm_requests_total" in app.get("/metrics").text
    assert "/v1/check" in app.get("/openapi.json").json()["paths"]
    assert app.get("/docs").status_code == 200


def test_the_api_key_is_required(app):
    assert_error(app.post("/v1/check", json={"text": "hi"}), 401, "API key")
    assert_error(app.post("/v1/check", json={"text": "hi"}, headers={"Authorization": "Bearer nope"}), 401)
    taxonomy = app.get("/v1/taxonomy", headers=AUTH).json()
    assert "toxicity.insult" in {c["id"] for c in taxonomy["categories"]}
    assert taxonomy["detector"]["thresholds"]["toxicity.insult"] == 0.5


def test_check_one_text_detects_and_rewrites(app):
    resp = app.post("/v1/check", json={"text": "you are a stupid idiot"}, headers=AUTH)
    assert resp.status_code == 200, resp.text
    r = resp.json()
    assert set(r) == {"id", "text", "unsafe", "categories", "severity", "spans", "output", "action", "similarity",
                      "reason"}  # the fields of `srllm check`
    assert (r["unsafe"], r["output"], r["action"]) == (True, "you are wrong.", "rewritten")
    assert [s["text"] for s in r["spans"]] == ["stupid", "idiot"]


def test_check_batch_detection_only_with_ids(app):
    resp = app.post("/v1/check", headers=AUTH, json={"texts": ["you idiot", "the team meets at noon"],
                                                     "ids": ["a", "b"], "rewrite": False, "spans": False})
    assert resp.status_code == 200, resp.text
    bad, good = resp.json()["results"]
    assert (bad["id"], bad["unsafe"], bad["output"], bad["action"], bad["spans"]) == ("a", True, "you idiot",
                                                                                     "kept", [])
    assert (good["id"], good["unsafe"], good["action"]) == ("b", False, "kept")


def test_check_answers_what_the_python_api_answers(app):
    """The server is a shell over Guard.check: the same results for the same models."""
    from srllm.guard import Guard

    texts = ["you idiot", "the team meets at noon"]
    expected = [r.model_dump(mode="json") for r in Guard(detector=WordDetector(), backend=Reply("you are wrong."))
                .check(texts)]
    assert app.post("/v1/check", headers=AUTH, json={"texts": texts}).json()["results"] == expected


@pytest.mark.parametrize("body, words", [
    ({}, ["'text'", "'texts'"]),
    ({"text": "a", "texts": ["b"]}, ["not both"]),
    ({"texts": "one string"}, ["texts: ", "list"]),
    ({"texts": ["ok", 3]}, ["texts.1"]),
    ({"text": "x", "rewrite": "maybe"}, ["rewrite: "]),
    ({"text": "x", "colour": "red"}, ["colour"]),
    ({"texts": ["a", "b"], "ids": ["1"]}, ["'ids'"]),
])
def test_bad_check_requests_are_422_naming_the_field(app, body, words):
    assert_error(app.post("/v1/check", json=body, headers=AUTH), 422, *words)


def test_bad_json_and_empty_text_are_4xx_with_a_message(app):
    assert_error(app.post("/v1/check", content=b'{"text": ', headers={**AUTH, "Content-Type": "application/json"}),
                 422, "not valid JSON")
    assert_error(app.post("/v1/check", json=["a list"], headers=AUTH), 422, "JSON object")
    assert_error(app.post("/v1/check", json={"texts": ["fine", "  "]}, headers=AUTH), 422, "texts[1]", "empty")


def test_limits_are_413(app):
    assert_error(app.post("/v1/check", json={"texts": ["a"] * 5}, headers=AUTH), 413, "5 texts", "--max-batch")
    assert_error(app.post("/v1/check", json={"texts": ["a", "b" * 201]}, headers=AUTH), 413, "texts[1]",
                 "--max-chars")
    assert_error(app.post("/v1/check", json={"text": "a" * 6000}, headers=AUTH), 413, "6,011 bytes", "--max-body-bytes")


def test_unknown_paths_and_methods(app):
    assert_error(app.get("/v1/nothing", headers=AUTH), 404, "/v1/nothing")
    assert_error(app.get("/v1/check", headers=AUTH), 405, "GET")


def test_chat_completions_streamed_and_not(app):
    body = {"model": "default", "messages": [{"role": "user", "content": "hello"}]}
    resp = app.post("/v1/chat/completions", json=body, headers=AUTH)
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "you are wrong."}
    assert app.get("/v1/models", headers=AUTH).json()["data"][0]["id"] == answer["model"]
    with app.stream("POST", "/v1/chat/completions", json={**body, "stream": True}, headers=AUTH) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in resp.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[len("data: "):]) for line in lines[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "you are wrong."
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("change, status, words", [
    ({"messages": [{"role": "robot", "content": "hi"}]}, 422, ["messages.0.role"]),
    ({"messages": "hi"}, 422, ["messages"]),
    ({"model": "gpt-9"}, 404, ["gpt-9", "/v1/models"]),
    ({"max_tokens": 100_000}, 400, ["max_tokens", "--max-tokens"]),
    ({"n": 2}, 400, ["n > 1"]),
])
def test_bad_chat_requests(app, change, status, words):
    body = {"model": "default", "messages": [{"role": "user", "content": "hello"}], **change}
    assert_error(app.post("/v1/chat/completions", json=body, headers=AUTH), status, *words)


def test_detection_only_server_refuses_rewrites_and_chat():
    with client(ServeConfig(llm=False)) as c:
        assert c.post("/v1/check", json={"text": "you idiot", "rewrite": False}).json()["unsafe"] is True
        assert_error(c.post("/v1/check", json={"text": "you idiot"}), 400, "--no-llm", '"rewrite": false')
        assert_error(c.post("/v1/chat/completions", json={"model": "default", "messages": [
            {"role": "user", "content": "hi"}]}), 400, "--no-llm")


def test_metrics_count_texts_categories_and_actions():
    with client(ServeConfig()) as c:
        c.post("/v1/check", json={"texts": ["you idiot", "fine day", "I will kill you"]})
        text = c.get("/metrics").text
    assert 'srllm_texts_checked_total{source="check"} 3.0' in text
    assert 'srllm_texts_unsafe_total{category="toxicity.insult",source="check"} 1.0' in text
    assert 'srllm_texts_unsafe_total{category="toxicity.threat",source="check"} 1.0' in text
    assert 'srllm_actions_total{action="rewritten",source="check"} 2.0' in text
    assert 'srllm_request_duration_seconds_count{route="/v1/check"} 1.0' in text
    assert 'srllm_requests_total{method="POST",route="/v1/check",status="200"} 1.0' in text


def test_a_saturated_server_answers_429_with_retry_after():
    gate = threading.Event()
    backend = Reply("you are wrong.", gate=gate)
    app = create_app(ServeConfig(max_concurrency=1, retry_after=3), detector=WordDetector(), backend=backend)
    body = {"model": "default", "messages": [{"role": "user", "content": "hello"}]}
    with ReadyClient(app) as c:
        first = {}
        t = threading.Thread(target=lambda: first.update(r=c.post("/v1/chat/completions", json=body)))
        t.start()
        try:
            assert backend.entered.wait(60)  # the first request holds the only slot, inside the LLM
            busy = c.post("/v1/check", json={"text": "hi", "rewrite": False})
            assert_error(busy, 429, "--max-concurrency")
            assert busy.headers["Retry-After"] == "3"
            assert c.get("/health").status_code == 200  # open paths are never refused
        finally:
            gate.set()
            t.join(60)
        assert first["r"].status_code == 200
        assert c.post("/v1/check", json={"text": "hi", "rewrite": False}).status_code == 200


def test_not_ready_while_loading_is_503():
    app = create_app(ServeConfig(), detector=WordDetector(), backend=Reply("x"))
    c = TestClient(app)  # without `with`: the lifespan (model loading) never starts
    assert c.get("/ready").status_code == 503
    assert_error(c.post("/v1/check", json={"text": "hi", "rewrite": False}), 503, "loading")


# -- the guard proxy, in front of a second app (in-process, over an httpx ASGI transport) --------------------------

UPSTREAM_ANSWER = "The team meets at noon. You are a stupid idiot."


@pytest.fixture(scope="module")
def proxy():
    with client(ServeConfig(), reply=UPSTREAM_ANSWER) as upstream:
        config = ServeConfig(upstream="http://upstream/v1",
                             prompt_actions={"default": "rewrite", "toxicity.threat": "block"},
                             answer_actions={"default": "rewrite"})
        with client(config, reply="you are wrong.",
                    upstream_transport=httpx.ASGITransport(app=upstream.app)) as c:
            yield c


def chat(c, content, **kw):
    return c.post("/v1/chat/completions", json={"model": "default", "messages": [{"role": "user",
                                                                                   "content": content}], **kw})


def test_proxy_rewrites_the_unsafe_sentence_of_the_answer(proxy):
    resp = chat(proxy, "hello there")
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["choices"][0]["message"]["content"] == "The team meets at noon. You are wrong."
    verdicts = answer["srllm"]
    assert verdicts["prompt"]["action"] == "passed"
    assert verdicts["answer"]["action"] == "rewritten"
    assert verdicts["answer"]["flagged"] == ["toxicity.insult"]


def test_proxy_blocks_a_threat_and_rewrites_an_insult_in_the_prompt(proxy):
    blocked = chat(proxy, "I will kill you").json()
    assert blocked["choices"][0]["finish_reason"] == "content_filter"
    assert "blocked" in blocked["choices"][0]["message"]["content"]
    assert "toxicity.threat" in blocked["choices"][0]["message"]["content"]
    assert blocked["srllm"]["prompt"]["action"] == "blocked"
    rewritten = chat(proxy, "you stupid bot").json()["srllm"]["prompt"]
    assert (rewritten["action"], rewritten["forwarded"]) == ("rewritten", "you are wrong.")


def test_proxy_streams_the_same_answer(proxy):
    with proxy.stream("POST", "/v1/chat/completions", json={
            "model": "default", "stream": True, "messages": [{"role": "user", "content": "hello"}]}) as resp:
        assert resp.status_code == 200
        lines = [line for line in resp.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[len("data: "):]) for line in lines[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == \
        "The team meets at noon. You are wrong."
    assert chunks[-1]["srllm"]["answer"]["action"] == "rewritten"


def test_unreachable_upstream_is_502_with_the_url():
    config = ServeConfig(llm=False, upstream="http://127.0.0.1:9/v1", prompt_actions={"default": "flag"},
                         answer_actions={"default": "flag"})
    with client(config) as c:
        assert_error(chat(c, "hello"), 502, "127.0.0.1:9")


# -- the real embedded detector ------------------------------------------------------------------------------------

@pytest.mark.slow
def test_real_embedded_detector_over_http():
    with ReadyClient(create_app(ServeConfig(llm=False))) as c:
        resp = c.post("/v1/check", json={"texts": ["you are a stupid idiot", "the team meets at noon"],
                                         "rewrite": False})
        assert resp.status_code == 200, resp.text
        bad, good = resp.json()["results"]
        assert bad["unsafe"] and bad["spans"]
        assert all(s["text"] in ("stupid", "idiot", "stupid idiot") for s in bad["spans"])
        assert not good["unsafe"]
