"""`srllm serve` as real processes on loopback (no mocked HTTP): the production basics, the OpenAI-compatible
endpoint through the official `openai` client, and the guard proxy in front of a second real `srllm serve`.

Four servers start together (the detector is real: MiniLM and the shipped heads; the LLMs are tiny Llamas built
in the test, tests/_serve.py make_parrot_llm, so their answers are known):
- `local`: srllm's own model endpoint; its LLM always answers "you are wrong ." (and so rewrites
  "you are a stupid idiot ." into it); an API key, small limits (2 requests at once, 20 kB bodies, 4 texts).
- `upstream`: an LLM that answers "the team meets at noon ! you are a stupid idiot ." (--log-texts).
- `proxy`: the guard proxy in front of `upstream`, rewriting with the same polite LLM as `local`;
  profanity in a prompt is blocked, anything else flagged ("you are a stupid person .") is rewritten.
- `blackhole`: a detection-only proxy whose upstream accepts connections and never answers (504); the last test
  stops it with SIGTERM in the middle of a request (graceful shutdown).
"""

from __future__ import annotations

import json
import re
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import httpx
import pytest

from tests._serve import PARROT_ANSWER, assert_error, make_parrot_llm, start

pytestmark = pytest.mark.slow

KEY = "test-key-1"
AUTH = {"Authorization": f"Bearer {KEY}"}
POLITE = "you are wrong ."
INSULT = "you are a stupid idiot ."
RUDE = "you are a stupid person ."  # toxic, but no profanity (the shipped detector calls "stupid idiot" profanity)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    polite, insulting = make_parrot_llm(tmp / "polite", POLITE), make_parrot_llm(tmp / "insulting")
    rewrite_yaml = tmp / "rewrite.yaml"
    rewrite_yaml.write_text("similarity_threshold: 0.4\n")  # 'you are wrong .' keeps 0.48 of the insult's meaning
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(8)  # the kernel accepts connections; nobody ever reads or answers
    common = ["--adapter", "none", "--rewrite-config", str(rewrite_yaml)]
    started = {}
    try:
        started["local"] = start(["--model", str(polite), *common, "--api-key", KEY, "--max-concurrency", "2",
                                  "--max-body-bytes", "20000", "--max-batch", "4"], tmp / "local.log")
        started["upstream"] = start(["--model", str(insulting), *common, "--log-texts"], tmp / "upstream.log")
        started["blackhole"] = start(["--no-llm", "--upstream", f"http://127.0.0.1:{blackhole.getsockname()[1]}/v1",
                                      "--upstream-timeout", "2", "--prompt-action", "default=flag",
                                      "--answer-action", "default=flag"], tmp / "blackhole.log")
        started["proxy"] = start(["--model", str(polite), *common, "--upstream", started["upstream"].url + "/v1",
                                  "--prompt-action", "default=rewrite", "--prompt-action", "toxicity.profanity=block"],
                                 tmp / "proxy.log")
        for server in started.values():
            server.wait_ready()
        yield started
    finally:
        for server in started.values():
            server.terminate()
        blackhole.close()


def post(server, path, body, headers=AUTH, **kw):
    return httpx.post(server.url + path, json=body, headers=headers, timeout=120, **kw)


# -- the guard endpoints ----------------------------------------------------------------------------------------

def test_open_paths_need_no_key(servers):
    local = servers["local"]
    assert httpx.get(local.url + "/health").json() == {"status": "ok"}
    assert httpx.get(local.url + "/ready").json()["status"] == "ready"
    assert "srllm_requests_total" in httpx.get(local.url + "/metrics").text
    assert "/v1/chat/completions" in httpx.get(local.url + "/openapi.json").json()["paths"]


def test_api_key_is_required(servers):
    local = servers["local"]
    assert_error(httpx.get(local.url + "/v1/taxonomy"), 401, "API key")
    assert_error(httpx.get(local.url + "/v1/taxonomy", headers={"Authorization": "Bearer wrong"}), 401)
    resp = httpx.get(local.url + "/v1/taxonomy", headers=AUTH)
    assert resp.status_code == 200
    assert "toxicity.insult" in resp.json()["detector"]["thresholds"]


def test_check_detection_only(servers):
    resp = post(servers["local"], "/v1/check", {"texts": [INSULT, "the team meets at noon"], "rewrite": False,
                                                "ids": ["a", "b"]})
    assert resp.status_code == 200, resp.text
    bad, good = resp.json()["results"]
    assert set(bad) == {"id", "text", "unsafe", "categories", "severity", "spans", "output", "action", "similarity",
                        "reason"}  # the fields of `srllm check`
    assert (bad["id"], bad["unsafe"], bad["output"]) == ("a", True, INSULT)
    assert any(s["text"] == "stupid idiot" for s in bad["spans"])
    assert (good["id"], good["unsafe"], good["action"]) == ("b", False, "kept")


def test_check_rewrites_with_the_llm(servers):
    resp = post(servers["local"], "/v1/check", {"text": INSULT})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["action"], resp.json()["output"]) == ("rewritten", POLITE)


def test_concurrent_checks_each_get_their_own_answer(servers):
    texts = [f"the team meets at noon on day {i}" if i % 2 else f"you are a stupid idiot number {i}"
             for i in range(8)]
    with ThreadPoolExecutor(2) as pool:  # the server takes 2 at once (--max-concurrency 2)
        answers = list(pool.map(lambda t: post(servers["local"], "/v1/check", {"text": t, "rewrite": False}), texts))
    assert [a.status_code for a in answers] == [200] * 8
    assert [(a.json()["text"], a.json()["unsafe"]) for a in answers] == [(t, i % 2 == 0) for i, t in enumerate(texts)]


def test_bad_input_is_a_4xx_with_a_message(servers):
    local = servers["local"]
    resp = httpx.post(local.url + "/v1/check", content=b'{"text": "unclosed', timeout=60,
                      headers={**AUTH, "Content-Type": "application/json"})
    assert_error(resp, 422, "not valid JSON")
    assert_error(post(local, "/v1/check", {"txt": "typo"}), 422, "txt")
    assert_error(post(local, "/v1/check", {"text": 42}), 422, "text")
    assert_error(post(local, "/v1/check", {"text": "  "}), 422, "empty")
    assert_error(post(local, "/v1/check", {"text": "a", "texts": ["b"]}), 422, "either")
    assert_error(post(local, "/v1/chat/completions", {"model": "default", "messages": []}), 422, "messages")
    assert_error(post(local, "/v1/chat/completions", {"model": "default", "messages": [{"role": "robot"}]}), 422,
                 "role")
    assert_error(post(local, "/v1/chat/completions", {"model": "default", "max_tokens": 100000,
                                                      "messages": [{"role": "user", "content": "hi"}]}), 400,
                 "max_tokens")
    assert_error(post(local, "/v1/chat/completions", {"model": "gpt-9", "messages": [{"role": "user",
                                                                                     "content": "hi"}]}), 404,
                 "gpt-9")
    assert_error(httpx.get(local.url + "/v1/nothing", headers=AUTH), 404, "/v1/nothing")


def test_oversize_requests_get_413(servers):
    local = servers["local"]
    assert_error(post(local, "/v1/check", {"text": "x " * 20_000}), 413, "20,000")  # Content-Length over the limit
    chunked = (b'{"text": "' + b"y" * 1000 for _ in range(30))  # no Content-Length: counted as it arrives
    assert_error(httpx.post(local.url + "/v1/check", content=chunked, timeout=60,
                            headers={**AUTH, "Content-Type": "application/json"}), 413, "too large")
    assert_error(post(local, "/v1/check", {"texts": ["a", "b", "c", "d", "e"]}), 413, "--max-batch")


def _partial_request(url: str, body: bytes) -> socket.socket:
    """A POST /v1/check whose body is still on its way: the server holds it in flight."""
    parsed = urlparse(url)
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout=120)
    head = (f"POST /v1/check HTTP/1.1\r\nHost: {parsed.netloc}\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    sock.sendall(head.encode() + body[:5])
    return sock


def _finish(sock: socket.socket, body: bytes) -> tuple[int, dict]:
    sock.sendall(body[5:])
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


def _gauge(server, name: str) -> float:
    m = re.search(rf"^{name} (\S+)$", httpx.get(server.url + "/metrics").text, re.M)
    return float(m.group(1)) if m else 0.0


def _wait_for(condition, what: str, timeout: float = 60):
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.05)


def test_saturated_server_answers_429_with_retry_after(servers):
    local = servers["local"]
    body = json.dumps({"text": "the team meets at noon", "rewrite": False}).encode()
    held = [_partial_request(local.url, body) for _ in range(2)]  # --max-concurrency 2
    try:
        _wait_for(lambda: _gauge(local, "srllm_requests_in_flight") == 2, "2 requests in flight")
        resp = post(local, "/v1/check", {"text": "one more", "rewrite": False})
        assert_error(resp, 429, "--max-concurrency")
        assert resp.headers["Retry-After"] == "1"
    finally:
        answers = [_finish(sock, body) for sock in held]
    assert [status for status, _ in answers] == [200, 200]  # the held requests were served
    assert post(local, "/v1/check", {"text": "one more", "rewrite": False}).status_code == 200


def test_logs_are_json_with_request_ids_and_no_texts(servers):
    local, upstream = servers["local"], servers["upstream"]
    marker = "zebras gallop over the marker hill"
    resp = post(local, "/v1/check", {"text": marker, "rewrite": False}, headers={**AUTH, "X-Request-ID": "req-42"})
    assert resp.headers["X-Request-ID"] == "req-42"
    _wait_for(lambda: any(r.get("request_id") == "req-42" for r in local.log_records()), "the request's log line")
    records = local.log_records()
    assert all("raw" not in r for r in records), [r for r in records if "raw" in r][:3]
    line = next(r for r in records if r.get("request_id") == "req-42")
    assert (line["path"], line["status"], line["level"]) == ("/v1/check", 200, "info")
    assert marker not in "\n".join(local.log_lines())  # not logged without --log-texts
    post(upstream, "/v1/check", {"text": marker, "rewrite": False}, headers={})
    _wait_for(lambda: marker in "\n".join(upstream.log_lines()), "the text in the --log-texts log")


def test_metrics_count_texts_categories_and_batches(servers):
    local = servers["local"]
    post(local, "/v1/check", {"text": INSULT, "rewrite": False})
    text = httpx.get(local.url + "/metrics").text
    assert re.search(r'srllm_texts_unsafe_total\{category="toxicity.insult",source="check"\} [1-9]', text)
    assert re.search(r'srllm_actions_total\{action="rewritten",source="check"\} [1-9]', text)
    assert re.search(r'srllm_batch_items_count\{engine="detector"\} [1-9]', text)
    assert re.search(r'srllm_request_duration_seconds_bucket\{le="\+Inf",route="/v1/check"\} [1-9]', text)


# -- the OpenAI-compatible endpoint -------------------------------------------------------------------------------

def test_openai_client_chat_completion_streamed_and_not(servers):
    import openai

    client = openai.OpenAI(base_url=servers["local"].url + "/v1", api_key=KEY, max_retries=0)
    model = client.models.list().data[0].id
    messages = [{"role": "user", "content": "Say something."}]
    answer = client.chat.completions.create(model=model, messages=messages, max_tokens=20)
    assert answer.choices[0].message.content == POLITE
    pieces = [c.choices[0].delta.content or "" for c in
              client.chat.completions.create(model=model, messages=messages, max_tokens=20, stream=True)]
    assert len([p for p in pieces if p]) > 1 and "".join(pieces) == POLITE  # token by token, the same answer
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=servers["local"].url + "/v1", api_key="wrong", max_retries=0).models.list()


def test_srllm_backend_talks_to_the_server(servers):
    from srllm.models.backends import GenerationConfig, OpenAIBackend

    backend = OpenAIBackend(base_url=servers["local"].url + "/v1", api_key=KEY)  # what `srllm check --base-url` uses
    conversation = [{"role": "user", "content": "hello"}]
    assert backend.generate([conversation, conversation], GenerationConfig(max_new_tokens=20)) == [POLITE, POLITE]
    assert "".join(backend.stream(conversation, GenerationConfig(max_new_tokens=20))) == POLITE


def _prompt_tokens(messages: list[dict]) -> int:
    """The conversation as the server's model reads it: its chat template, encoded without extra special tokens."""
    from tests.conftest import build_tiny_tokenizer

    tok = build_tiny_tokenizer()  # the parrots' tokenizer
    return len(tok(tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True),
                   add_special_tokens=False)["input_ids"])


def test_chat_completions_report_token_usage(servers):
    import openai

    client = openai.OpenAI(base_url=servers["local"].url + "/v1", api_key=KEY, max_retries=0)
    messages = [{"role": "system", "content": "be fine ."}, {"role": "user", "content": "what is the plan ?"}]
    # <|im_start|> system be fine . <|im_end|> <|im_start|> user what(unknown) is the plan ? <|im_end|>
    # <|im_start|> assistant: 16 tokens (the word-level tokenizer drops the line breaks)
    assert _prompt_tokens(messages) == 16
    answer = client.chat.completions.create(model="default", messages=messages, max_tokens=20)
    # "you are wrong ." is 4 tokens, then the end-of-turn token the parrot stops with
    assert answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (16, 5, 21)
    cut = client.chat.completions.create(model="default", messages=messages, max_tokens=2)
    assert cut.choices[0].message.content == "you are" and cut.choices[0].finish_reason == "length"
    assert (cut.usage.prompt_tokens, cut.usage.completion_tokens) == (16, 2)

    chunks = list(client.chat.completions.create(model="default", messages=messages, max_tokens=20, stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.model_dump() == answer.usage.model_dump()
    assert all(c.usage is None for c in chunks[:-1]) and chunks[-2].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]) == POLITE
    plain = list(client.chat.completions.create(model="default", messages=messages, max_tokens=20, stream=True))
    assert all(c.choices and c.usage is None for c in plain)  # no usage unless asked for


# -- the guard proxy -----------------------------------------------------------------------------------------------

def chat(content: str, **kw) -> dict:
    return {"model": "default", "messages": [{"role": "user", "content": content}], "max_tokens": 40, **kw}


def test_proxy_blocks_a_prompt_by_policy(servers):
    resp = post(servers["proxy"], "/v1/chat/completions", chat("damn it ."), headers={})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["choices"][0]["finish_reason"] == "content_filter"
    assert "toxicity.profanity" in body["choices"][0]["message"]["content"]  # the refusal names the category
    assert body["srllm"]["prompt"]["action"] == "blocked" and body["srllm"]["answer"] is None
    assert "damn it" not in "\n".join(servers["upstream"].log_lines())  # never forwarded


def test_proxy_rewrites_a_prompt_and_the_unsafe_answer(servers):
    body = post(servers["proxy"], "/v1/chat/completions", chat(RUDE), headers={}).json()
    assert body["srllm"]["prompt"]["action"] == "rewritten" and body["srllm"]["prompt"]["forwarded"] == POLITE
    _wait_for(lambda: POLITE in "\n".join(servers["upstream"].log_lines()), "the rewritten prompt upstream")
    # upstream answered PARROT_ANSWER: its first sentence is safe and kept, the insult rewritten
    assert PARROT_ANSWER.startswith("the team meets at noon ! ")
    assert body["choices"][0]["message"]["content"] == "the team meets at noon ! " + POLITE
    answer = body["srllm"]["answer"]
    assert answer["action"] == "rewritten" and "toxicity.insult" in answer["flagged"]
    assert [s["action"] for s in answer["sentences"]] == ["passed", "rewritten"]


def test_proxy_streams_sentence_by_sentence(servers):
    import openai

    client = openai.OpenAI(base_url=servers["proxy"].url + "/v1", api_key="none", max_retries=0)
    chunks = list(client.chat.completions.create(**chat("what is the plan ?"), stream=True))
    released = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert released == ["the team meets at noon ! ", POLITE]  # each sentence once checked
    assert chunks[-1].choices[0].finish_reason == "stop"
    report = chunks[-1].model_extra["srllm"]
    assert report["answer"]["action"] == "rewritten" and report["prompt"]["action"] == "passed"
    plain = post(servers["proxy"], "/v1/chat/completions", chat("what is the plan ?"), headers={}).json()
    assert plain["choices"][0]["message"]["content"] == "".join(released)  # streamed or not, the same answer


def test_proxy_passes_the_upstream_usage_on(servers):
    import openai

    client = openai.OpenAI(base_url=servers["proxy"].url + "/v1", api_key="none", max_retries=0)
    messages = chat("what is the plan ?")["messages"]
    expected = (_prompt_tokens(messages), len(PARROT_ANSWER.split()) + 1)  # the upstream's answer and its end token
    answer = client.chat.completions.create(**chat("what is the plan ?"))
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == expected
    chunks = list(client.chat.completions.create(**chat("what is the plan ?"), stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == expected
    assert chunks[-2].model_extra["srllm"]["answer"]["action"] == "rewritten"


def test_proxy_lists_the_upstream_models(servers):
    models = httpx.get(servers["proxy"].url + "/v1/models").json()
    assert models == httpx.get(servers["upstream"].url + "/v1/models").json()


def test_silent_upstream_gives_504(servers):
    for stream in (False, True):
        resp = post(servers["blackhole"], "/v1/chat/completions", chat("hello", stream=stream), headers={})
        assert_error(resp, 504, "did not answer within 2 s")


def test_graceful_shutdown_finishes_the_request_in_flight(servers):
    """Stops the `blackhole` server (the test above is its only other user)."""
    server = servers["blackhole"]
    body = json.dumps({"texts": ["the team meets at noon", INSULT], "rewrite": False}).encode()
    sock = _partial_request(server.url, body)
    _wait_for(lambda: _gauge(server, "srllm_requests_in_flight") == 1, "the request in flight")
    server.proc.send_signal(signal.SIGTERM)
    _wait_for(lambda: any(r.get("message") == "Shutting down" for r in server.log_records()), "the shutdown")
    with pytest.raises(httpx.ConnectError):  # no new connections
        httpx.get(server.url + "/health", timeout=5)
    status, answer = _finish(sock, body)
    assert status == 200 and [r["unsafe"] for r in answer["results"]] == [False, True]
    server.proc.wait(60)
    assert server.proc.returncode in (0, -signal.SIGTERM)
    messages = [r.get("message") for r in server.log_records()]
    assert "Application shutdown complete." in messages


def test_many_concurrent_streams_through_the_proxy(servers):
    def one(_):
        with httpx.stream("POST", servers["proxy"].url + "/v1/chat/completions", json=chat("hi", stream=True),
                          timeout=120) as resp:
            lines = [line for line in resp.iter_lines() if line.startswith("data: ")]
        return resp.status_code, lines[-1]

    results = list(ThreadPoolExecutor(4).map(one, range(4)))
    assert all(status == 200 and last == "data: [DONE]" for status, last in results)
