import random
import re

from srllm.regex import word_alternation


def _plain(words):
    return "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"


def test_the_prefix_tree_matches_what_a_longest_first_alternation_matches():
    rng = random.Random(0)
    letters = "abc -"
    words = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(1, 5))).strip() or "a"
                    for _ in range(60)})
    texts = ["".join(rng.choice(letters + "d,") for _ in range(40)) for _ in range(300)]
    for flags in (0, re.IGNORECASE):
        tree = re.compile(rf"(?<![\w-]){word_alternation(words, lower=False)}(?![\w-])", flags)
        plain = re.compile(rf"(?<![\w-]){_plain(words)}(?![\w-])", flags)
        for text in texts:
            assert [m.span() for m in tree.finditer(text)] == [m.span() for m in plain.finditer(text)], text


def test_longest_word_wins_and_spaces_can_be_flexible():
    pattern = re.compile(word_alternation(["asian", "asian american", "a"]), re.I)
    assert pattern.match("Asian American man").group() == "Asian American"
    assert re.compile(word_alternation(["old people"], flexible_space=True)).search("old \t people").group() \
        == "old \t people"
    assert re.compile(word_alternation(["old people"])).search("old  people") is None
    assert re.compile(word_alternation(["a.b"])).search("axb") is None  # literal, not a wildcard
    assert re.compile(word_alternation([])).search("anything") is None
