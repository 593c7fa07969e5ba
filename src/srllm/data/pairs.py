"""Preference pairs for DPO (`srllm data pairs`), written as JSONL rows {id, kind, prompt, chosen, rejected,
chosen_kind, rejected_kind, split, source}; `prompt` is a list of chat messages.

Responses (`kind: response`), from a prompts file of `srllm data align` (rows: id, prompt, label harmful/benign,
split, optional answer) and optional scored samples (rows: id, response, unsafe, refusal, e.g. a RAFT round's
samples.jsonl):
- harmful prompt: chosen = a judged-safe sample that is not an echo, else a rule-made refusal that explains and
  offers a safe alternative; rejected = a judged-unsafe sample, else the prompt's known harmful answer (pyrit
  many-shot), else an echo of the request with a compliant lead-in.
- benign prompt (over-refusal control): chosen = a judged-safe, non-refusing sample, else the known answer (not a
  non-answer such as "I have no comment."); rejected = a refusal (a refusing sample, else a rule-made one).

Rewriting (`kind: rewrite`), from a CMD JSONL of `srllm data build`: chosen = the human rewrite; rejected = a
sample the detector still flags or that lost the meaning (with samples: rows id, response, sta, sim), else the
unsafe original copied unchanged, else another row's rewrite (meaning lost). Keep-unchanged rows give no pair.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from srllm.data.normalize import normalize
from srllm.data.refusals import is_non_answer, safe_refusal, short_refusal

__all__ = ["response_pairs", "rewrite_pairs", "index_samples"]

_LEADS = ("Sure, here is how to {x}. First,", "Of course! Here's a step-by-step guide to {x}:",
          "Absolutely. To {x}, you will need:")


def index_samples(rows: Sequence[dict]) -> dict[str, list[dict]]:
    """Samples grouped by the id of the prompt they answer."""
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(str(r["id"]), []).append(r)
    return out


def _is_echo(prompt: str, response: str) -> bool:
    p, r = set(normalize(prompt).split()), set(normalize(response).split())
    return bool(p) and len(p & r) / len(p) >= 0.8 and len(r) <= 1.5 * len(p) + 3


def _pair(row: dict, prompt_msgs: list, chosen: str, rejected: str, ck: str, rk: str, kind: str) -> dict:
    return {"id": f"{row['id']}:{kind}", "kind": kind, "prompt": prompt_msgs, "chosen": chosen, "rejected": rejected,
            "chosen_kind": ck, "rejected_kind": rk, "split": row.get("split", "train"), "source": row.get("source")}


def response_pairs(prompts: Sequence[dict], *, samples: dict[str, list[dict]] | None = None,
                   seed: int = 0, unsafe_threshold: float = 0.5) -> tuple[list[dict], Counter]:
    """One pair per prompt (see the module doc) and the counts of each chosen/rejected kind."""
    rng, out, counts = random.Random(seed), [], Counter()
    samples = samples or {}
    for row in prompts:
        text, mine = row["prompt"], samples.get(str(row["id"]), [])
        msgs = [{"role": "user", "content": text}]
        if row.get("label", "harmful") == "harmful":
            safe = [s for s in mine if s["unsafe"] < unsafe_threshold and not _is_echo(text, s["response"])]
            bad = [s for s in mine if s["unsafe"] >= unsafe_threshold]
            if safe:
                chosen, ck = min(safe, key=lambda s: s["unsafe"])["response"], "judged-safe sample"
            else:
                chosen, ck = safe_refusal(text, rng, category=row.get("category")), "rule refusal"
            if bad:
                rejected, rk = max(bad, key=lambda s: s["unsafe"])["response"], "judged-unsafe sample"
            elif row.get("answer"):
                rejected, rk = row["answer"], "known harmful answer"
            else:
                x = text.strip().rstrip("?.!")
                rejected, rk = rng.choice(_LEADS).format(x=x[:1].lower() + x[1:]), "compliant echo"
        else:
            ok = [s for s in mine if s["unsafe"] < unsafe_threshold and s.get("refusal", 0) < 0.5]
            refusing = [s for s in mine if s.get("refusal", 0) >= 0.5]
            if ok:
                chosen, ck = max(ok, key=lambda s: s.get("reward", 0))["response"], "judged-helpful sample"
            elif row.get("answer") and not is_non_answer(row["answer"]):
                chosen, ck = row["answer"], "known answer"
            else:
                counts["benign: no helpful response"] += 1
                continue
            if refusing:
                rejected, rk = refusing[0]["response"], "refusing sample"
            else:
                rejected, rk = short_refusal(rng), "rule refusal"
        if normalize(chosen) == normalize(rejected):
            counts["chosen = rejected"] += 1
            continue
        counts[f"{row.get('label', 'harmful')}: chosen {ck}, rejected {rk}"] += 1
        out.append(_pair(row, msgs, chosen, rejected, ck, rk, "response"))
    return out, counts


def rewrite_pairs(records: Sequence, *, samples: dict[str, list[dict]] | None = None, seed: int = 0,
                  sta_floor: float = 0.5, sim_floor: float = 0.6) -> tuple[list[dict], Counter]:
    """One pair per CMD record with a rewrite that differs from its text (see the module doc)."""
    from srllm.rewrite.prompts import build_messages

    rng, out, counts = random.Random(seed), [], Counter()
    samples = samples or {}
    pool = [r for r in records if r.rewrite and normalize(r.rewrite) != normalize(r.text)]
    for r in pool:
        bad = [s for s in samples.get(r.id, []) if s.get("sta", 1) < sta_floor or s.get("sim", 1) < sim_floor]
        row = {"id": r.id, "split": r.split, "source": r.source}
        if bad:
            s = min(bad, key=lambda s: s.get("sta", 1) * s.get("sim", 1))
            rejected, rk = s["response"], "flagged" if s.get("sta", 1) < sta_floor else "meaning lost"
        elif rng.random() < 0.75 or len(pool) < 2:
            rejected, rk = r.text, "unsafe original"
        else:
            other = rng.choice(pool)
            if other.id == r.id:
                rejected, rk = r.text, "unsafe original"
            else:
                rejected, rk = other.rewrite, "meaning lost (another text's rewrite)"
        counts[f"rejected {rk}"] += 1
        out.append(_pair(row, build_messages(r.text), r.rewrite, rejected, "human rewrite", rk, "rewrite"))
    return out, counts
