"""The held-out stereotype set's builder (srllm.data.stereotypes.heldout_set) on a tiny synthetic example dump and a
few statements, with a hash encoder (group-masked texts that are equal are near-duplicates, others are not): no
template pattern or trait and no near-duplicate cluster crosses the splits, capped-out test items go nowhere, the
rules for clusters that mix template splits, exact duplicates and `shipped_split`; and the shipped file's template
rows are the ones the builder's templates make. No ../shared, no benchmark packages, no real encoder."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter, defaultdict

import numpy as np
import pytest

from srllm.data.sources import HELDOUT_STEREOTYPES, heldout_stereotypes
from srllm.data.stereotypes.build import SEED, mask_groups
from srllm.data.stereotypes.heldout_set import (
    BASE_NEGATIVE_SOURCES,
    build_heldout_stereotype_set,
    read_base_examples,
    template_items,
)
from srllm.errors import SrllmDataError

TEMPLATES = template_items(random.Random(SEED))


def _template(split: str, source: str) -> dict:
    """The first template of a split and source that names its group (plural) inside the sentence."""
    return next(r for r in TEMPLATES if r["template_split"] == split and r["source"] == source
                and f" {r['group']} " in r["text"])


# a test-split and a train-split stereotype template made near-duplicates of each other by the encoder below
MIX_A, MIX_B = _template("test", "template")["text"], _template("train", "template")["text"]
MIX_NEG = "The committee of neighbours met to plan a clean-up day."
# a base negative that is a test-split safe template with another group: the same masked text
SAFE_T = _template("test", "template_safe")
TWIN = SAFE_T["text"].replace(f" {SAFE_T['group']} ", " Texans ")


def hash_embed(texts: list[str]) -> np.ndarray:
    """Unit vectors from a hash of the (group-masked) text; MIX_A, MIX_B and MIX_NEG share one."""
    alias = {mask_groups(t): "mixed" for t in (MIX_A, MIX_B, MIX_NEG)}
    out = np.zeros((len(texts), 64), dtype=np.float32)
    for i, t in enumerate(texts):
        seed = int(hashlib.sha1(alias.get(t, t).lower().encode()).hexdigest()[:8], 16)
        v = np.random.default_rng(seed).normal(size=64)
        out[i] = v / np.linalg.norm(v)
    return out


STATEMENTS = [
    {"text": "Women are bad at math.", "raw": "women are bad at math", "source": "sbic", "kind": "gender"},
    {"text": "Men are bad at math.", "raw": "men are bad at math", "source": "sbic", "kind": "gender"},
    {"text": "Girls can't drive.", "raw": "girls can't drive", "source": "gest", "kind": "gender"},
    {"text": "Poor people are lazy.", "source": "crows_pairs", "kind": "socioeconomic"},
    {"text": "Rich people are lazy.", "source": "crows_pairs", "kind": "socioeconomic"},
    {"text": "Muslims are violent.", "source": "stereoset", "kind": "religion"},
    {"text": "Everyone from there is a thief.", "source": "stereoset", "kind": "race/nationality"},
]


def _base_rows() -> list[dict]:
    rows = [{"text": "women are bad at math", "source": "sbic", "split": "val"},  # the raw line: shipped_split val
            {"text": "Men are  bad at MATH.", "source": "sbic", "split": "train"},  # case and spacing ignored
            {"text": "Muslims are violent.", "source": "group_mentions", "split": "train"},  # a label conflict
            {"text": "you are an idiot", "source": "paradetox", "split": "test"},  # not a negative source
            {"text": MIX_NEG, "source": "bbq_context", "split": "train"},
            {"text": TWIN, "source": "discrim_eval", "split": "test"}]
    groups = ["Muslims", "Christians", "Hindus", "women", "men", "immigrants", "retirees", "vegans"]
    places = ["market", "library", "station", "concert", "beach", "museum", "stadium", "bakery", "river", "fair",
              "harbour", "garden", "cinema", "school", "office", "church hall", "square", "zoo", "pool", "farm"]
    for i, (place, verb) in enumerate((p, v) for p in places for v in ("walked to", "met at", "left")):
        for g in groups[: 1 + i % 4]:  # clusters of group-swapped copies (identical once masked)
            src = BASE_NEGATIVE_SOURCES[i % len(BASE_NEGATIVE_SOURCES)]
            rows.append({"text": f"A few {g} {verb} the {place} on Sunday.", "source": src,
                         "split": ("train", "val", "test")[i % 3], "labels": {"bias": 0}})
    return rows


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """{"default" / "small": (counts, full rows, asset path), "caps": the small caps}: built with the default caps
    (which do not bind here), then with caps of half the default run's test items of each source with two or more."""
    tmp = tmp_path_factory.mktemp("heldout")
    base = tmp / "base_examples.jsonl"
    base.write_text("".join(json.dumps(r) + "\n" for r in _base_rows()))

    def build(name, cap):
        asset, full = tmp / f"{name}.jsonl", tmp / f"{name}-full.jsonl"
        counts = build_heldout_stereotype_set(asset, base_examples=base, full_out=full, statements=STATEMENTS,
                                              test_cap=cap, embed=hash_embed, counts_out=tmp / f"{name}.md")
        return counts, [json.loads(x) for x in full.read_text().splitlines()], asset

    out = {"default": build("default", None)}
    tests = Counter(r["source"] for r in out["default"][1] if r["split"] == "test")
    out["caps"] = {src: n // 2 for src, n in tests.items() if n >= 2}
    out["small"] = build("small", out["caps"])
    return out


@pytest.mark.parametrize("name", ["default", "small"])
def test_no_pattern_trait_or_cluster_crosses_the_splits(built, name):
    _, rows, _ = built[name]
    assert {r["split"] for r in rows} == {"train", "dev", "test"}
    seen: dict[tuple, str] = {}
    for r in rows:
        keys = [("cluster", r["cluster"]), ("masked", mask_groups(r["text"]))]
        if "pattern" in r:
            assert r["split"] == r["template_split"]
            keys += [("pattern", r["pattern"])] + [("trait", t) for t in r["traits"]]
        for key in keys:
            assert seen.setdefault(key, r["split"]) == r["split"], (key, r["text"])
    # the group-swapped copies really formed clusters of several texts, each in one split
    sizes = Counter(r["cluster"] for r in rows if r["source"] in BASE_NEGATIVE_SOURCES)
    assert sum(n > 1 for n in sizes.values()) >= 10
    assert len({r["text"].lower() for r in rows}) == len(rows)


def test_test_caps_hold_and_capped_items_go_nowhere(built):
    _, full, _ = built["default"]
    counts, small, _ = built["small"]
    test_full = Counter(r["source"] for r in full if r["split"] == "test")
    test_small = Counter(r["source"] for r in small if r["split"] == "test")
    caps = built["caps"]
    assert {"template", "template_safe"} | set(BASE_NEGATIVE_SOURCES) <= set(caps)
    for src, n in caps.items():
        assert test_full[src] > n and test_small[src] == n  # the cap binds, and holds
    assert {r["text"] for r in small if r["split"] == "test"} < {r["text"] for r in full if r["split"] == "test"}
    for split in ("train", "dev"):  # nothing capped out moved to another split
        assert [r["text"] for r in small if r["split"] == split] == [r["text"] for r in full if r["split"] == split]
    assert counts["dropped"]["test_cap"] == sum(test_full.values()) - sum(test_small.values())
    assert counts["rows"] == len(small)


def test_mixed_template_clusters_exact_duplicates_and_shipped_split(built):
    _, rows, _ = built["default"]
    by_text = {r["text"]: r for r in rows}
    # a cluster linking templates of two splits: its templates are dropped, its other members go to train
    assert MIX_A not in by_text and MIX_B not in by_text and by_text[MIX_NEG]["split"] == "train"
    # a non-template near-duplicate of a template takes the template's split
    assert SAFE_T["text"] != TWIN and mask_groups(TWIN) == mask_groups(SAFE_T["text"])
    assert by_text[TWIN]["split"] == "test" == by_text[SAFE_T["text"]]["split"]
    assert by_text[TWIN]["cluster"] == by_text[SAFE_T["text"]]["cluster"]
    # a text with both labels is dropped; text from another source of the dump is not a negative
    assert "Muslims are violent." not in by_text and "you are an idiot" not in by_text
    # shipped_split: exact text (case and spacing ignored), else an SBIC/GEST item's raw line; None when absent
    assert by_text["Men are bad at math."]["shipped_split"] == "train"
    assert by_text["Women are bad at math."]["shipped_split"] == "val"
    assert by_text["Girls can't drive."]["shipped_split"] is None
    assert all(r["label"] == 1 for r in rows if r["source"] in ("sbic", "gest", "crows_pairs", "stereoset",
                                                               "template"))
    assert all(r["label"] == 0 and r["kind"] is None for r in rows if r["source"] in BASE_NEGATIVE_SOURCES)


def test_the_written_file_is_the_test_split_in_the_shipped_format(built):
    _, rows, asset = built["default"]
    test = [r for r in rows if r["split"] == "test"]
    written = [json.loads(x) for x in asset.read_text().splitlines()]
    assert [r["text"] for r in written] == [r["text"] for r in test]
    assert all("split" not in r and "cluster" not in r and "template_split" not in r for r in written)
    assert all(("kind" in w) == (r["kind"] is not None) for w, r in zip(written, test, strict=True))
    items = heldout_stereotypes(asset)
    assert len(items) == len(test) and {i.label for i in items} == {0, 1}


def test_the_shipped_files_templates_are_made_by_the_builders_templates():
    """Every template row of the shipped set is a test-split template of `template_items`, with the same pattern,
    traits, group and kind (the rest of the set needs the benchmark packages: benchmarks/build_heldout_stereotypes.py
    regenerates it whole)."""
    made = {r["text"]: r for r in TEMPLATES}
    shipped = [json.loads(x) for x in HELDOUT_STEREOTYPES.read_text().splitlines()]
    rows = [r for r in shipped if r["source"] in ("template", "template_safe")]
    assert len(rows) == 946
    for r in rows:
        m = made[r["text"]]
        assert m["template_split"] == "test" and r["label"] == m["label"]
        assert (r["pattern"], r["traits"], r["group"], r["kind"]) == (m["pattern"], m["traits"], m["group"], m["kind"])
    per_pattern = defaultdict(int)
    for r in TEMPLATES:
        per_pattern[r["pattern"]] += 1
    assert max(per_pattern.values()) <= 60


@pytest.mark.parametrize("line, field", [({"source": "sbic", "split": "train"}, "text"),
                                         ({"text": " ", "source": "sbic", "split": "train"}, "text"),
                                         ({"text": "x", "split": "train"}, "source"),
                                         ({"text": "x", "source": "sbic", "split": "holdout"}, "split")])
def test_a_malformed_dump_names_file_line_and_field(tmp_path, line, field):
    path = tmp_path / "base.jsonl"
    path.write_text(json.dumps({"text": "ok", "source": "sbic", "split": "val"}) + "\n" + json.dumps(line) + "\n")
    with pytest.raises(SrllmDataError) as e:
        read_base_examples(path)
    assert (e.value.file, e.value.line, e.value.field) == (str(path), 2, field)
