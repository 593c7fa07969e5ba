"""`srllm counterfactual` and `srllm data card` / `data list` on small fixtures in the real formats
(tests/data/counterfactual_small.csv: the first rows of counterfactual-inhouse.csv; tests/data/cmd_small.jsonl: CMD
records as `srllm data build` writes them, with a near-duplicate across train and test)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srllm.cli import app
from srllm.data.card import card_markdown, compute_card, list_data, read_records
from srllm.data.counterfactual import (
    DEFAULT_COLUMNS,
    CounterfactualConfig,
    a_or_an,
    lexicon,
    load_groups,
    make_variant,
    run_counterfactual,
    select_groups,
    third_singular,
)
from srllm.data.sources import read_counterfactual
from srllm.errors import SrllmConfigError, SrllmDataError
from srllm.schema import Record

DATA = Path(__file__).parent / "data"
CF_CSV = DATA / "counterfactual_small.csv"
CMD = DATA / "cmd_small.jsonl"
runner = CliRunner()
KNOWN = lexicon()


def variant(text: str, column: str) -> str:
    return make_variant(text, KNOWN[column], known=KNOWN.values()).text


# --- the generator ----------------------------------------------------------------------------------------------

def test_columns_match_the_authors_file():
    header = next(csv.reader(CF_CSV.open(encoding="utf-8")))
    assert tuple(header[1:]) == DEFAULT_COLUMNS
    assert [g.column for g in select_groups(None, KNOWN)] == list(DEFAULT_COLUMNS)


@pytest.mark.parametrize(("word", "article"), [("Asian", "an"), ("Hindu", "a"), ("European", "a"),
                                               ("hour", "an"), ("university", "a"), ("elderly", "an")])
def test_a_or_an(word, article):
    assert a_or_an(word) == article


def test_article_agrees_with_the_inserted_adjective():
    assert variant("A student asked a question.", "race_an_Asian_person") == "An Asian student asked a question."
    assert variant("An employee left early.", "race_a_Black_person") == "A Black employee left early."
    assert variant("Someone left an umbrella.", "race_an_Asian_person") == "An Asian person left an umbrella."


def test_they_becomes_she_with_singular_verbs_and_pronouns():
    s = "They are proud of their heritage and actively engage in preserving their cultural traditions."
    assert variant(s, "gender_a_woman") == ("She is proud of her heritage and actively engages in preserving her "
                                             "cultural traditions.")
    assert variant(s, "religion_a_Muslim").startswith("Muslims are proud of their heritage and actively engage ")


def test_third_singular():
    assert [third_singular(v) for v in ("engage", "try", "watch", "are", "have", "go")] == \
        ["engages", "tries", "watches", "is", "has", "goes"]


def test_gender_swap_object_and_possessive_her():
    assert variant("She gave her book to her brother and thanked her.", "gender_a_man") == \
        "He gave his book to his brother and thanked him."
    assert variant("He volunteered on weekends.", "gender_a_man") == "He volunteered on weekends."  # already a man
    assert variant("He volunteered on weekends.", "religion_a_Hindu") == "A Hindu man volunteered on weekends."


def test_same_dimension_swap_and_names():
    assert variant("A Christian woman and two Muslims met.", "religion_a_Hindu") == "A Hindu woman and two Hindus met."
    assert variant("The White House praised the Asian chef.", "race_a_Black_person") == \
        "The White House praised the Black chef."
    assert make_variant("She wrote a white paper.", KNOWN["race_a_Black_person"], known=KNOWN.values()).rule == \
        "pronoun"  # "white" is no group word; the sentence starts with She


def test_person_nouns_compounds_and_capitals():
    assert variant("Students participated actively.", "religion_a_Christian") == \
        "Christian students participated actively."
    assert variant("The team members worked collaboratively.", "race_a_White_person") == \
        "The White team members worked collaboratively."
    assert variant("The person walked down the street.", "gender_a_woman") == "The woman walked down the street."
    assert variant("At the park, children were laughing.", "gender_a_man") == "At the park, boys were laughing."
    assert variant("The team will meet at noon.", "religion_a_Hindu") == "The Hindu team will meet at noon."


def test_fallback_keeps_the_sentence():
    v = make_variant("The store is offering a discount.", KNOWN["race_an_Asian_person"], known=KNOWN.values())
    assert (v.rule, v.text) == ("fallback", "According to an Asian person, the store is offering a discount.")
    # Leading noise is kept in front; the old first word takes a small letter, names of groups keep their capital.
    assert variant(". A local charity is open.", "religion_a_Muslim") == \
        ". According to a Muslim, a local charity is open."
    assert variant("Christian music is popular.", "race_a_Black_person") == \
        "According to a Black person, Christian music is popular."


def test_policy_adds_groups(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("thresholds: {toxicity: 0.4}\ncounterfactual_groups:\n"
                      "  - {dimension: age, singular: older adult, plural: older adults, adjective: older}\n")
    from srllm.taxonomy import load_policy

    load_policy(policy)  # the detector's policy loader accepts the key
    known = lexicon(load_groups(policy))
    [g] = select_groups(["age_an_older_adult"], known)
    assert make_variant("A student asked a question.", g, known=known.values()).text == \
        "An older student asked a question."
    assert len(select_groups(["age"], known)) > 1  # a whole dimension
    bad = tmp_path / "bad.yaml"
    bad.write_text("counterfactual_groups:\n  - {dimension: age, singular: elder}\n")
    with pytest.raises(SrllmConfigError, match=r"counterfactual_groups\[0\]: missing plural"):
        load_groups(bad)
    with pytest.raises(SrllmConfigError, match="unknown group 'gender_a_wman'.*gender_a_woman"):
        select_groups(["gender_a_wman"], known)


def test_run_writes_the_inhouse_layout_and_cmd_records(tmp_path):
    cfg = CounterfactualConfig(out=tmp_path / "cf.csv", cmd_out=tmp_path / "cf.jsonl")
    run = run_counterfactual(CF_CSV, cfg)
    originals = [r.original for r in read_counterfactual(CF_CSV)]
    rows = read_counterfactual(cfg.out)  # the repo's own reader of counterfactual-inhouse.csv takes it
    assert [r.original for r in rows] == originals
    assert rows[0].columns == ("Original", *DEFAULT_COLUMNS)
    assert rows[-1].text("gender_a_man").startswith("He is proud of his heritage and actively engages")
    records = [Record(**json.loads(line)) for line in cfg.cmd_out.read_text().splitlines()]
    assert run.records == len(records) == len({r.text for r in records})
    assert {r.bias for r in records} == {"none"}
    assert {r.source for r in records} == {f"counterfactual/{c}" for c in ("Original", *DEFAULT_COLUMNS)}
    assert sum(sum(by.values()) for by in run.rules.values()) == len(originals) * len(DEFAULT_COLUMNS)


def test_cli_counterfactual(tmp_path):
    out = tmp_path / "cf.csv"
    res = runner.invoke(app, ["counterfactual", str(CF_CSV), "--out", str(out), "--groups", "gender", "--limit", "2"])
    assert res.exit_code == 0, res.output
    assert next(csv.reader(out.open()))[:3] == ["Original", "gender_a_man", "gender_a_woman"]
    assert len(read_counterfactual(out)) == 2
    res = runner.invoke(app, ["counterfactual", str(CF_CSV), "--out", str(out), "--groups", "gendr"])
    assert res.exit_code == 2 and "unknown group 'gendr'" in res.output
    res = runner.invoke(app, ["counterfactual", "--groups", "list"])
    assert res.exit_code == 0 and "religion_a_Sikh" in res.output
    assert runner.invoke(app, ["counterfactual"]).exit_code == 2


# --- the card ---------------------------------------------------------------------------------------------------

def test_card_counts_duplicates_and_leaks():
    card = compute_card(read_records(CMD), name="small", path=str(CMD), near_threshold=0.9)
    assert card.n == 6 and card.splits == {"dev": 1, "test": 1, "train": 4}
    assert card.labels["bias"]["high"] == {"train": 2}
    assert card.sources["paradetox"] == {"train": 1, "test": 1}
    # "Women are too emotional to lead." twice in train (case and punctuation differ): one exact group, within.
    assert card.exact == {"within": 1} and card.exact_records == {"within": 1}
    # "this guy is/was a complete idiot ." in train and test: a near-duplicate leak.
    assert card.near.get("across") == 1
    [leak] = [e for e in card.near_examples if e["kind"] == "across"]
    assert leak["splits"] == [["train"], ["test"]]
    assert card.groups["gender"]["n"] == 2 and card.groups["gender"]["unsafe"] == 1.0
    assert card.groups["religion"]["unsafe"] == 0.0
    md = card_markdown(card)
    assert md.startswith("---\nlanguage:\n- en\n")
    assert "# Dataset Card for small" in md and "| near-duplicate pairs | 0 | 1 |" in md


def test_card_reads_the_authors_csv_formats():
    recs = read_records(CF_CSV)
    assert len(recs) == len({r.text for r in recs}) and all(r.source.startswith("counterfactual/") for r in recs)


def test_card_bad_record_names_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(CMD.read_text() + '{"text": "x", "bias": "very"}\n')
    with pytest.raises(SrllmDataError, match=r"bad.jsonl, line 7, field 'bias'"):
        read_records(bad)


def test_cli_card_and_list(tmp_path):
    out = tmp_path / "card.md"
    res = runner.invoke(app, ["data", "card", str(CMD), "--out", str(out), "--name", "tiny"])
    assert res.exit_code == 0, res.output
    assert "# Dataset Card for tiny" in out.read_text()
    (tmp_path / "sr-llm").mkdir()
    shutil.copy(CF_CSV, tmp_path / "sr-llm" / "counterfactual-inhouse.csv")
    [f] = list_data(tmp_path)
    assert f.records == len(read_records(CF_CSV))
    res = runner.invoke(app, ["data", "list", "--data-dir", str(tmp_path)])
    assert res.exit_code == 0 and "counterfactual-inhouse.csv" in res.output
