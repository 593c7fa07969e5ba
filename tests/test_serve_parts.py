"""The pieces of `srllm serve` that need no server: micro-batching, the proxy's policy and sentence rule, the
config's checks, and the streaming method of the generation backend."""

from __future__ import annotations

import os
import threading
import time

import pytest

from srllm.errors import SrllmConfigError
from srllm.serve.batching import BatcherClosed, MicroBatcher
from srllm.serve.config import ServeConfig
from srllm.serve.proxy import ActionTable, Screened, SentenceBuffer, split_sentences


class Gate:
    """A batched function that holds its first call until released, so jobs pile up behind it."""

    def __init__(self):
        self.calls, self.release = [], threading.Event()

    def __call__(self, key, items):
        self.calls.append((key, list(items)))
        self.release.wait(30)
        if "boom" in items:
            raise ValueError("boom")
        return [f"{key}:{x}" for x in items]

    def wait_busy(self):
        while not self.calls:
            time.sleep(0.001)


def test_jobs_that_wait_together_share_one_call():
    gate = Gate()
    batcher = MicroBatcher(gate, max_items=100, max_wait=0.0, name="t")
    first = batcher.submit("k", ["a"])
    gate.wait_busy()  # the worker is busy with the first job
    later = [batcher.submit("k", [f"x{i}", f"y{i}"]) for i in range(5)]
    gate.release.set()
    assert first.result(10) == ["k:a"]
    assert [f.result(10) for f in later] == [[f"k:x{i}", f"k:y{i}"] for i in range(5)]
    assert [len(items) for _, items in gate.calls] == [1, 10]  # the five jobs: one call
    batcher.close()


def test_only_jobs_with_the_same_key_share_a_call_and_max_items_caps_a_call():
    gate = Gate()
    batcher = MicroBatcher(gate, max_items=4, max_wait=0.0, name="t")
    batcher.submit("a", ["0"])
    gate.wait_busy()
    futures = [batcher.submit("a" if i % 2 else "b", [str(i)]) for i in range(8)]
    gate.release.set()
    assert [f.result(10) for f in futures] == [[f"{'a' if i % 2 else 'b'}:{i}"] for i in range(8)]
    for key, items in gate.calls[1:]:
        assert len(items) <= 4
        assert all(int(x) % 2 == (key == "a") for x in items)


def test_a_failing_job_fails_alone():
    gate = Gate()
    batcher = MicroBatcher(gate, max_items=100, max_wait=0.0, name="t")
    batcher.submit("k", ["warm"])
    gate.wait_busy()
    good, bad, good2 = (batcher.submit("k", [x]) for x in ("a", "boom", "b"))
    gate.release.set()
    assert good.result(10) == ["k:a"] and good2.result(10) == ["k:b"]
    with pytest.raises(ValueError, match="boom"):
        bad.result(10)


def test_close_finishes_queued_jobs_then_refuses_new_ones():
    gate = Gate()
    batcher = MicroBatcher(gate, max_items=1, max_wait=0.0, name="t")
    futures = [batcher.submit("k", [str(i)]) for i in range(3)]
    gate.release.set()
    batcher.close(10)
    assert [f.result(0) for f in futures] == [["k:0"], ["k:1"], ["k:2"]]
    with pytest.raises(BatcherClosed):
        batcher.submit("k", ["late"])


def test_action_table_takes_the_nearest_entry_and_the_most_severe_action():
    table = ActionTable({"default": "flag", "toxicity": "rewrite", "toxicity.threat": "block", "bias": "pass"})
    assert table.for_category("toxicity.insult") == "rewrite"  # from its parent
    assert table.for_category("toxicity.threat") == "block"
    assert table.for_category("stereotyping") == "flag"  # the default
    assert table.decide(["bias.gender", "toxicity.insult"]) == "rewrite"
    assert table.decide(["toxicity.insult", "toxicity.threat"]) == "block"
    assert table.decide([]) == "pass"
    with pytest.raises(ValueError, match="unknown action"):
        ActionTable({"default": "delete"})


@pytest.mark.parametrize("text", ["One. Two! Three?", "Line one\nLine two\n\n", "No end", "Mr. X said \"hi.\" Then.",
                                  "", "   ", "A…  B"])
def test_sentences_join_back_to_the_text(text):
    sentences, rest = split_sentences(text)
    assert rest == "" and "".join(sentences) == text


def test_split_sentences():
    assert split_sentences("Hello there. How are you?\n\nFine!  ok") == (
        ["Hello there. ", "How are you?\n\n", "Fine!  ", "ok"], "")
    assert split_sentences("Hello there. How are", final=False) == (["Hello there. "], "How are")
    long = "word " * 100
    sentences, rest = split_sentences(long, final=False, max_chars=50)
    assert all(len(s) <= 50 for s in sentences) and "".join(sentences) + rest == long


def test_sentence_buffer_releases_complete_sentences_only():
    buffer = SentenceBuffer()
    out = []
    for piece in ["Hel", "lo there.", " How", " are you? I", "'m fine"]:
        out.append(buffer.feed(piece))
    assert out == [[], [], ["Hello there. "], ["How are you? "], []]
    assert buffer.flush() == ["I'm fine"]


def test_screened_reports_the_most_severe_action():
    s = Screened()
    s.add("Fine. ", "pass", [], "none", None)
    s.add("Better. ", "rewrite", ["toxicity.insult"], "medium", "rewritten")
    s.add("Flagged. ", "flag", ["bias"], "low", None)
    assert s.text == "Fine. Better. Flagged. "
    assert s.report() == {"action": "rewritten", "flagged": ["toxicity.insult", "bias"], "sentences": [
        {"action": "passed", "flagged": [], "severity": "none"},
        {"action": "rewritten", "flagged": ["toxicity.insult"], "severity": "medium", "rewrite": "rewritten"},
        {"action": "flagged", "flagged": ["bias"], "severity": "low"}]}


@pytest.mark.parametrize("kwargs, message", [
    ({"prompt_actions": {"default": "erase"}}, "must be one of"),
    ({"upstream": "localhost:8080"}, "http"),
    ({"upstream": "http://x/v1", "llm": False}, "needs the LLM"),
    ({"max_concurrency": 0}, "max_concurrency"),
    ({"port": 70000}, "port"),
])
def test_serve_config_checks(kwargs, message):
    with pytest.raises(SrllmConfigError, match=message):
        ServeConfig(**kwargs)


def test_serve_config_travels_as_json(tmp_path):
    config = ServeConfig(api_key=["a", "b"], policy=tmp_path / "p.yaml", prompt_actions={"default": "block"})
    assert ServeConfig.from_json(config.to_json()) == config


def test_transformers_stream_joins_to_generate(tiny_lm):
    from srllm.models.backends import GenerationConfig, TransformersBackend

    model, tokenizer = tiny_lm
    backend = TransformersBackend(model=model, tokenizer=tokenizer)
    conversation = [{"role": "user", "content": "the team meets at noon"}]
    for cfg in (GenerationConfig(max_new_tokens=12), GenerationConfig(max_new_tokens=12, temperature=0.9, seed=3)):
        pieces = list(backend.stream(conversation, cfg))
        assert "".join(pieces) == backend.generate([conversation], cfg)[0]
    stream = backend.stream(conversation, GenerationConfig(max_new_tokens=200))
    next(stream)
    stream.close()  # stops the generation thread (joined in close)


def test_several_workers_get_time_to_import_before_uvicorn_calls_them_hung(monkeypatch):
    """uvicorn replaces a worker that does not answer its ping within timeout_worker_healthcheck (5 s by default);
    importing torch in a fresh worker takes longer on a busy machine, and the workers were restarted forever."""
    import uvicorn

    from srllm.serve import run

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    for name in ("SRLLM_SERVE_CONFIG", "PROMETHEUS_MULTIPROC_DIR", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "")  # recorded, so that what run() sets is undone after the test
        monkeypatch.delenv(name)
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(("torch threads", n)))
    run(ServeConfig(workers=2, llm=False))
    threads = ServeConfig(workers=2).worker_threads()
    assert calls[0] == ("torch threads", threads) and os.environ["OMP_NUM_THREADS"] == str(threads)
    calls.pop(0)
    (app, kw), = calls
    assert (app, kw["workers"], kw["factory"]) == ("srllm.serve.app:app_from_env", 2, True)
    assert kw["timeout_worker_healthcheck"] >= 60
    assert ServeConfig.from_json(os.environ["SRLLM_SERVE_CONFIG"]).llm is False


def test_several_workers_share_the_cores_out(monkeypatch):
    """2 workers x 2 torch threads on 2 cores fight over them (measured slower, with a longer tail)."""
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert ServeConfig().worker_threads() is None  # one worker: torch's choice
    assert [ServeConfig(workers=w).worker_threads() for w in (2, 3, 8, 16)] == [4, 2, 1, 1]
    assert ServeConfig(workers=2, threads=3).worker_threads() == 3  # asked for: kept
