"""The systems `srllm eval --systems` names: few-shot prompting, the whole pipeline (Guard.check) and its cache key,
the human reference, several systems in one run, and the dev split of the rewriting sets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from srllm.errors import SrllmConfigError
from srllm.evaluate import suites as S
from srllm.evaluate.runner import EvalConfig, run_eval
from srllm.evaluate.systems import System, SystemSpec, named_spec, pipeline_fingerprint
from srllm.guard import Guard
from srllm.models import GenerationBackend
from srllm.rewrite.prompts import FEW_SHOT_EXAMPLES
from tests._eval_fakes import CategoryDetector, HashEncoder, context, one_torch_thread
from tests.fakes import ScriptedBackend, WordDetector

pytestmark = pytest.mark.usefixtures("one_torch_thread")
_ = one_torch_thread

ROWS = [
    {"text": "you are a stupid idiot", "rewrite": "you are wrong", "toxicity": "high"},
    {"text": "women are lazy drivers", "rewrite": "some drivers are careless", "bias": "high"},
    {"text": "the team meets at noon", "rewrite": "the team meets at noon", "toxicity": "none"},
]


class Recording(GenerationBackend):
    """Records every conversation; replies 'fine.' (or '' to the first one, if asked)."""

    name = "recording"

    def __init__(self, first_empty: bool = False):
        self.conversations: list[list[dict]] = []
        self.first_empty = first_empty

    def generate(self, conversations, config=None):
        self.conversations += conversations
        return ["" if self.first_empty and i == 0 else "the plan is fine." for i in range(len(conversations))]


class CountingGuard:
    """Guard.check's interface: returns the text upper-cased, counting the texts it was asked about."""

    def __init__(self):
        self.texts: list[str] = []

    def check(self, texts, *, spans=True):
        from types import SimpleNamespace

        self.texts += texts
        return [SimpleNamespace(output=t.upper()) for t in texts]


@pytest.fixture()
def cmd_file(tmp_path):
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), "utf-8")
    return path


def test_few_shot_puts_the_examples_before_the_text(tmp_path):
    zero, few = Recording(), Recording()
    System("zero-shot", backend=zero).rewrite(["you idiot"], cache_dir=tmp_path, progress=False)
    System("few-shot", backend=few, few_shot=True).rewrite(["you idiot"], cache_dir=tmp_path, progress=False)
    (z,), (f,) = zero.conversations, few.conversations
    assert [m["role"] for m in z] == ["system", "user"]
    assert [m["role"] for m in f] == ["system", *["user", "assistant"] * len(FEW_SHOT_EXAMPLES), "user"]
    assert [m["content"] for m in f[2::2][: len(FEW_SHOT_EXAMPLES)]] == [tgt for _, tgt in FEW_SHOT_EXAMPLES]
    assert FEW_SHOT_EXAMPLES[0][0] in f[1]["content"] and "you idiot" in f[-1]["content"]
    assert f[-1] == z[-1] and f[0] == z[0]  # the same system prompt and request, after the examples


def test_named_specs():
    zero, few, adapter, pipe = (named_spec(n, model="m", adapter="./a", rewrite_options={"retry_samples": 0})
                                for n in ("zero-shot", "few-shot", "adapter", "pipeline"))
    assert (zero.adapter, zero.few_shot, few.adapter, few.few_shot) == ("none", False, "none", True)
    assert (adapter.adapter, adapter.kind, pipe.adapter, pipe.kind) == ("./a", "llm", "./a", "pipeline")
    assert pipe.rewrite_options == {"retry_samples": 0} and zero.model == pipe.model == "m"
    assert named_spec("reference").kind == "reference" and System.from_spec(named_spec("identity")).identity
    with pytest.raises(SrllmConfigError, match="Did you mean few-shot"):
        named_spec("fewshot")
    few_system = System.from_spec(few)
    assert few_system.name.endswith("few-shot prompt") and not few_system.can_respond and few_system.can_generate


def test_pipeline_calls_guard_check_and_caches_per_text(tmp_path):
    bad, good = "the plan you made is stupid and the day is fine", "the plan you made is bad and the day is fine"
    texts = [bad, "the team meets at noon", bad]
    backend = ScriptedBackend({bad: [good]})
    system = System("pipeline", kind="pipeline", guard=Guard(detector=WordDetector(), backend=backend))
    out = system.rewrite(texts, cache_dir=tmp_path, progress=False)
    assert out == [good, "the team meets at noon", good]  # the gate kept the safe text; the LLM rewrote the other
    assert len(backend.calls) == 1  # a repeated text is checked once
    counting = CountingGuard()
    again = System("pipeline", kind="pipeline", guard=counting)
    assert again.rewrite(texts, cache_dir=tmp_path, progress=False) == out and counting.texts == []  # all cached
    assert again.rewrite(["a new text"], cache_dir=tmp_path, progress=False) == ["A NEW TEXT"]
    assert counting.texts == ["a new text"]


def test_pipeline_cache_key_follows_options_adapter_and_code(tmp_path, monkeypatch):
    (tmp_path / "adapter").mkdir()
    weights = tmp_path / "adapter" / "adapter_model.safetensors"
    weights.write_bytes(b"v1")

    def key(options):
        spec = SystemSpec("pipeline", "some/model", str(tmp_path / "adapter"), kind="pipeline", rewrite_options=options)
        return System.from_spec(spec).cache_id

    first = key({})
    assert first.startswith("srllm check: some/model + ") and key({}) == first
    assert key({"retry_samples": 0}) != first
    assert key({"batch_size": 4}) == first  # the batch size does not change outputs
    weights.write_bytes(b"v2")
    assert key({}) != first
    # The code of the pipeline is part of the key: a copy of the package with one rewrite module changed.
    import srllm

    src = Path(srllm.__file__).resolve().parent
    copy = tmp_path / "srllm"
    copy.mkdir()
    shutil.copy(src / "guard.py", copy / "guard.py")
    for pkg in ("rewrite", "detect", "taxonomy"):
        shutil.copytree(src / pkg, copy / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(srllm, "__file__", str(copy / "__init__.py"))
    before = pipeline_fingerprint({}, None)
    with (copy / "rewrite" / "rewriter.py").open("a") as f:
        f.write("\n# a changed policy\n")
    assert pipeline_fingerprint({}, None) != before
    (copy / "data").mkdir()
    shutil.copy(src / "data" / "group_lexicon.py", copy / "data" / "group_lexicon.py")
    before = pipeline_fingerprint({}, None)
    with (copy / "data" / "group_lexicon.py").open("a") as f:
        f.write("\n# a new group word\n")
    assert pipeline_fingerprint({}, None) != before


def test_reference_system_returns_the_first_reference():
    ref = System("reference", kind="reference")
    assert ref.rewrite(["a", "b"], references=[["A", "A2"], ["B"]]) == ["A", "B"]
    assert not ref.can_generate and not ref.can_respond and ref.lm is None
    with pytest.raises(SrllmConfigError, match="references"):
        ref.rewrite(["a"])


def test_several_systems_in_one_run(tmp_path, cmd_file, monkeypatch):
    from srllm.evaluate.judges import SafetyJudge
    from srllm.evaluate.report import rewriting_markdown, rewriting_tables
    from srllm.models.lm_scoring import PerplexityScorer
    from tests._tiny_lm import make_tiny_lm

    monkeypatch.setattr("srllm.data.shared_data_dir", lambda: None)
    names = "identity,zero-shot,few-shot,pipeline,reference"
    cfg = EvalConfig(suites="detox", systems=names, data=[cmd_file], out=tmp_path / "out", n_resamples=50,
                     progress=False)
    assert [s.label for s in cfg.system_specs()] == names.split(",")
    guard = CountingGuard()
    systems = [System("identity", kind="identity"), System("zero-shot", backend=Recording(first_empty=True)),
               System("few-shot", backend=Recording(), few_shot=True),
               System("pipeline", kind="pipeline", guard=guard), System("reference", kind="reference")]
    lm, tok = make_tiny_lm(3)
    results = run_eval(cfg, systems=systems, judge_factory=lambda: SafetyJudge(CategoryDetector(), name="words"),
                       encoder_factory=HashEncoder,
                       fluency_factory=lambda: PerplexityScorer(model=lm, tokenizer=tok, name="tiny"))
    detox = results["suites"]["detox"]
    got = {(r["system"], r["name"]): r for r in detox["results"] if r["dataset"] == "tiny"}
    assert {s for s, _ in got} == {"input", *names.split(",")}
    assert got[("reference", "bleu")]["value"] == pytest.approx(100.0)
    assert guard.texts == [r["text"] for r in ROWS]
    # The zero-shot system's first output is blank: counted, and it is dissimilar (SIM 0), not just unsafe.
    assert got[("zero-shot", "empty")]["value"] == pytest.approx(1 / 3)
    items = json.loads((cfg.out / "items.json").read_text())
    assert items["detox/tiny/zero-shot/sim"]["values"][0] == 0.0
    # Each system (the reference aside) minus each baseline, on the same items.
    pairs = {(c["a"], c["b"]) for c in detox["comparisons"] if c["metric"] == "j"}
    assert pairs == {("identity", "pipeline"), ("zero-shot", "pipeline"), ("few-shot", "pipeline")}
    captions = [t[0] for t in rewriting_tables(results)]
    assert len(captions) == 2 and "| tiny | pipeline | few-shot |" in rewriting_markdown(results)
    assert "the systems side by side" in (cfg.out / "report.md").read_text()


def test_eval_config_checks_systems_split_and_options(tmp_path):
    with pytest.raises(SrllmConfigError, match="Did you mean adapter"):
        EvalConfig(systems="identity,adaptr")
    with pytest.raises(SrllmConfigError, match="drop --baseline"):
        EvalConfig(systems="adapter", baseline="default")
    with pytest.raises(SrllmConfigError, match="split"):
        EvalConfig(split="train")
    with pytest.raises(SrllmConfigError, match="Did you mean retry_samples"):
        EvalConfig(systems="pipeline", pipeline_options={"retry_sample": 0})
    with pytest.raises(SrllmConfigError, match="add pipeline to --systems"):
        EvalConfig(systems="adapter", pipeline_options={"retry_samples": 0})
    specs = EvalConfig(systems="pipeline", pipeline_options={"retry_samples": 0}).system_specs()
    assert specs[0].rewrite_options == {"retry_samples": 0}
    with pytest.raises(SrllmConfigError, match="unknown suite.s. or dataset.s. paradetox-tset"):
        run_eval(EvalConfig(suites="detox", suite_limits={"paradetox-tset": 3}, out=tmp_path))


def test_dev_split_sets_match_the_cmd_build(shared_data):
    from srllm.data.build import assign_split
    from srllm.evaluate.rewrite_data import builtin_sets, paradetox_neutral

    pairs, srllm = builtin_sets(shared_data, "dev")
    neutral = paradetox_neutral(shared_data, "dev")
    assert (pairs.name, srllm.name, neutral.name) == ("paradetox-dev", "sr-llm-dev", "paradetox-neutral-dev")
    assert len(pairs.texts) == 326 and len(srllm.texts) == 45 and pairs.has_references and srllm.has_references
    assert {assign_split(t, seed=13, dev=0.03, test=0.05) for t in pairs.texts} == {"dev"}
    test_pairs, infer = builtin_sets(shared_data, "test")
    assert not set(pairs.texts) & set(test_pairs.texts) and infer.name == "sr-llm-infer50"
    assert not set(srllm.texts) & set(infer.texts)
    assert set(neutral.texts) <= {refs[0] for refs in pairs.references}


def test_detox_on_the_dev_split_with_a_dataset_limit(tmp_path, shared_data):
    ctx = context(tmp_path, limit=2, split="dev", dataset_limits={"paradetox-neutral-dev": 1},
                  systems=[System("model", backend=Recording())])
    res = S.get_suite("detox").run(ctx)
    n = {r["dataset"]: r["n"] for r in res.rows if r["name"] in ("j", "over_correction")}
    assert n == {"paradetox-dev": 2, "sr-llm-dev": 2, "paradetox-neutral-dev": 1}
    assert np.isfinite([r["value"] for r in res.rows if r["name"] == "j"]).all()
