"""The CTranslate2 generation backend on a tiny random Llama converted in the test: the same greedy replies as
transformers, the adapter merged, the cache keyed and reused, seeded sampling, per-text stopping, the fallback."""

from __future__ import annotations

import pytest

pytest.importorskip("ctranslate2")

from srllm.models import GenerationConfig, TransformersBackend  # noqa: E402
from srllm.models.backends import choose_engine, make_backend  # noqa: E402
from srllm.rewrite import build_messages  # noqa: E402
from tests._tiny_llm import make_tiny_llm  # noqa: E402

TEXTS = ["you idiot", "this stupid plan of yours is wrong and you know it", "fine"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """A tiny random Llama with large weights: with the default init (std 0.02) every reply is the same repeated
    token, which would make the comparisons below trivial."""
    import torch
    from transformers import AutoModelForCausalLM

    path = make_tiny_llm(tmp_path_factory.mktemp("tiny-llm") / "model")
    model = AutoModelForCausalLM.from_pretrained(path)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.5)
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_adapter(tiny_dir, tmp_path_factory):
    """A LoRA adapter with non-zero weights, so merging it changes the replies."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                            init_lora_weights=False))
    path = tmp_path_factory.mktemp("tiny-adapter") / "adapter"
    peft.save_pretrained(path)
    return str(path)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SRLLM_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _convs():
    return [build_messages(t) for t in TEXTS]


@pytest.mark.parametrize("with_adapter", [False, True])
def test_greedy_replies_match_transformers(tiny_dir, tiny_adapter, cache, with_adapter):
    from srllm.models.backends_ct2 import CTranslate2Backend

    adapter = tiny_adapter if with_adapter else None
    # float32: the conversion and the decoding loop are checked exactly (int8 moves a random model's logits).
    ct2 = CTranslate2Backend(model_name=str(tiny_dir), adapter=adapter, compute_type="float32")
    hf = TransformersBackend(model_name=str(tiny_dir), adapter=adapter)
    cfg = GenerationConfig(max_new_tokens=12, batch_size=3)
    expected = [hf.generate([c], cfg)[0] for c in _convs()]  # one at a time: no padding on the reference side
    assert len(set(expected)) == len(expected)  # the replies differ (the model is not degenerate)
    assert ct2.generate(_convs(), cfg) == expected
    assert ct2.generate(_convs(), GenerationConfig(max_new_tokens=12, batch_size=1)) == expected
    assert ct2.generate([], cfg) == []


def test_adapter_changes_the_key_and_the_replies(tiny_dir, tiny_adapter, cache):
    from srllm.models import adapter_fingerprint
    from srllm.models.backends_ct2 import CTranslate2Backend, ct2_cache_key

    plain = ct2_cache_key(tiny_dir, None)
    merged = ct2_cache_key(tiny_dir, tiny_adapter)
    assert plain != merged and adapter_fingerprint(tiny_adapter) in merged and "int8" in merged
    import ctranslate2

    assert ctranslate2.__version__ in merged
    a = CTranslate2Backend(model_name=str(tiny_dir), adapter=None, compute_type="float32")
    b = CTranslate2Backend(model_name=str(tiny_dir), adapter=tiny_adapter, compute_type="float32")
    cfg = GenerationConfig(max_new_tokens=12)
    assert a.generate(_convs(), cfg) != b.generate(_convs(), cfg)


def test_reference_perplexity_on_ct2_scores_the_base_model_like_transformers(tiny_dir, tiny_adapter, cache):
    import numpy as np

    from srllm.models.backends_ct2 import CTranslate2Backend
    from srllm.rewrite.quality import ReferencePerplexity

    texts = ["You are wrong.", "This plan of yours is not a good one, and you know it.", ""]
    hf = TransformersBackend(model_name=str(tiny_dir), adapter=tiny_adapter)
    expected = ReferencePerplexity(hf)(texts)  # the backend's model with its adapter switched off
    for adapter in (None, tiny_adapter):
        ct2 = CTranslate2Backend(model_name=str(tiny_dir), adapter=adapter, compute_type="float32")
        got = ReferencePerplexity(ct2)(texts)
        np.testing.assert_allclose(got[:2], expected[:2], rtol=1e-3)
        assert np.isinf(got[2]) and np.isinf(expected[2])  # an empty output is not fluent text


def test_int8_conversion_is_cached_and_reused(tiny_dir, cache, monkeypatch):
    import srllm.models.backends_ct2 as mod

    first = mod.CTranslate2Backend(model_name=str(tiny_dir))
    assert first.ct2_dir.parent == cache / "ct2" and (first.ct2_dir / "model.bin").is_file()
    assert [p.name for p in (cache / "ct2").iterdir()] == [first.ct2_dir.name]  # no temporary folder left

    def no_conversion(*a, **k):
        raise AssertionError("converted again")

    monkeypatch.setattr(mod, "convert_to_ct2", no_conversion)
    second = mod.CTranslate2Backend(model_name=str(tiny_dir))
    cfg = GenerationConfig(max_new_tokens=8)
    assert second.ct2_dir == first.ct2_dir
    assert second.generate(_convs(), cfg) == first.generate(_convs(), cfg)


def test_seeded_sampling_is_reproducible(tiny_dir, cache):
    from srllm.models.backends_ct2 import CTranslate2Backend

    backend = CTranslate2Backend(model_name=str(tiny_dir))
    conv = [build_messages("you idiot")]

    def sample(seed):
        return backend.generate(conv, GenerationConfig(max_new_tokens=10, temperature=1.5, seed=seed))[0]

    first = sample(7)
    backend.generate(conv * 3, GenerationConfig(max_new_tokens=10, temperature=1.5))  # unseeded draws in between
    assert sample(7) == first
    assert any(sample(s) != first for s in (8, 9, 10))


def test_each_text_stops_at_its_own_end_token(tiny_dir, cache):
    from srllm.models.backends_ct2 import CTranslate2Backend

    backend = CTranslate2Backend(model_name=str(tiny_dir), compute_type="float32")
    convs = _convs()[:2]
    tok = backend.tokenizer
    free = backend.generator.generate_batch(
        [tok.convert_ids_to_tokens(tok(backend.prompt_text(c), add_special_tokens=False)["input_ids"]) for c in convs],
        max_length=6, include_prompt_in_result=False, sampling_topk=1, end_token=[])
    firsts = [r.sequences_ids[0][0] for r in free]
    if firsts[0] == firsts[1]:
        pytest.skip("the random model starts both replies with the same token")
    backend.end_ids = [firsts[0]]  # the first text ends at once; the second one goes on
    replies = backend.generate(convs, GenerationConfig(max_new_tokens=6, batch_size=2))
    assert replies[0] == "" and replies[1] == tok.decode(free[1].sequences_ids[0][:6], skip_special_tokens=True)


def test_auto_engine_choice(tiny_dir):
    assert choose_engine("transformers", model_dir=str(tiny_dir), adapter=None) == "transformers"
    assert choose_engine("auto", model_dir="HuggingFaceTB/SmolLM2-135M-Instruct", adapter=None) == "transformers"
    assert choose_engine("auto", model_dir=str(tiny_dir), adapter="someone/hub-adapter") == "transformers"
    assert choose_engine("auto", model_dir=str(tiny_dir), adapter=None) == "ctranslate2"  # no CUDA here
    from srllm.errors import SrllmConfigError

    with pytest.raises(SrllmConfigError, match="unknown engine"):
        choose_engine("vllm", model_dir=str(tiny_dir), adapter=None)


def test_make_backend_engines_and_the_one_warning_fallback(tiny_dir, cache, monkeypatch, caplog):
    import srllm.models.backends_ct2 as mod
    from srllm.errors import SrllmModelError

    assert isinstance(make_backend(model=str(tiny_dir), adapter="none"), TransformersBackend)  # the default
    assert isinstance(make_backend(model=str(tiny_dir), adapter="none", engine="auto"), mod.CTranslate2Backend)
    assert isinstance(make_backend(model=str(tiny_dir), adapter="none", engine="transformers"), TransformersBackend)

    class Broken:
        def __init__(self, **kw):
            raise SrllmModelError("CTranslate2 could not load x: illegal instruction\nmore detail")

    monkeypatch.setattr(mod, "CTranslate2Backend", Broken)
    for engine in ("auto", "ctranslate2"):
        caplog.clear()
        with caplog.at_level("WARNING", logger="srllm.models"):
            backend = make_backend(model=str(tiny_dir), adapter="none", engine=engine)
        assert isinstance(backend, TransformersBackend)
        # One log record (on stderr without a logging setup; a JSON line in `srllm serve`'s logs)
        [record] = [r for r in caplog.records if r.name == "srllm.models"]
        assert record.levelname == "WARNING" and "using transformers" in record.getMessage()
        assert "illegal instruction" in record.getMessage() and "more detail" not in record.getMessage()


def test_engine_is_a_rewrite_option():
    from srllm.errors import SrllmConfigError
    from srllm.rewrite import RewriteConfig

    assert RewriteConfig().engine == "transformers"
    with pytest.raises(SrllmConfigError, match="engine"):
        RewriteConfig(engine="fast")
