"""The output checks of srllm.rewrite.quality (issue 13: no fragments, no flips, no generalisation kept) and the
span edit's conjunct removal: pure functions, checked directly."""

import numpy as np
import pytest

from srllm.rewrite.edit import remove_spans
from srllm.rewrite.quality import flip, fragment, polarity, still_generalises
from srllm.schema import Span


@pytest.mark.parametrize("source, output, why", [
    ("Immigrants are stealing our jobs and ruining the neighborhood.",
     "Stealing our jobs and ruining the neighborhood.", "lost its subject"),
    ("Lazy teenagers are useless and have zero discipline.", "Teenagers are and have zero discipline.",
     "'are and' left dangling"),
    ("X are lazy and have no brains.", "X are and have no.", "dangling 'no'"),
    ("Women are too emotional to be good engineers.", "Are too emotional to be good engineers.",
     "lost its subject"),
    ("I forgot my wallet so im eating chips and shit", "I forgot my wallet so im eating chips and",
     "dangling 'and'"),
    ("The Buddhist woman probably encouraged the bees to the area.",
     "The Buddhist woman probably encouraged the to the area.", "'the to' left dangling"),
    ("Dishonest people with HIV should go back to where they came from.",
     "Dishonest people with should go back to where they came from.", "'with should' left dangling"),
    ("aite krissy dnt make me get on yo ass lol", "aite krissy dnt make me get on yo", "dangling 'yo'"),
    ("i love ur fucking car", "i love ur", "dangling 'ur'"),
    ('"i believe he would say , "" he is nuttier than squirrel shit"', 'i believe he would say , "" he is bad than '
     'squirrel', "'bad than' is no comparative"),  # a dev output of the sampled last resort
    # ParaDetox test outputs read at stop 27 (so these cases were not found blind)
    ("sorry for being a complete bitch to you gabe", "sorry for being a complete bad to you gabe",
     "'a bad to': an adjective where a noun went"),
    ("they had bad sex the first time they had sex", "they had bad the first time they had sex",
     "'bad the': an adjective where a noun went"),
    ("he 's not a fucking moron .", "he 's not a stupid.", "'a stupid .'"),  # a human ParaDetox rewrite
])
def test_fragments_are_found(source, output, why):
    assert why in (fragment(source, output) or "")


@pytest.mark.parametrize("source, output", [
    ("shit washing machine has driven me to shit wine", "washing machine has driven me to wine"),
    ("lol are you fucking kidding me .", "Are you kidding me"),
    ("i don 't think i know this loud bitch your talking about", "i dont think i know this person youre talking about"),
    ("told y 'all dat shit what it is ! !", "You all know what it is."),
    ("dont call his lifestyle fuckery", "don't call his lifestyle bad"),
    ("is this what it is ?", "is this what it is ?"),
    ("i am hot shit , yoo .", "I'm hot, yo!"),  # a human ParaDetox rewrite: "yo" the interjection
    ("he is dumber than a fucking rock", "he is more stupid than a rock"),
    ("that was a shitty idea.", "that was a bad idea."),
    ("he was a bit shitty to me", "he was a bit bad to me"),
    ("see how silly the line of argument is ?", "see how inappropriate the line of argument is ?"),  # human rewrites
    ("and youre as smart as a big mouthed , small brained , juvenile .", "And you are a smart, small juvenile"),
])
def test_whole_sentences_pass_even_when_odd(source, output):
    assert fragment(source, output) is None


def test_doubled_words_and_a_deleted_copula_are_fragments():
    assert fragment("we are not as stupid as you think we are .", "we are not as as you think we are .") \
        == "'as as' left dangling"
    assert fragment("Women's value is in pleasing men.", "Women's value in pleasing men.") \
        == "its verb 'is' was deleted"
    assert fragment("this job is fucking making me tired", "this job is making me tired") is None
    assert fragment("the voters are stupid enough to elect her", "the voters elect her") is None  # a verb is left


def test_praise_made_criticism_is_a_flip():
    assert flip("if they stayed to party , then fuck yeah .", "if they stayed to party , then it's a bad idea.") \
        == "praise turned into criticism"
    assert flip("bitch i aint stupid !", "i am not smart !") == "praise turned into criticism"  # "aint" negates
    assert flip("who the fuck doesn 't love puppies ?", "who doesn't love puppies?") is None  # split "doesn 't"
    assert polarity("hell yeah") == 1


def test_deleting_a_verb_before_its_particle_is_a_fragment():
    why = fragment("keep in mind when fucking with the future", "keep in mind when with the future")
    assert why == "the verb 'fucking' was deleted and 'with' left dangling"
    assert "'around'" in fragment("stop fucking around", "stop around")
    assert fragment("that fucking site is shit", "that site is bad") is None
    assert fragment("so fucking over analysing it", "so over analysing it") is None


def test_deleting_a_head_noun_or_an_object_is_a_fragment():
    src = "they kept the fundamental stupidity of moving clocks at all ."
    assert fragment(src, "they kept the fundamental of moving clocks at all .") == (
        "the noun after 'fundamental' was deleted before 'of'")
    assert fragment("the fucking idiot of a man", "the idiot of a man") is None  # a modifier went, the head stayed
    src = "that person was talking shit if you forgot"
    assert fragment(src, "that person was talking if you forgot") == "the object of 'talking' was deleted"
    # a human ParaDetox rewrite: the comma ends the verb phrase
    # read through a rewrite that changed other words too ("yu" -> "you")
    src = "lol that person was talking shit if yu forgot"
    assert fragment(src, "lol that person was talking if you forgot") == "the object of 'talking' was deleted"
    assert fragment("someone tore a page out of a fucking book ?", "just tearing page of book") is None  # "out"
    src = "keeps you from talking shit , if payback matters ."
    assert fragment(src, "keeps you from talking, if payback matters") is None


def test_criticism_made_praise_is_a_flip_and_intensifiers_are_no_stance():
    assert flip("this article is crap", "this article is good") == "criticism turned into praise"
    assert flip("this article is crap", "this article is bad") is None
    assert flip("this article is crap", "this article is not good") is None  # negation counted
    assert flip("that movie was fucking great", "that movie was great") is None  # profanity is no stance
    assert polarity("isn't stupid") > 0 and polarity("not good") < 0


def test_a_kept_generalisation_is_found_and_a_framed_one_is_not():
    src = "Lazy teenagers are useless and have zero discipline."
    assert "teenagers" in still_generalises(src, "Teenagers are useless and have zero discipline.")
    assert still_generalises(src, "Whether a teenager is disciplined depends on the person.") is None
    assert still_generalises(src, "Teenagers are individuals: whether one of them is useless depends on the "
                                  "person.") is None
    assert still_generalises("that guy is an idiot", "that guy is wrong") is None  # no group named
    # the group word deleted, the claim kept behind a stand-in
    src = "Those pathetic queer people are ruining this town."
    assert "hidden behind 'Those people'" in still_generalises(src, "Those people are ruining this town.")
    assert still_generalises(src, "Those people are individuals, like anyone else.") is None
    assert still_generalises("this town is a mess", "Those people are ruining this town.") is None  # no group


def _span(text, word):
    i = text.index(word)
    return Span(start=i, end=i + len(word), text=word, score=1.0, category="toxicity")


@pytest.mark.parametrize("text, words, expected", [
    ("you are stupid and lazy", ["stupid"], "you are lazy"),
    ("he is a fucking idiot and knows nothing", ["fucking idiot"], "he knows nothing"),
    ("Lazy teenagers are useless and have zero discipline.", ["useless"], "Lazy teenagers have zero discipline."),
    ("shut the fuck up and listen", ["the fuck"], "shut up and listen"),
])
def test_a_deleted_conjunct_takes_its_conjunction(text, words, expected):
    assert remove_spans(text, [_span(text, w) for w in words]) == expected


def test_fluency_ratio_rejects_a_much_less_fluent_output():
    from srllm.rewrite import RewriteConfig, Rewriter

    class Det:
        def is_unsafe(self, texts):
            return np.array(["idiot" in t for t in texts])

        def similarity(self, a, b):
            return np.full(len(a), 0.9)

        def spans(self, text):
            return []

    class Backend:
        def generate(self, convs, cfg=None):
            return ["word salad banana the of" for _ in convs]

    def ppl(texts):  # a fake reference LM: the word salad is 10x less likely
        return np.array([100.0 if "salad" in t else 10.0 for t in texts])

    rw = Rewriter(backend=Backend(), detector=Det(), perplexity=ppl,
                  config=RewriteConfig(retry_samples=0, span_fallback=False, quality_checks=()))
    [res] = rw.rewrite(["you idiot, the plan is wrong"])
    assert res.action == "failed" and "fluency: perplexity 10.0x the input's" in res.reason
    rw = Rewriter(backend=Backend(), detector=Det(), perplexity=ppl,
                  config=RewriteConfig(retry_samples=0, span_fallback=False, quality_checks=(), max_ppl_ratio=None))
    assert rw.rewrite(["you idiot, the plan is wrong"])[0].action == "rewritten"


def test_reference_perplexity_uses_the_backend_model_without_its_adapter():
    from peft import LoraConfig, get_peft_model

    from srllm.models.lm_scoring import orthographic_form, sequence_logprobs
    from srllm.rewrite.quality import ReferencePerplexity
    from tests._tiny_lm import make_tiny_lm

    base, tok = make_tiny_lm()
    texts = ["The quick brown fox jumps over the lazy dog.", "dog lazy the over jumps fox"]
    # scored as written ("dog lazy ..." -> "Dog lazy ..."), like the FL judge
    sums, counts = sequence_logprobs(base, tok, [orthographic_form(t) for t in texts])
    expected = np.exp(-sums / counts)
    model = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False))

    class Backend:  # what TransformersBackend exposes
        pass

    backend = Backend()
    backend.model, backend.tokenizer = model, tok
    ppl = ReferencePerplexity(backend)(texts)
    assert ppl.shape == (2,) and np.all(ppl > 1)
    np.testing.assert_allclose(ppl, expected, rtol=1e-4)  # the adapter was switched off


def test_deleting_a_negation_is_a_flip_but_rewording_it_is_not():
    assert flip("A vegan will never learn English.", "A vegan will learn English.") == "a negation was deleted"
    assert flip("you don't fucking listen", "you don't listen") is None
    assert flip("this is not fucking good", "this is bad") is None  # a rewrite, not a deletion


def test_an_address_left_without_its_noun_is_a_fragment():
    assert "dangling 'you'" in fragment("shut up, you worthless moron", "shut up, you")
    assert fragment("I love you, you idiot.", "I love you.") is None
    assert fragment("thank you", "thank you") is None
