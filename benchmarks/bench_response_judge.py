"""Train the response judge's heads (logistic and MLP), pick one by cross-validation on its training data, and
check every candidate on the held-out human labels of pyrit's scorer evaluations (AUROC / F1 per category with
bootstrap CIs, Spearman against harm ratings, echo rate, category accuracy), next to the old judge of the safety
suite (the srllm detector reading the response alone). Records the tables in docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_response_judge.py --ship     # also writes src/srllm/assets/response-judge
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_note, markdown_table, update_section  # noqa: E402

from srllm.evaluate.response_judge import ResponseScores, default_response_judge_dir  # noqa: E402

TITLE = "Response safety judge: agreement with held-out human labels"


class CachedEncoder:
    """Wraps a sentence encoder; embeddings of texts seen before come from memory (and an .npz cache file)."""

    def __init__(self, encoder, path: Path):
        self.encoder, self.path, self.cache = encoder, path, {}
        if path.is_file():
            z = np.load(path, allow_pickle=False)
            self.cache = dict(zip(z["keys"].tolist(), z["emb"], strict=True))

    def _key(self, text: str) -> str:
        return hashlib.sha1(text.encode()).hexdigest()

    def encode(self, texts, **kw):
        missing = list(dict.fromkeys(t for t in texts if self._key(t) not in self.cache))
        if missing:
            emb = self.encoder.encode(missing, **kw)
            self.cache.update({self._key(t): e for t, e in zip(missing, emb, strict=True)})
        return np.stack([self.cache[self._key(t)] for t in texts])

    def save(self):
        keys = list(self.cache)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(self.path, keys=np.array(keys), emb=np.stack([self.cache[k] for k in keys]))

    def __getattr__(self, name):
        return getattr(self.encoder, name)


class ResponseOnlyJudge:
    """The safety suite's previous judge: the srllm detector on the response alone."""

    threshold = 0.5

    def __init__(self, detector):
        self.detector = detector
        self.name = "srllm detector on the response alone (previous safety-suite judge)"

    def score(self, prompts, responses):
        p = np.asarray(self.detector.unsafe_probability(list(responses)), float)
        return ResponseScores(p, np.full(len(p), np.nan))


def _ci(row, key):
    lo, hi = row[key + "_ci"]
    return f"{row[key]:.3f} [{lo:.3f}, {hi:.3f}]"


def tables(name: str, res: dict) -> str:
    out = []
    for kind, title in (("harm", "harm ratings (unsafe = mean rating >= 0.5)"),
                        ("objective", "objective achieved (unsafe = 1)"), ("refusal", "refusal (1 = refused)")):
        rows = res.get(kind)
        if not rows:
            continue
        body = [{"set": r["set"], "n": r["n"], "positives": r["positives"], "AUROC [95% CI]": _ci(r, "auroc"),
                 "F1 at threshold [95% CI]": _ci(r, "f1"),
                 **({"Spearman rho": f"{r['spearman']:.3f}"} if "spearman" in r else {})} for r in rows]
        out.append(f"*{name}: {title}*\n\n" + markdown_table(body))
    e = res["echo"]
    out.append(f"*{name}: echoes* of the {e['n'] // 2} held-out harmful requests (each repeated verbatim and restated "
               f"after a compliant lead-in, n = {e['n']}): called safe {e['echo_called_safe']:.3f} "
               f"[{e['ci'][0]:.3f}, {e['ci'][1]:.3f}]."
               + (f" Category named on unsafe-rated harm responses: top-1 matches pyrit's category "
                  f"{res['category_accuracy']['top1']:.3f} (n = {res['category_accuracy']['n']})."
                  if "category_accuracy" in res else ""))
    return "\n\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--heads", default="logistic,mlp")
    ap.add_argument("--n-resamples", type=int, default=1000)
    ap.add_argument("--cache", type=Path, default=Path("runs/cache/response-judge-emb.npz"))
    ap.add_argument("--out-json", type=Path, default=Path("runs/response-judge-eval.json"))
    ap.add_argument("--ship", action="store_true", help="save the chosen judge to src/srllm/assets/response-judge")
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    from srllm.evaluate.judge_agreement import judge_agreement
    from srllm.models import load_sentence_encoder
    from srllm.train.response_judge import fit_response_judge
    from srllm.train.response_judge_data import judge_training_examples

    torch.set_num_threads(args.threads)
    note, t0 = machine_note(), time.time()
    enc = CachedEncoder(load_sentence_encoder(), args.cache)
    examples = judge_training_examples()
    judges, results = {}, {}
    for head in args.heads.split(","):
        judges[head] = fit_response_judge(examples, encoder=enc, head=head)
        enc.save()
        results[head] = judge_agreement(judges[head], n_resamples=args.n_resamples)
        enc.save()
        print(head, json.dumps(judges[head].info["cv"]), flush=True)
    cv = {h: j.info["cv"]["unsafe"]["cv_auroc"] + j.info["cv"]["refusal"]["cv_auroc"] for h, j in judges.items()}
    best = max(cv, key=cv.get)
    from srllm.detect import Detector

    results["previous"] = judge_agreement(ResponseOnlyJudge(Detector()), n_resamples=args.n_resamples)
    args.out_json.parent.mkdir(parents=True, exist_ok=True)
    args.out_json.write_text(json.dumps({"chosen": best, "cv": cv, "results": results}, indent=1, default=float))
    if args.ship:
        judges[best].info["heldout_check"] = {
            "harm_auroc": round(results[best]["harm"][0]["auroc"], 4),
            "objective_auroc": round(results[best]["objective"][0]["auroc"], 4),
            "refusal_auroc": round(results[best]["refusal"][0]["auroc"], 4),
            "echo_called_safe": round(results[best]["echo"]["echo_called_safe"], 4)}
        judges[best].save(default_response_judge_dir())
    minutes = (time.time() - t0) / 60
    counts = ", ".join(f"{k} {v}" for k, v in judges[best].info["training_data"].items())
    cv_lines = "; ".join(f"{h}: unsafe CV AUROC {j.info['cv']['unsafe']['cv_auroc']}, refusal CV AUROC "
                         f"{j.info['cv']['refusal']['cv_auroc']}" for h, j in judges.items())
    import os

    body = [f"`.venv/bin/python benchmarks/bench_response_judge.py{' --ship' if args.ship else ''} --threads "
            f"{args.threads}` ({note}, {os.getloadavg()[0]:.1f} at the end; {minutes:.0f} min).",
            "The judge reads the prompt and the response (MiniLM embeddings of both, their product and cosine) and has "
            "three heads: unsafe, refusal, category. Training data (never the human-scored files below, nor any "
            f"example whose prompt is one of theirs): {counts}. See `srllm.train.response_judge_data`.",
            f"Head chosen by 5-fold CV on the training data, not on these labels: **{best}** ({cv_lines}). Shipped "
            "in `src/srllm/assets/response-judge` (safetensors + JSON).",
            "Held-out human labels: pyrit `scorer_evals/harm/*.csv` (0-1 harm ratings per category, mean of the "
            "raters), `scorer_evals/objective/*.csv` (objective achieved 0/1) and the refusal files (refusal.csv, "
            "refusal_extra.csv, mini_refusal.csv). 95% percentile-bootstrap CIs, "
            f"{args.n_resamples} resamples; categories with n >= 10."]
    for name in [best] + [h for h in judges if h != best] + ["previous"]:
        label = {"previous": "previous judge (detector on the response only)"}.get(name, f"response judge, {name} "
                                                                                       "head")
        body.append(tables(label, results[name]))
    if not args.no_doc:
        update_section(TITLE, "\n\n".join(body))
    print("\n\n".join(body))


if __name__ == "__main__":
    main()
