import pytest

from srllm.errors import SrllmConfigError
from srllm.taxonomy import LLAMA_GUARD_3, default_taxonomy, load_policy


def test_default_taxonomy_has_the_design_categories():
    tax = default_taxonomy()
    for cid in ["bias.gender", "bias.race", "bias.religion", "bias.age", "bias.nationality", "bias.political",
                "bias.socioeconomic", "bias.disability", "bias.sexual_orientation", "bias.body", "toxicity",
                "toxicity.insult", "stereotyping", "harm.violence", "harm.self_harm"]:
        assert cid in tax
        assert tax[cid].severity in ("low", "medium", "high")
    assert all(code in LLAMA_GUARD_3 for c in tax for code in c.llama_guard)


def test_policy_adds_disables_and_rethresholds(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "default_threshold: 0.6\n"
        "categories:\n  - {id: bias.caste, description: Caste discrimination, severity: high, llama_guard: [S10]}\n"
        "disable: [bias.political]\n"
        "thresholds: {toxicity: 0.8}\n"
    )
    tax = load_policy(policy)
    assert "bias.caste" in tax and tax["bias.caste"].severity == "high"
    assert "bias.political" not in tax
    assert tax.threshold("toxicity") == 0.8
    assert tax.threshold("bias.gender") == 0.6


def test_disabling_a_parent_disables_children(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("disable: [harm]\n")
    tax = load_policy(policy)
    assert not tax.enabled("harm.violence") and tax.enabled("bias.age")


def test_group_terms_come_from_the_taxonomy_and_a_policy_extends_them(tmp_path):
    tax = default_taxonomy()
    assert {"women", "muslims", "gay", "immigrants", "old"} <= tax.group_terms
    assert not {"stupid", "trash", "idiot"} & tax.group_terms
    policy = tmp_path / "p.yaml"
    policy.write_text("categories:\n  - {id: bias.caste, description: Caste discrimination, groups: [Dalit, dalits]}\n"
                      "groups: {bias.gender: [nonbinary]}\ndisable: [bias.religion]\n")
    tax = load_policy(policy)
    assert {"dalit", "dalits", "nonbinary", "women"} <= tax.group_terms
    assert "muslims" not in tax.group_terms  # a disabled category's groups are not protected words


def test_terms_flag_words_and_a_policy_adds_or_clears_them(tmp_path):
    terms = default_taxonomy().flag_terms
    assert {"fuck", "shit"} <= set(terms["toxicity.profanity"]) and "nigger" in terms["toxicity.identity_attack"]
    assert not {"stupid", "dumb", "women", "dick"} & {w for ws in terms.values() for w in ws}
    policy = tmp_path / "p.yaml"
    policy.write_text("terms: {toxicity.insult: [Numpty, 'pain  in the neck']}\n"
                      "categories:\n  - {id: toxicity.identity_attack, terms: []}\n")
    terms = load_policy(policy).flag_terms
    assert {"numpty", "pain in the neck", "idiot"} <= set(terms["toxicity.insult"])
    assert "toxicity.identity_attack" not in terms


@pytest.mark.parametrize("text,needle", [
    ("thresholds: {toxcity: 0.3}\n", "Did you mean toxicity"),
    ("groups: {bias.gendr: [x]}\n", "Did you mean bias.gender"),
    ("groups: {bias.gender: women}\n", "groups must be a list of words"),
    ("groups: [women]\n", "groups must map a category id"),
    ("terms: {toxicity.profanity: shit}\n", "terms must be a list of words"),
    ("terms: {toxicity.profaniti: [x]}\n", "Did you mean toxicity.profanity"),
    ("thresholds: {toxicity: 1.5}\n", "between 0 and 1"),
    ("colour: red\n", "unknown key"),
    ("categories:\n  - {id: new.thing}\n", "needs a 'description'"),
    ("categories:\n  - {id: bias.x, description: d, llama_guard: [S99]}\n", "S1..S14"),
])
def test_bad_policy_gives_clear_error(tmp_path, text, needle):
    policy = tmp_path / "bad.yaml"
    policy.write_text(text)
    with pytest.raises(SrllmConfigError, match=needle) as info:
        load_policy(policy)
    assert str(policy) in str(info.value)


def test_read_taxonomy_reads_a_whole_file_not_a_policy(tmp_path):
    from importlib import resources

    from srllm.taxonomy import read_taxonomy

    whole = tmp_path / "default.yaml"
    whole.write_text(resources.files("srllm.taxonomy").joinpath("default.yaml").read_text("utf-8"))
    assert read_taxonomy(whole).group_terms == default_taxonomy().group_terms
    small = tmp_path / "small.yaml"
    small.write_text("categories:\n  - {id: bias, name: Bias, description: x, groups: [women]}\n")
    tax = read_taxonomy(small)
    assert [c.id for c in tax] == ["bias"] and tax.group_terms == {"women"}
    with pytest.raises(SrllmConfigError, match="does not exist"):
        read_taxonomy(tmp_path / "missing.yaml")
