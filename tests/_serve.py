"""Real `srllm serve` processes on loopback for the server tests: started as subprocesses on a free port (--port 0;
the port is read from the server's JSON log), their JSON logs kept in a file, stopped with SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

SRC = Path(__file__).resolve().parent.parent / "src"
_RUNNING = re.compile(r"Uvicorn running on (http://[\w.]+:\d+)")


class ServerProcess:
    def __init__(self, args: list[str], log: Path, env: dict | None = None):
        self.log_path = log
        env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               "TOKENIZERS_PARALLELISM": "false", **(env or {})}
        self._log = log.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "srllm.cli", "serve", "--host", "127.0.0.1", "--port", "0",
                                      *args], stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self.url = ""

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def log_records(self) -> list[dict]:
        """The JSON log records (lines that are not JSON are returned as {'raw': line})."""
        out = []
        for line in self.log_lines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"raw": line})
        return out

    def wait_listening(self, timeout: float = 120) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"srllm serve exited with {self.proc.returncode}:\n" + "\n".join(self.log_lines()))
            m = _RUNNING.search(self.log_path.read_text(encoding="utf-8", errors="replace"))
            if m:
                self.url = m.group(1)
                return self.url
            time.sleep(0.1)
        raise TimeoutError("srllm serve did not start listening:\n" + "\n".join(self.log_lines()))

    def wait_ready(self, timeout: float = 300) -> None:
        self.wait_listening()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r = httpx.get(f"{self.url}/ready", timeout=10)
            if r.status_code == 200:
                return
            if r.json().get("status") == "failed":
                raise RuntimeError(f"srllm serve could not load its models: {r.json()}")
            time.sleep(0.25)
        raise TimeoutError("srllm serve did not get ready:\n" + "\n".join(self.log_lines()[-20:]))

    def terminate(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def start(args: list[str], log: Path, env: dict | None = None) -> ServerProcess:
    """A server that is listening (its models may still be loading: call wait_ready)."""
    server = ServerProcess(args, log, env)
    try:
        server.wait_listening()
    except BaseException:
        server.terminate()
        raise
    return server


PARROT_ANSWER = "the team meets at noon ! you are a stupid idiot ."


def make_parrot_llm(path: Path, answer: str = PARROT_ANSWER, *, verbatim: bool = False) -> Path:
    """A tiny Llama (the word-level tokenizer of tests/conftest.py) that answers every chat with `answer`, greedy
    or sampled: an upstream LLM whose answer a test knows (a safe sentence, then an insult the detector flags).
    verbatim=True adds the whole answer to the vocabulary as one token, so any text (a JSON object, repeated
    words) comes back exactly.

    Built, not trained (training takes minutes on a busy CPU): its attention and MLP outputs are zero, so each
    position holds its own token's embedding (one-hot), and the output layer maps each token to the next one of
    the answer: the last prompt token ('assistant') to the answer's first word, and so on, the last word to the
    end-of-turn token. The answer's words must be distinct."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from tests.conftest import build_tiny_tokenizer

    tok = build_tiny_tokenizer()
    if verbatim:
        from tokenizers import AddedToken

        tok.add_tokens([AddedToken(answer, normalized=False, special=False)])
    chain = [tok.convert_tokens_to_ids("assistant")] + tok(answer, add_special_tokens=False)["input_ids"]
    if len(set(chain)) != len(chain):
        raise ValueError(f"the words of the parrot's answer must be distinct: {answer!r}")
    size = len(tok)
    hidden = -(-size // 8) * 8  # one dimension per token, rounded up to whole attention heads of 8
    cfg = LlamaConfig(vocab_size=size, hidden_size=hidden, intermediate_size=8, num_hidden_layers=1,
                      num_attention_heads=hidden // 8, num_key_value_heads=hidden // 8, max_position_embeddings=1024,
                      tie_word_embeddings=False, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                      bos_token_id=tok.bos_token_id)
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.model.embed_tokens.weight.copy_(torch.eye(size, hidden))
        head = torch.zeros(size, hidden)
        head[tok.eos_token_id, :] = 1.0  # any other token: end the turn
        for now, then in zip(chain, chain[1:] + [tok.eos_token_id], strict=True):
            head[:, now] = 0.0
            head[then, now] = 1.0
        model.lm_head.weight.copy_(head * 20)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def assert_error(resp, status, *words):
    """An error answer (from a real server or a TestClient): the status, the OpenAI error shape, and a message
    holding `words` (e.g. the field at fault)."""
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert set(error) == {"message", "type", "code"}
    for word in words:
        assert word in error["message"], error["message"]
