"""The rule-based reframing of group generalisations (srllm.rewrite.reframe) and the Rewriter stage that uses it
(issue 13: stereotypes rewritten into whole, benign sentences that keep the topic, the same pattern whatever the
group)."""

import re

import numpy as np
import pytest

from srllm.rewrite import RewriteConfig, Rewriter
from srllm.rewrite.quality import fragment, still_generalises
from srllm.rewrite.reframe import claim_sentences, reframe_candidates

from .fakes import ScriptedBackend, WordDetector


@pytest.mark.parametrize("text, first_words", [
    ("Women are too emotional to be good engineers, everyone knows that.", "too emotional to be a good engineer"),
    ("Lazy teenagers are useless and have zero discipline.", "useless and has zero discipline"),
    ("Immigrants are stealing our jobs and ruining the neighborhood.", "jobs"),
    ("Old drivers are a menace and should lose their licenses.", "menace"),
])
def test_the_issue_examples_get_whole_sentences_that_keep_the_topic(text, first_words):
    cands = reframe_candidates(text)
    assert cands and any(first_words in c for c in cands)
    for c in cands:
        assert fragment(text, c) is None and still_generalises(text, c) is None
        assert c[0].isupper() and c.endswith(".")


def test_the_frame_order_is_the_same_whatever_the_group():
    a, b = reframe_candidates("Immigrants are lazy."), reframe_candidates("Women are lazy.")
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):  # same frames in the same order: only the group words differ
        assert x.replace("an immigrant", "G").replace("Immigrants", "G").replace("background", "D") == \
            y.replace("a woman", "G").replace("Women", "G").replace("gender", "D")


def test_only_group_claims_are_reframed_and_other_sentences_are_kept():
    assert reframe_candidates("That reviewer is a clueless idiot.") == []
    assert reframe_candidates("The weather is nice today.") == []
    two = reframe_candidates("I met my neighbours today. Muslims are lazy.")
    assert two and all(c.startswith("I met my neighbours today. ") for c in two)
    assert [i for i, _ in claim_sentences("I met my neighbours today. Muslims are lazy.")] == [1]


@pytest.mark.parametrize("text, group, pred", [
    ("Persian people are uneducated.", "Persian people", "are uneducated"),  # nationality outside GROUPS
    ("Most japanese people are exotic.", "Japanese people", "are exotic"),  # lower-cased, as StereoSet writes it
    ("Ghanaians are very brutish.", "Ghanaians", "are very brutish"),
    ("Most people from syria are aggressive.", "people from Syria", "are aggressive"),
    ("Amish people are backward.", "Amish people", "are backward"),  # a taxonomy group word + "people"
    ("Women always keep people waiting.", "women", "always keep people waiting"),  # an adverb before the verb
    ("Women string men along.", "women", "string men along"),  # a verb in -ing that is no gerund
    ("Typically every ghanaian is very brutish.", "Ghanaians", "are very brutish"),  # a singular generic subject
    ("Every Muslim I have ever met was cheap.", "Muslims", "are cheap"),
    ("A vegan will never learn English.", "vegans", "will never learn English"),
    ("The typical norweigan is thought of as being quiet.", "Norweigans", "are quiet"),
    ("You can't trust Indigenous people; they're all uneducated.", "Indigenous people", "are all uneducated"),
    ("The problem with hipsters is that they live off welfare.", "hipsters", "live off welfare"),
    ("All African American women are loud.", "African American women", "are loud"),  # a group within a group
    ("Males are typically messy.", "males", "are typically messy"),
    ("Poor parents don't know how to reason.", "poor parents", "don't know how to reason"),
    ("People with autism will always be child-like.", "people with autism", "will always be child-like"),
    ("Children in cameroon always look malnourished.", "children in Cameroon", "always look malnourished"),
    ("Because of the floods, the people in ethiopia are always starving.", "people in Ethiopia", "are always starving"),
    ("The eritrean people are known for being poor.", "Eritrean people", "are poor"),
    ("It's hard to tell because Chinese people are so shifty.", "Chinese people", "are so shifty"),  # a reason
    ("Most of the ghanaians are lazy.", "Ghanaians", "are lazy"),  # quantifiers that keep a claim general
    ("A lot of people in ecuador are very short.", "people in Ecuador", "are very short"),
    ("Many of the japanese people are addicted to work.", "Japanese people", "are addicted to work"),
])
def test_claims_in_other_shapes_and_about_groups_outside_the_lexicon_parse(text, group, pred):
    [(_i, claim)] = claim_sentences(text)
    assert (claim["group"], claim["pred"]) == (group, pred)
    assert reframe_candidates(text)


@pytest.mark.parametrize("text", [
    "A vegan stole my bike.",  # a particular person, not a generic claim
    "Some of the men are tall.",  # "some of" does not generalise
    "Some people are lazy.", "Computers are stupid.", "These Chinese phones are so cheaply made.",
    "Women being abused is funny.",  # the subject is a clause
    "Then people will know how dumb you are.", "It's only in the news because teenagers came up with it.",
    "People in your union don't care about you.",
    "Sullivans junior high retort is idiotic.",  # a name, and no verb after it
    "Soon men won't bother with women, they will become gay.",  # two groups before "they": either could be meant
    "The Mexicans had all run off, they were all illegals and when bosses came around they got their money and left.",
])
def test_what_is_not_a_plain_group_claim_is_not_reframed(text):
    assert reframe_candidates(text) == []


@pytest.mark.parametrize("text, must, must_not", [
    ("Everyone knows atheists are fanatics.", "is a fanatic", "is fanatics"),  # a plural noun in -ics
    ("Women cant control their emotions.", "can control", "can't control"),  # a negation without its apostrophe
    ("Let's be real, wives are all the same.", "all the same", "is the same"),  # a claim about the whole group
])
def test_found_by_reading_outputs(text, must, must_not):
    cands = reframe_candidates(text)
    assert any(must in c for c in cands) and not any(must_not in c for c in cands)


def test_a_hardship_is_never_said_to_depend_on_the_person():
    for text in ("People from Ecuador are poor.", "The children of ethiopia are very starving."):
        cands = reframe_candidates(text)
        assert cands and not any("depends on the person" in c or "whether" in c.lower() for c in cands)


def test_an_open_question_about_individuals_is_no_flip_but_praise_still_is():
    from srllm.rewrite.quality import flip

    assert flip("Women aren't good workers.", "Whether someone is a good worker depends on the person.") is None
    assert flip("this article is crap", "this article is good") is not None


def test_a_group_outside_the_lexicon_gets_the_same_frames_whatever_its_name():
    a, b = reframe_candidates("Every Ghanaian is rude."), reframe_candidates("Every Mexican is rude.")
    assert [x.replace("Ghanaian", "G") for x in a] == [y.replace("Mexican", "G") for y in b]
    assert not any("their" in c for c in reframe_candidates("Economists are arrogant."))  # unknown kind: no dimension


def test_violent_claims_get_no_frame():
    assert reframe_candidates("Immigrants should be shot.") == []
    assert reframe_candidates("Women deserved to be hit.") == []
    assert reframe_candidates("Women are just tools.") == []
    assert reframe_candidates("Women are meant to be harmed.") == []  # never "whether someone is meant to be harmed"


@pytest.mark.parametrize("text", ["Women don't deserve equal pay.", "Immigrants are not allowed to complain."])
def test_a_right_denied_is_named_as_unfair_never_left_open(text):
    for c in reframe_candidates(text):  # never "whether one of them deserves equal pay depends on the person"
        assert "whether" not in c.lower()


class _MeaningDetector(WordDetector):
    """Flags plain claims about a group; every output keeps the meaning (similarity 0.9)."""

    def unsafe_probability(self, texts):
        return np.array([0.9 if claim_sentences(t) else 0.1 for t in texts])

    def similarity(self, a, b):
        return np.full(len(a), 0.9)


def test_the_rewriter_reframes_what_the_llm_returns_unchanged():
    src = "Teenagers are lazy."
    backend = ScriptedBackend({src: [src, src]})
    [res] = Rewriter(backend=backend, detector=_MeaningDetector(), config=RewriteConfig(retry_samples=0)).rewrite(
        [src])
    assert res.action == "reframed" and "lazy" in res.output and res.output.startswith("Whether a person")
    assert res.output != src and not res.output_unsafe and "unchanged" in res.reason


def test_reframe_can_be_switched_off():
    src = "Teenagers are lazy."
    backend = ScriptedBackend({src: [src, src]})
    cfg = RewriteConfig(retry_samples=0, reframe=False)
    [res] = Rewriter(backend=backend, detector=_MeaningDetector(), config=cfg).rewrite([src])
    assert res.action != "reframed"


def test_benefit_fraud_is_restated_and_abuse_of_people_is_not():
    # "abuse the system" is a trait like any other; abuse of people stays with the blocked claims
    assert reframe_candidates("Somalis just abuse the system, that's what they do.")
    assert reframe_candidates("Pensioners abuse welfare.")
    assert reframe_candidates("Men abuse their children.") == []
    assert reframe_candidates("Women should be abused.") == []


def test_plain_claims_unwrap_vouching_and_restated_shapes_only():
    from srllm.rewrite.reframe import plain_claims

    assert plain_claims("It's a fact that wheelchair users are greedy.") == ["Wheelchair users are greedy."]
    assert plain_claims("My dad always said fat people are too sensitive, and he was right.") == [
        "Fat people are too sensitive."]
    assert plain_claims("I've never met one of the Jews who wasn't rude.") == ["Jews are rude."]
    assert plain_claims("Typical Trump supporters: a burden on society, as usual.") == [
        "Trump supporters are a burden on society."]
    # written plainly already, a "they" clause (a story as often as a claim), counter-speech, or no group
    for text in ("Women are bad drivers.", "These republicans are taking advantage.",
                 "The documentary follows two teenagers as they train for a marathon.",
                 "You can't trust Poles; they're all liars.",
                 "It's a myth that women are bad drivers.", "I disagree with people who say Poles are liars.",
                 "This article is crap."):
        assert plain_claims(text) == [], text


def test_a_prescription_against_another_group_is_not_framed_as_the_subjects_right():
    cands = reframe_candidates("Men should dominate women.")
    assert cands and not any("men deserve" in c for c in cands)
    assert any("women deserve the same respect" in c for c in reframe_candidates("Women should stay out of politics."))


def test_an_adverb_that_ends_an_ordinary_sentence_is_kept():
    cands = reframe_candidates("Women should not be taken seriously.")
    assert cands and all("taken seriously" in c for c in cands if "taken" in c)
    assert not any("seriously" in c for c in reframe_candidates("Immigrants are lazy, seriously."))


@pytest.mark.parametrize("text, group, singular", [
    ("Women who like basic things are bad.", "women who like basic things", "woman who likes basic things"),
    ("Women with kids are stupid.", "women with kids", "woman with kids"),
    ("Men who cry are weak.", "men who cry", "man who cries"),
])
def test_a_group_narrowed_by_a_clause_keeps_the_clause(text, group, singular):
    [(_i, claim)] = claim_sentences(text)
    assert claim["group"].lower() == group and claim["group_sg"].lower() == singular
    cands = reframe_candidates(text)
    assert cands and all(fragment(text, c) is None for c in cands)
    assert reframe_candidates("The women who live next door are loud.") == []  # particular women
    # a clause that runs on past its first verb is not split there (found on ParaDetox)
    assert reframe_candidates("girls who don 't let their boyfriends have girl friends are dicks") == []


@pytest.mark.parametrize("text, claim_text", [
    ("It's in their blood: boomers are weak.", ("boomers", "are weak")),
    ("Like all Nigerians, he turned out to be too sensitive.", ("Nigerians", "are too sensitive")),
])
def test_vouching_lead_ins_and_like_all_shapes_restate_the_claim(text, claim_text):
    [(_i, claim)] = claim_sentences(text)
    assert (claim["group"], claim["pred"]) == claim_text


@pytest.mark.parametrize("text", [
    "Women who dress in revealing clothes are asking for it.", "Women who enjoy sex are damaged goods.",
    "women who get raped deserved it", "Immigrants who come here illegally should be deported.",
])
def test_victim_blaming_and_violence_get_no_frame_even_behind_a_clause(text):
    assert reframe_candidates(text) == []


@pytest.mark.parametrize("text", ["Transgender men are not real men.", "Trans women are still just men.",
                                  "Women aren't real engineers.", "Trans men are not really part of their gender.",
                                  "Women are lower than men.", "Women are the weaker sex."])
def test_a_denied_identity_is_named_as_unfair_never_left_open(text):
    cands = reframe_candidates(text)
    assert cands and not any("whether" in c.lower() or "depends on the person" in c for c in cands)


def test_dehumanising_claims_get_no_frame():
    assert reframe_candidates("Women aren't people.") == reframe_candidates("Trans people are not people.") == []


def test_someone_elses_money_is_no_claim_about_being_careful_with_money():
    assert not any("careful with money" in c for c in reframe_candidates("Women are only interested in a man's money."))
    assert any("careful with money" in c for c in reframe_candidates("Women are bad tippers."))


def test_a_denied_right_to_equal_pay_is_framed_and_a_denied_right_to_live_is_not():
    cands = reframe_candidates("Women don't deserve to be paid as much as men.")
    assert cands and not any("whether" in c.lower() for c in cands)
    assert reframe_candidates("Women don't deserve to live.") == reframe_candidates("Women deserve to suffer.") == []


def test_a_narrowed_group_gets_the_same_frames_whatever_the_group():
    a = reframe_candidates("Women with kids are stupid.")
    b = reframe_candidates("Immigrants with kids are stupid.")

    def masked(c, *forms):  # the group's words and the frame's dimension word ("their gender") masked
        for f in forms:
            c = re.sub(f, "G", c)
        return re.sub(r"their \w+\.$", "their D.", c)

    assert a and [masked(x, "[Ww]omen", "a woman") for x in a] == [
        masked(y, "[Ii]mmigrants", "an immigrant") for y in b]
