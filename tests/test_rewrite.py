import pytest

from srllm.errors import SrllmConfigError
from srllm.rewrite import RewriteConfig, Rewriter, build_messages, clean_rewrite, remove_spans
from srllm.rewrite.prompts import STRICT_SUFFIX, SYSTEM_PROMPT
from srllm.schema import Span
from tests.fakes import ScriptedBackend, WordDetector


@pytest.mark.parametrize("raw,expected", [
    ("Sure! Here is the rewritten text: You are mistaken about this.", "You are mistaken about this."),
    ("Here's a revised version:\n\nYou are mistaken about this.", "You are mistaken about this."),
    ('"You are mistaken about this."', "You are mistaken about this."),
    ("Rewritten text: You are mistaken.\n\nNote: I removed the insult.", "You are mistaken."),
    ("You are mistaken.\n\nIn this rewritten version, I removed the insult.", "You are mistaken."),
    ("You are mistaken. (I removed the insult.)", "You are mistaken."),
    ("I'm sorry, but I cannot help with that.", ""),
    ("He said \"no\" to them.", "He said \"no\" to them."),
])
def test_clean_rewrite(raw, expected):
    assert clean_rewrite(raw, "you are an idiot.") == expected


def test_clean_rewrite_returns_the_source_when_only_case_or_punctuation_changed():
    source = "non violent protests don 't get things done ."
    assert clean_rewrite("Non violent protests don't get things done.", source) == source
    assert clean_rewrite("Non-violent protests rarely get things done.", source) == (
        "Non-violent protests rarely get things done.")


def test_clean_rewrite_keeps_quotes_the_source_had():
    source = '"The audience enjoyed the damn show."'
    assert clean_rewrite('"The audience enjoyed the show."', source) == '"The audience enjoyed the show."'
    assert clean_rewrite('"The audience enjoyed the show."', "the damn show") == "The audience enjoyed the show."


def test_prompt_has_system_message_and_strict_variant():
    msgs = build_messages("you idiot")
    assert msgs[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert msgs[-1]["content"].endswith("you idiot")
    assert build_messages("you idiot", strict=True)[-1]["content"].endswith(STRICT_SUFFIX)


def test_remove_spans_tidies_text():
    text = "You are a stupid, lazy person ."
    spans = [Span(start=10, end=16, text="stupid", score=1), Span(start=18, end=22, text="lazy", score=1)]
    assert remove_spans(text, spans) == "You are a person."


def test_accepts_a_safe_faithful_rewrite_first_time():
    backend = ScriptedBackend({"you are an idiot and wrong": ["Sure! Here is the rewrite: you are wrong"]})
    [res] = Rewriter(backend=backend, detector=WordDetector(),
                     config=RewriteConfig(similarity_threshold=0.3)).rewrite(["you are an idiot and wrong"])
    assert res.action == "rewritten" and res.output == "you are wrong" and res.attempts == 1


def test_retries_with_strict_prompt_when_first_rewrite_still_unsafe():
    src = "this stupid plan is wrong"
    backend = ScriptedBackend({src: ["this stupid plan is bad", "this plan is wrong"]})
    [res] = Rewriter(backend=backend, detector=WordDetector(),
                     config=RewriteConfig(similarity_threshold=0.3)).rewrite([src])
    assert res.action == "rewritten" and res.attempts == 2 and res.output == "this plan is wrong"
    assert backend.calls[1][-1]["content"].endswith(STRICT_SUFFIX)


def test_falls_back_to_span_edit_then_reports_path():
    src = "this stupid plan is wrong"
    backend = ScriptedBackend({src: ["I cannot do that.", "Something entirely different here"]})
    [res] = Rewriter(backend=backend, detector=WordDetector(),
                     config=RewriteConfig(similarity_threshold=0.5)).rewrite([src])
    assert res.action == "edited" and res.output == "this plan is wrong"
    assert "attempt 2" in res.reason


def test_rejects_rewrite_that_loses_the_meaning():
    src = "this stupid plan is wrong"
    backend = ScriptedBackend({src: ["the weather is nice today"]})
    [res] = Rewriter(backend=backend, detector=WordDetector(),
                     config=RewriteConfig(similarity_threshold=0.5, max_attempts=1)).rewrite([src])
    assert res.action == "edited"
    assert "meaning not kept" in res.reason


def test_failed_when_nothing_is_safe():
    src = "idiot"
    backend = ScriptedBackend({src: ["idiot"]})
    [res] = Rewriter(backend=backend, detector=WordDetector()).rewrite([src])
    assert res.action == "failed" and res.output == src and res.output_unsafe


def test_rewrite_config_checks():
    with pytest.raises(SrllmConfigError, match="similarity_threshold"):
        RewriteConfig(similarity_threshold=1.5)
