import re
from dataclasses import replace

import numpy as np
import pytest

from srllm.errors import SrllmConfigError
from srllm.rewrite import RewriteConfig, Rewriter, build_messages, clean_rewrite, remove_spans
from srllm.rewrite.clean import restore_source_form
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
    assert clean_rewrite(raw, "You are an idiot.") == expected


def test_clean_rewrite_returns_the_source_when_only_case_or_punctuation_changed():
    source = "non violent protests don 't get things done ."
    assert clean_rewrite("Non violent protests don't get things done.", source) == source
    # Words kept from the source keep its casing and tokenisation; only the changed words are the model's.
    assert clean_rewrite("Non-violent protests rarely get things done.", source) == (
        "non-violent protests rarely get things done .")


@pytest.mark.parametrize("output,source,expected", [
    ("Maybe that is why it didn't look like he was losing blood.",
     "shit ! maybe that is why it didn 't look like he was loosing blood .",
     "maybe that is why it didn 't look like he was losing blood ."),
    ("The team, however, met.", "The team , however , met .", "The team , however , met ."),
    # The source capitalises sentences, so the output's sentence-initial capital stays.
    ("The Globe is wrong.", "Shame on the Globe , it is wrong .", "The Globe is wrong ."),
    ("Line one.\n\nLine two.", "Line one.\n\nStupid line two.", "Line one.\n\nLine two."),
    ("you are wrong", "you idiot , you are wrong", "you are wrong"),
])
def test_restore_source_form_keeps_the_writers_form_of_unchanged_words(output, source, expected):
    assert restore_source_form(output, source) == expected


def test_clean_rewrite_keeps_quotes_the_source_had():
    source = '"The audience enjoyed the damn show."'
    assert clean_rewrite('"The audience enjoyed the show."', source) == '"The audience enjoyed the show."'
    assert clean_rewrite('"The audience enjoyed the show."', "The damn show") == "The audience enjoyed the show."


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


class _SamplingBackend(ScriptedBackend):
    """Greedy calls follow the script; a sampled call (temperature > 0) is recorded and answers samples[seed + i]
    for its i-th conversation (copies of one prompt in a call are different draws, as on a real engine)."""

    def __init__(self, script, samples):
        super().__init__(script)
        self.samples, self.sampled = samples, []

    def generate(self, conversations, config=None):
        if config is not None and config.temperature > 0:
            self.sampled.append((config.seed, config.temperature, [c[-1]["content"] for c in conversations]))
            return [self.samples[config.seed + i] for i in range(len(conversations))]
        return super().generate(conversations, config)


def test_samples_are_the_last_resort_and_the_closest_passing_one_wins():
    src = "this stupid plan is wrong"
    backend = _SamplingBackend({src: ["this stupid plan is bad", "I cannot help."]},
                               samples={0: "this plan is bad", 1: "this plan is wrong", 2: "this idiot plan is wrong"})
    config = RewriteConfig(similarity_threshold=0.3, span_fallback=False, retry_samples=3, sample_temperature=0.7)
    [res] = Rewriter(backend=backend, detector=WordDetector(), config=config).rewrite([src])
    # Passing samples: "this plan is bad" (Jaccard 3/6) and "this plan is wrong" (4/5); the unsafe one is rejected.
    assert res.action == "rewritten" and res.attempts == 3 and res.output == "this plan is wrong"
    # One seeded call of three copies of the plain prompt (the adapter's training prompt).
    assert backend.sampled == [(0, 0.7, [build_messages(src)[-1]["content"]] * 3)]
    assert not build_messages(src)[-1]["content"].endswith(STRICT_SUFFIX)


def test_samples_are_drawn_one_text_at_a_time():
    # In a batch a row's random draws depend on the other rows; one text per call keeps a text's samples its own.
    a, b = "idiot one", "idiot two"
    backend = _SamplingBackend({a: ["idiot"], b: ["idiot"]}, samples={0: "stupid", 1: "stupid"})
    Rewriter(backend=backend, detector=WordDetector(), config=RewriteConfig(retry_samples=2)).rewrite([a, b])
    assert [(seed, prompts) for seed, _, prompts in backend.sampled] == [
        (0, [build_messages(a)[-1]["content"]] * 2), (0, [build_messages(b)[-1]["content"]] * 2)]


def test_a_passing_span_edit_comes_before_sampling():
    src = "this stupid plan is wrong"
    backend = _SamplingBackend({src: ["this stupid plan is bad"]}, samples={0: "this plan is wrong"})
    [res] = Rewriter(backend=backend, detector=WordDetector(),
                     config=RewriteConfig(similarity_threshold=0.3, retry_samples=1)).rewrite([src])
    assert res.action == "edited" and res.output == "this plan is wrong" and backend.sampled == []


def test_failed_text_lists_every_stage_that_was_tried():
    src = "idiot"
    backend = _SamplingBackend({src: ["idiot"]}, samples={0: "stupid", 1: ""})
    [res] = Rewriter(backend=backend, detector=WordDetector(),
                     config=RewriteConfig(retry_samples=2)).rewrite([src])
    assert res.action == "failed" and res.output == src and res.attempts == 3  # two greedy attempts, one sampling
    assert res.reason == ("attempt 2: returned the input unchanged; span edit: no span found to remove; "
                          "2 samples: the detector still flags the output")


def test_no_samples_when_turned_off_or_when_a_greedy_attempt_passes():
    src = "this stupid plan is wrong"
    backend = _SamplingBackend({src: ["this plan is wrong"]}, samples={})
    Rewriter(backend=backend, detector=WordDetector(),
             config=RewriteConfig(similarity_threshold=0.3)).rewrite([src])
    assert backend.sampled == []
    backend = _SamplingBackend({src: ["this stupid plan", "this stupid plan"]}, samples={})
    [res] = Rewriter(backend=backend, detector=WordDetector(),
                     config=RewriteConfig(similarity_threshold=0.3, span_fallback=False,
                                          retry_samples=0)).rewrite([src])
    assert backend.sampled == [] and res.action == "failed"


def test_falls_back_to_span_edit_then_reports_path():
    src = "this stupid plan is wrong"
    backend = ScriptedBackend({src: ["I cannot do that.", "Something entirely different here"]})
    [res] = Rewriter(backend=backend, detector=WordDetector(),
                     config=RewriteConfig(similarity_threshold=0.5)).rewrite([src])
    assert res.action == "edited" and res.output == "this plan is wrong"
    assert "attempt 2" in res.reason


def test_span_edit_can_be_limited_to_some_categories():
    class GroupWordDetector(WordDetector):
        def spans(self, text):
            return [s.model_copy(update={"category": "stereotyping"}) for s in super().spans(text)]

    src = "this stupid plan is wrong"
    backend = ScriptedBackend({src: ["this stupid plan is wrong"]})
    [res] = Rewriter(backend=backend, detector=GroupWordDetector(),
                     config=RewriteConfig(similarity_threshold=0.3, retry_samples=0,
                                          span_edit_categories=("toxicity",))).rewrite([src])
    assert res.action == "failed" and res.output == src
    assert "span edit: the flagged spans are stereotyping, which a deletion does not fix" in res.reason
    [res] = Rewriter(backend=ScriptedBackend({src: [src]}), detector=GroupWordDetector(),
                     config=RewriteConfig(similarity_threshold=0.3, retry_samples=0)).rewrite([src])
    assert res.action == "failed"  # default: toxicity and bias spans, not stereotyping ones
    [res] = Rewriter(backend=ScriptedBackend({src: [src]}), detector=GroupWordDetector(),
                     config=RewriteConfig(similarity_threshold=0.3, retry_samples=0,
                                          span_edit_categories=None)).rewrite([src])
    assert res.action == "edited" and res.output == "this plan is wrong"  # None: every category


def test_span_edit_never_deletes_a_word_naming_a_group():
    class StereotypeDetector(WordDetector):
        # "women" carries the stereotype for this detector, as it does for the shipped one.
        def unsafe_probability(self, texts):
            return np.maximum(super().unsafe_probability(texts),
                              [0.9 if "women" in t.lower() else 0.1 for t in texts])

        def spans(self, text):
            return [*super().spans(text), *(Span(start=m.start(), end=m.end(), text=m.group(), score=0.95,
                                                 category="stereotyping") for m in re.finditer(r"(?i)women", text))]

    src = "Women are too emotional"
    # every span category editable, so the group-word rule is what stops the deletion
    config = RewriteConfig(similarity_threshold=0.3, retry_samples=0, span_edit_categories=None)
    [res] = Rewriter(backend=ScriptedBackend({src: [src, src]}), detector=StereotypeDetector(),
                     config=config).rewrite([src])
    assert res.action == "failed" and res.output == src
    assert "span edit: the flagged words name a group of people ('Women')" in res.reason
    # Without the rule the deletion is tried, and the fragment check rejects what it leaves ("Are too emotional").
    [res] = Rewriter(backend=ScriptedBackend({src: [src, src]}), detector=StereotypeDetector(),
                     config=replace(config, keep_group_terms=False)).rewrite([src])
    assert res.action == "failed" and "fragment: lost its subject (starts with 'are')" in res.reason
    [res] = Rewriter(backend=ScriptedBackend({src: [src, src]}), detector=StereotypeDetector(),
                     config=replace(config, keep_group_terms=False, quality_checks=())).rewrite([src])
    assert res.action == "edited" and res.output == "Are too emotional"  # what the two rules prevent
    # A span holding a group word and more ("Immigrants are") is not deleted either.
    src = "Immigrants are stealing our jobs"

    class SubjectSpanDetector(WordDetector):
        def unsafe_probability(self, texts):
            return np.array([0.9 if "immigrants" in t.lower() else 0.1 for t in texts])

        def spans(self, text):
            return [Span(start=0, end=14, text=text[:14], score=0.9, category="stereotyping")]

    [res] = Rewriter(backend=ScriptedBackend({src: [src, src]}), detector=SubjectSpanDetector(),
                     config=config).rewrite([src])
    assert res.action == "failed" and "('Immigrants are')" in res.reason
    # A span edit still deletes the insult next to a group word, and leaves the group word alone.
    src = "stupid women drivers"
    [res] = Rewriter(backend=ScriptedBackend({src: [src, src]}), detector=WordDetector(),
                     config=config).rewrite([src])
    assert res.action == "edited" and res.output == "women drivers"


def test_group_words_of_a_policy_reach_the_span_edit(tmp_path):
    from srllm.taxonomy import load_policy

    policy = tmp_path / "p.yaml"
    policy.write_text("groups: {bias.other: [golfers]}\n")

    class GamerDetector(WordDetector):  # no taxonomy attribute: the default taxonomy applies
        def unsafe_probability(self, texts):
            return np.array([0.9 if "golfers" in t.lower() else 0.1 for t in texts])

        def spans(self, text):
            return [Span(start=m.start(), end=m.end(), text=m.group(), score=0.9, category="bias")
                    for m in re.finditer(r"(?i)golfers", text)]

    class PolicyGamerDetector(GamerDetector):
        taxonomy = load_policy(policy)

    src = "golfers ruin everything"
    config = RewriteConfig(retry_samples=0)
    [res] = Rewriter(backend=None, detector=GamerDetector(), config=config).rewrite([src])
    assert res.action == "edited" and res.output == "ruin everything"  # not a group word by default
    [res] = Rewriter(backend=None, detector=PolicyGamerDetector(), config=config).rewrite([src])
    assert res.action == "failed" and "name a group of people ('golfers')" in res.reason


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
    with pytest.raises(SrllmConfigError, match="retry_samples"):
        RewriteConfig(retry_samples=-1)
    with pytest.raises(SrllmConfigError, match="sample_temperature"):
        RewriteConfig(sample_temperature=0)


def test_identity_adjectives_of_a_story_are_dropped_not_those_of_a_claim():
    from srllm.rewrite.edit import drop_group_modifiers

    words = {"black", "men", "women", "americans", "african"}
    assert drop_group_modifiers("Suddenly the group of black men attacked him.", words) == [
        "Suddenly the group of men attacked him."]
    assert drop_group_modifiers("He is an Asian engineer.", words) == ["He is an engineer."]  # article mended
    assert drop_group_modifiers("The Muslim family and the Indian man left.", words) == [
        "The family and the Indian man left.", "The Muslim family and the man left.", "The family and the man left."]
    assert drop_group_modifiers("Black people are lazy.", words) == []  # "People are lazy." is no fix
    assert drop_group_modifiers("Iraq has a large muslim population.", words) == []  # the adjective is the fact
    assert drop_group_modifiers("Historically African Americans are loud.", words) == []  # a group word follows
    assert drop_group_modifiers("Aaron came out as gay last year.", words) == []  # a predicate, not a modifier
    assert drop_group_modifiers("My dad didn't like the kids.", words) == []
    assert drop_group_modifiers("When i lived in saudi arabia i met a Saudi Aramco engineer.", words) == []  # names


def test_a_story_naming_a_group_is_edited_by_dropping_the_adjective():
    class RaceWordDetector(WordDetector):
        def unsafe_probability(self, texts):
            return np.array([0.9 if "black" in t.lower() else 0.1 for t in texts])

        def spans(self, text):
            return [Span(start=m.start(), end=m.end(), text=m.group(), score=0.9, category="stereotyping")
                    for m in re.finditer(r"(?i)black", text)]

    src = "Suddenly the group of black men attacked him and started kicking him."
    config = RewriteConfig(similarity_threshold=0.5, retry_samples=0)
    [res] = Rewriter(backend=ScriptedBackend({src: [src, src]}), detector=RaceWordDetector(),
                     config=config).rewrite([src])
    assert res.action == "edited" and res.output == "Suddenly the group of men attacked him and started kicking him."
    assert "identity adjectives dropped" in res.reason
    [res] = Rewriter(backend=ScriptedBackend({src: [src, src]}), detector=RaceWordDetector(),
                     config=replace(config, drop_group_modifiers=False)).rewrite([src])
    assert res.action == "failed"
    # a claim about the group is left to reframing, never edited this way
    src = "Black men are violent."
    [res] = Rewriter(backend=ScriptedBackend({src: [src, src]}), detector=RaceWordDetector(),
                     config=config).rewrite([src])
    assert res.output != "Men are violent."
