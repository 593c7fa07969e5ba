"""Build the stereotype rewrite data: held-out stereotype statements (dev, test) and stereotype -> benign training
pairs plus keep-unchanged group mentions (train), split so no template or near-duplicate crosses.

Split rules (those of the detector's held-out stereotype set, srllm.data.stereotypes.heldout_set, so both halves
hold out the same texts where both use them):
1. Templates: pattern ids and trait ids are split 60/20/20 with the same seed ("stereo-set-v1"); a sentence belongs
   to a split only if its pattern and every trait are in it.
2. Near-duplicates: texts are group-masked (lexicon phrases and taxonomy group words -> "someone") and embedded
   (MiniLM); texts with masked cosine >= 0.88 are linked (union-find over 10 nearest neighbours); a cluster takes
   one split (template clusters their template split; a cluster mixing template splits goes to train only).
3. A cluster holding a text the shipped detector trained on (its train/val split) is never test.
4. Other clusters: seeded hash 70/15/15 of the cluster's first text.
Extra rule (mine): statements near the issue's six examples (masked cosine >= 0.88, or using one of their traits)
are never trained on, so the demo examples stay unseen.

`build_stereotypes(out_dir, shipped=..., align=...)` writes stereo_{dev,test}.jsonl (statements),
stereo_pairs.jsonl (CMD records: text, rewrite, split "train", source "stereo/<source>", categories, frame),
stereo_all_statements.jsonl (every candidate and its split, for other builders to exclude) and stereo_counts.md.
`shipped`: a JSONL of the shipped detector's training texts with their split (rule 3; optional); `align`: the
detector's stereotype set (text, split) whose dev/test texts are never trained on here (optional).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path

import numpy as np

from srllm.atomic import write_text_atomic
from srllm.data.group_lexicon import GROUPS, all_phrases
from srllm.data.normalize import normalize
from srllm.data.sources.files import read_jsonl
from srllm.rewrite.groups import parse_claim as parse

from .sources import external_statements, group_words
from .targets import (
    choose,
    claim_targets,
    frames,
    positive_predicate,
    singular_noun_predicate,
    singular_predicate,
)
from .templates import SAFE, STEREO, TRAITS_A, TRAITS_ATTR, TRAITS_V, TRAITS_X

SEED = "stereo-set-v1"
NEAR = 0.88
_ENCODER = None


def embed(texts: list[str]) -> np.ndarray:
    """L2-normalised MiniLM embeddings (the detector's encoder)."""
    global _ENCODER
    from srllm.detect.encoding import encode_texts
    from srllm.models import load_sentence_encoder

    if _ENCODER is None:
        _ENCODER = load_sentence_encoder(None)
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return encode_texts(_ENCODER, list(texts), max_seq_length=128, batch_size=64)

ISSUE_EXAMPLES = [
    "Immigrants are stealing our jobs and ruining the neighborhood.",
    "Lazy teenagers are useless and have zero discipline.",
    "That reviewer is a clueless idiot who writes garbage.",
    "Old drivers are a menace and should lose their licenses.",
    "Women are too emotional to be good engineers, everyone knows that.",
    "this article is crap",
]
ISSUE_TRAITS = {("A", "useless and have zero discipline"), ("A", "a menace"), ("X", "be good engineers"),
                ("V", "are stealing our jobs and ruining the neighborhood"), ("V", "steal our jobs")}

# test/dev composition: per source, how many (test, dev); templates are drawn evenly over kinds of group
TEST_N = {"template": 170, "crows_pairs": 60, "sbic": 40, "gest": 12, "stereoset": 20}
DEV_N = {"template": 40, "crows_pairs": 20, "sbic": 10, "gest": 4, "stereoset": 6}
TRAIN_CAP = {"sbic": 600, "gest": 200, "crows_pairs": 400, "stereoset": 200}
TEMPLATE_PER_PATTERN = 40   # train templates per stereotype pattern
SAFE_PER_PATTERN = 8        # keep-unchanged group mentions per safe pattern (train patterns only)


def rank(key: str) -> float:
    return int(hashlib.sha1(f"{SEED}:{key}".encode()).hexdigest()[:12], 16) / 16 ** 12


def norm(t: str) -> str:
    return normalize(t, "words")


def _strat_split(keys: list[str], salt: str) -> dict[str, str]:
    order = sorted(keys, key=lambda k: rank(f"{salt}:{k}"))
    n = len(order)
    n_test, n_dev = max(1, round(0.2 * n)), max(1, round(0.2 * n))
    return {k: "test" if i < n_test else "dev" if i < n_test + n_dev else "train" for i, k in enumerate(order)}


def template_splits():
    trait_lists = {"A": TRAITS_A, "V": TRAITS_V, "X": TRAITS_X, "T": TRAITS_ATTR}
    tsplit = {}
    for s, lst in trait_lists.items():
        tsplit.update({(s, t): v for t, v in _strat_split(lst, f"trait:{s}").items()})
    psplit = {}
    for patterns in (STEREO, SAFE):
        fams = defaultdict(list)
        for pid, _ in patterns:
            fams[re.match(r"[a-z]+[A-Z]", pid).group(0)].append(pid)
        for pids in fams.values():
            psplit.update(_strat_split(pids, f"pattern:{re.match(r'[a-z]+[A-Z]', pids[0]).group(0)}"))
    return psplit, tsplit


def fix_articles(text: str) -> str:
    def rep(m):
        art, word = m.group(1), m.group(2)
        an = word[0].lower() in "aeiou" and not word.lower().startswith(("uni", "eu", "one", "use"))
        new = "an" if an else "a"
        return (new.capitalize() if art[0].isupper() else new) + " " + word
    return re.sub(r"\b([Aa]n?) (\w+)", rep, text)


def _plural_trait(slot: str, trait: str) -> bool:
    last = trait.split()[-1]
    return (slot in ("A", "X") and last.endswith("s") and not last.endswith(("ous", "ss"))) or trait == "all the same"


# claim and predicate per stereotype pattern (None: "{G} are {A}" / "{G} {V}" / "{G} can't {X}" by slot)
CLAIM = {"sA11": "{G} are always {A}", "sA16": "{G} are always {A}", "sT2": "{G} are ruining this town",
         "sT3": None, "sX8": "{G} are too emotional to {X}", "sX3": "{G} are not smart enough to {X}",
         "sX2": "{G} shouldn't be allowed to {X}", "sX4": "{G} shouldn't be allowed to {X}",
         "sX12": "{G} shouldn't be allowed to {X}", "sX5": "{G} can't learn to {X}", "sX9": "{G} will never {X}",
         "sX11": "{G} don't have what it takes to {X}"}


def template_claim(pid: str, pattern: str, fill: dict) -> tuple[str, str] | None:
    """(claim, predicate) of a template sentence."""
    spec = CLAIM.get(pid, "")
    if spec is None:
        return None
    if not spec:
        spec = "{G} are {A}" if "{A}" in pattern else "{G} {V}" if "{V}" in pattern else "{G} can't {X}"
    claim = spec
    for k, v in fill.items():
        claim = claim.replace("{" + k + "}", v)
    return claim, claim[len(fill["G"]) + 1:]


def template_items(rng: random.Random, psplit, tsplit, per_pattern: dict[str, int]) -> list[dict]:
    """Stereotype template sentences; per_pattern: split -> sentences per pattern."""
    trait_lists = {"A": TRAITS_A, "V": TRAITS_V, "X": TRAITS_X, "T": TRAITS_ATTR}
    kinds = list(GROUPS)
    out = []
    for pid, pat in STEREO:
        sp = psplit[pid]
        used = [s for s in "AVXT" if "{" + s + "}" in pat]
        combos = [()]
        for s in used:
            combos = [c + ((s, t),) for c in combos for t in trait_lists[s] if tsplit[(s, t)] == sp
                      and not ("{Gs}" in pat and _plural_trait(s, t))]
        rng.shuffle(combos)
        n = per_pattern[sp]
        k = int(rank(pid) * 13)
        for i in range(n):
            if not combos:
                break
            combo = combos[i % len(combos)]
            kind = kinds[k % len(kinds)]
            k += 1
            pl, adj, sg = rng.choice(GROUPS[kind])
            fill = {s: t for s, t in combo}
            fill["G"] = pl
            text = pat
            for s, t in combo:
                text = text.replace("{" + s + "}", t)
            text = fix_articles(text.replace("{G}", pl).replace("{Gs}", sg).replace("{Ga}", adj or ""))
            text = text[0].upper() + text[1:]
            out.append({"text": text, "source": "template", "kind": kind, "pattern": pid,
                        "traits": [f"{s}:{t}" for s, t in combo], "group": pl, "group_sg": sg,
                        "template_split": sp, "fill": fill, "pattern_text": pat})
    seen, uniq = set(), []
    for r in out:
        if norm(r["text"]) not in seen:
            seen.add(norm(r["text"]))
            uniq.append(r)
    return uniq


@lru_cache(maxsize=4)
def _mask_re(words: frozenset[str] | None) -> re.Pattern:
    ordered = sorted(set(all_phrases()) | (group_words() if words is None else words), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in ordered) + r")(?![\w-])", re.I)


def mask_groups(text: str, words: frozenset[str] | None = None) -> str:
    """Lexicon phrases and group words -> "someone". `words`: the group words (default `group_words()`: the
    lexicon's words and the installed taxonomy's groups)."""
    return _mask_re(words).sub("someone", text)


def clusters(texts: list[str], near: float = NEAR, k: int = 10, *, words: frozenset[str] | None = None,
             embed_fn=None) -> np.ndarray:
    """Near-duplicate cluster of each text (the smallest index in it): texts are group-masked (`words` as in
    `mask_groups`) and embedded (`embed_fn`, default `embed`: texts -> L2-normalised rows); a text is linked to each
    of its k nearest neighbours with cosine >= `near` (union-find)."""
    emb = (embed_fn or embed)([mask_groups(t, words) for t in texts])
    n = len(texts)
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for s in range(0, n, 2048):
        sims = emb[s:s + 2048] @ emb.T
        for i in range(sims.shape[0]):
            gi, row = s + i, sims[i]
            for j in np.argpartition(-row, min(k, n - 1))[:k + 1]:
                if j != gi and row[j] >= near:
                    a, b = find(gi), find(int(j))
                    if a != b:
                        parent[max(a, b)] = min(a, b)
    return np.array([find(i) for i in range(n)])


# ---- targets -----------------------------------------------------------------------------------------------------
def targets_for(item: dict, k: int) -> list[tuple[str, str]]:
    """k (frame, target) pairs for a stereotype statement, or [] when no frame fits."""
    if item["source"] == "template":
        fill = item["fill"]
        if item["pattern"] == "sT3":
            g = item["group"]
            return [("belong", f"{g[:1].upper() + g[1:]} belong here as much as anyone else.")][:k]
        ct = template_claim(item["pattern"], item["pattern_text"], fill)
        claim, pred = ct
        group, group_sg, kind = item["group"], item["group_sg"], item["kind"]
        ability = fill.get("X")
        concern_text = " ".join(fill.get(s, "") for s in "AVT") + (" town" if item["pattern"] == "sT2" else "")
    else:
        p = item.get("parse")
        if not p:
            return []
        return claim_targets(p, mask_groups(item["text"]), k)
    pos = positive_predicate(pred)
    pred_sg = (singular_predicate(pos) or singular_noun_predicate(pos)) if pos else None
    cands = frames(claim, group, group_sg, kind, pred, pred_sg, "", ability=ability, concern_text=concern_text)
    return choose(cands, mask_groups(item["text"]), k)


def cluster_members(cl: np.ndarray) -> dict[int, list[int]]:
    """Cluster id (as `clusters` gives it) -> the indices of its texts, in order of first appearance."""
    members = defaultdict(list)
    for i, c in enumerate(cl):
        members[int(c)].append(i)
    return members


def safe_items(rng: random.Random, psplit, tsplit) -> list[dict]:
    """Keep-unchanged group mentions from the safe patterns of the train split (neutral mentions and sentences that
    name a stereotype as one: a rewrite must leave them as they are)."""
    trait_lists = {"A": TRAITS_A, "V": TRAITS_V, "X": TRAITS_X, "T": TRAITS_ATTR}
    kinds = list(GROUPS)
    out = []
    for pid, pat in SAFE:
        if psplit[pid] != "train":
            continue
        used = [s for s in "AVXT" if "{" + s + "}" in pat]
        for i in range(SAFE_PER_PATTERN):
            kind = kinds[int(rank(pid + str(i)) * 1000) % len(kinds)]
            entries = [e for e in GROUPS[kind] if "{Ga}" not in pat or e[1]]
            pl, adj, sg = rng.choice(entries)
            text = pat
            for s in used:
                text = text.replace("{" + s + "}", rng.choice([t for t in trait_lists[s] if tsplit[(s, t)] == "train"]))
            text = fix_articles(text.replace("{G}", pl).replace("{Gs}", sg).replace("{Ga}", adj or ""))
            out.append({"text": text[0].upper() + text[1:], "source": "template_safe", "kind": kind, "pattern": pid})
    return out


def build_stereotypes(out_dir: str | Path, *, shipped: str | Path | None = None,
                      align: str | Path | None = None) -> dict:
    """Build the files (module doc); returns the counts."""
    OUT = Path(out_dir)
    ALIGN = Path(align) if align else None
    rng = random.Random(SEED)
    psplit, tsplit = template_splits()
    shipped = {" ".join(e["text"].lower().split()): e["split"] for e in read_jsonl(shipped)} if shipped else {}
    ext = external_statements()
    for r in ext:
        r["parse"] = parse(r["text"])
        key = " ".join(r["text"].lower().split())
        if r["source"] in ("sbic", "gest") and key not in shipped:
            key = " ".join(r["raw"].lower().split())
        r["shipped_split"] = shipped.get(key)
    tmpl = template_items(rng, psplit, tsplit, {"train": TEMPLATE_PER_PATTERN, "dev": 30, "test": 60})
    items, seen = [], set()
    for r in ext + tmpl:
        if norm(r["text"]) in seen:
            continue
        seen.add(norm(r["text"]))
        items.append(r)
    texts = [r["text"] for r in items]
    cl = clusters(texts)
    members = cluster_members(cl)
    split_of = {}
    for c, idx in members.items():
        tsplits = {items[i]["template_split"] for i in idx if "template_split" in items[i]}
        shipped_seen = {items[i].get("shipped_split") for i in idx} - {None, "test"}
        if len(tsplits) > 1:
            split_of[c] = "mixed"
        elif tsplits:
            s = tsplits.pop()
            # a held-out template near a text the shipped detector trained on: its templates are used nowhere
            split_of[c] = "mixed" if (s != "train" and shipped_seen) else s
        else:
            r = rank(f"cluster:{min(texts[i] for i in idx)}")
            s = "test" if r < 0.15 else "dev" if r < 0.30 else "train"
            split_of[c] = "train" if (s == "test" and shipped_seen) else s
    for i, r in enumerate(items):
        s = split_of[int(cl[i])]
        if s == "mixed":  # a cluster linking templates of different splits: its templates are used nowhere
            s = "excluded (cluster mixes template splits)" if "template_split" in r else "train"
        r["split"] = s
        r["cluster"] = int(cl[i])
    # never train on the issue's examples or their near-duplicates / traits
    issue_emb = embed([mask_groups(t) for t in ISSUE_EXAMPLES])
    item_emb = embed([mask_groups(t) for t in texts])
    near_issue = (item_emb @ issue_emb.T).max(axis=1) >= NEAR
    for i, r in enumerate(items):
        uses_issue_trait = any(tuple(t.split(":", 1)) in ISSUE_TRAITS for t in r.get("traits", []))
        if r["split"] == "train" and (near_issue[i] or uses_issue_trait):
            r["split"] = "excluded (issue example)"
    # align with the detector's stereotype set: a statement it puts in another split is not used here in dev/test,
    # and a statement in its dev/test is never trained on
    theirs = {}
    if ALIGN is not None:
        theirs = {norm(r["text"]): r["split"] for r in read_jsonl(ALIGN)}
    for r in items:
        other = theirs.get(norm(r["text"]))
        if ((other and other != r["split"] and r["split"] in ("dev", "test"))
                or (other in ("dev", "test") and r["split"] == "train")):
            r["split"] = f"excluded (detector set: {other})"
    # ---- dev / test selection ------------------------------------------------------------------------------------
    chosen = {"test": [], "dev": []}
    for split, quota in (("test", TEST_N), ("dev", DEV_N)):
        for src, n in quota.items():
            pool = [r for r in items if r["split"] == split and r["source"] == src]
            if src == "stereoset":  # people-subject statements only (drops "The weather in Britain is rainy.")
                pool = [r for r in pool if re.search(r"(?i)\b(people|men|women|citizens|they|[a-z]+(ans|ians|ese|s))\b"
                                                     r"\s+(are|were|have|always|can|tend|never|all|do)\b", r["text"])]
            pool.sort(key=lambda r: rank("pick:" + r["text"]))
            if src == "template" or src == "crows_pairs":  # even over kinds, then over patterns
                by_kind = defaultdict(list)
                for r in pool:
                    by_kind[r["kind"]].append(r)
                picked, i = [], 0
                while len(picked) < n and any(by_kind.values()):
                    kind = sorted(by_kind)[i % len(by_kind)]
                    if by_kind[kind]:
                        picked.append(by_kind[kind].pop(0))
                    i += 1
            else:
                picked = pool[:n]
            chosen[split] += picked
    # ---- training pairs ----------------------------------------------------------------------------------------------
    pairs = []
    train = [r for r in items if r["split"] == "train"]
    by_src = defaultdict(list)
    for r in train:
        by_src[r["source"]].append(r)
    dev_test_emb = embed([mask_groups(r["text"]) for s in ("dev", "test") for r in chosen[s]])
    for src, rows in by_src.items():
        rows.sort(key=lambda r: rank("train:" + r["text"]))
        n_used = 0
        for r in rows:
            if n_used >= TRAIN_CAP.get(src, 10 ** 9):
                break
            tg = targets_for(r, 2 if src == "template" else 1)
            if not tg:
                continue
            n_used += 1
            for fid, target in tg:
                pairs.append({"text": r["text"], "rewrite": target, "frame": fid, "source": f"stereo/{src}",
                              "kind": r["kind"], "pattern": r.get("pattern"), "split": "train"})
    safe = safe_items(rng, psplit, tsplit)
    for r in safe:
        pairs.append({"text": r["text"], "rewrite": r["text"], "frame": "keep", "source": "stereo/keep",
                      "kind": r["kind"], "pattern": r["pattern"], "split": "train"})
    # a training input near a dev/test statement (masked cosine >= NEAR) is dropped
    pairs = [p for p in pairs if theirs.get(norm(p["text"]), "train") == "train"]
    pe = embed([mask_groups(p["text"]) for p in pairs])
    near = (pe @ dev_test_emb.T).max(axis=1) >= NEAR
    dropped_near = int(near.sum())
    pairs = [p for p, n in zip(pairs, near, strict=True) if not n]
    # ---- write -----------------------------------------------------------------------------------------------------
    OUT.mkdir(parents=True, exist_ok=True)
    keep_fields = ("text", "source", "kind", "split", "pattern", "traits", "group", "cluster", "shipped_split")
    for split in ("test", "dev"):
        recs = []
        for i, r in enumerate(chosen[split]):
            rec = {k: r[k] for k in keep_fields if k in r}
            rec["id"] = f"stereo-{split}-{i:03d}"
            recs.append(rec)
        _write_jsonl(OUT / f"stereo_{split}.jsonl", recs)
    for i, p in enumerate(pairs):
        p["id"] = f"stereo-pair-{i:05d}"
        cat = "bias." + p["kind"].replace("race/nationality", "race") if p["frame"] != "keep" else None
        p["categories"] = [cat, "stereotyping"] if cat else []
        p["bias"] = "high" if cat else "none"
    _write_jsonl(OUT / "stereo_pairs.jsonl", pairs)
    # every statement and its split (for other builders to exclude)
    _write_jsonl(OUT / "stereo_all_statements.jsonl", [{k: r[k] for k in keep_fields if k in r} for r in items])
    return counts(OUT, chosen, pairs, items, dropped_near)


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in rows))


def counts(OUT: Path, chosen, pairs, items, dropped_near) -> dict:
    lines = ["# Stereotype rewrite set: counts", ""]
    for split in ("test", "dev"):
        c = Counter(r["kind"] for r in chosen[split])
        s = Counter(r["source"] for r in chosen[split])
        lines += [f"## {split}: {len(chosen[split])} statements, {len(c)} kinds of group", "",
                  "| kind | n |", "|---|---|"] + [f"| {k} | {v} |" for k, v in sorted(c.items(), key=lambda x: -x[1])]
        lines += ["", "| source | n |", "|---|---|"] + [f"| {k} | {v} |" for k, v in s.most_common()] + [""]
    c = Counter((p["source"], p["frame"]) for p in pairs)
    lines += [f"## training pairs: {len(pairs)} ({dropped_near} dropped as near a dev/test statement)", "",
              "| source | frame | n |", "|---|---|---|"] + [f"| {a} | {b} | {n} |" for (a, b), n in sorted(c.items())]
    k = Counter(p["kind"] for p in pairs if p["frame"] != "keep")
    lines += ["", "| kind (stereotype pairs) | n |", "|---|---|"] + [f"| {a} | {n} |" for a, n in k.most_common()]
    sp = Counter(r["split"] for r in items)
    lines += ["", "## all candidate statements by split", ""] + [f"- {a}: {n}" for a, n in sp.most_common()]
    write_text_atomic(OUT / "stereo_counts.md", "\n".join(lines) + "\n")
    return {"test": len(chosen["test"]), "dev": len(chosen["dev"]), "pairs": len(pairs), "markdown": "\n".join(lines)}
