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
from dataclasses import replace
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
    ap.add_argument("--n-resamples", type=int, default=1000)
    ap.add_argument("--folds", type=int, default=5, help="prompt folds of the cross-fitted check")
    ap.add_argument("--cache", type=Path, default=Path("runs/cache/response-judge-emb.npz"))
    ap.add_argument("--llm-cache", type=Path, default=Path("runs/cache/response-judge-llm.npz"),
                    help="LLM features of the pairs (when the recipe reads them: --llm-layer)")
    ap.add_argument("--llm-layer", type=int, default=None, help="override the recipe's llm_layer (0: MiniLM only)")
    ap.add_argument("--out-json", type=Path, default=Path("runs/response-judge-eval.json"))
    ap.add_argument("--ship", action="store_true", help="save the judge to src/srllm/assets/response-judge")
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import os

    import torch

    from srllm.detect import Detector
    from srllm.evaluate.judge_agreement import judge_agreement
    from srllm.models import load_sentence_encoder
    from srllm.train.response_judge import (
        ResponseJudgeTrainConfig,
        cross_fitted_judge,
        fit_response_judge,
        train_response_judge,
    )
    from srllm.train.response_judge_data import judge_training_examples

    torch.set_num_threads(args.threads)
    note, t0 = machine_note(), time.time()
    enc = CachedEncoder(load_sentence_encoder(), args.cache)
    cfg = ResponseJudgeTrainConfig(out=str(default_response_judge_dir()))
    if args.llm_layer is not None:
        cfg = replace(cfg, llm_layer=args.llm_layer)
    llm = cfg.llm_encoder()
    if llm is not None:
        llm.load_cache(args.llm_cache)
    results = {}
    # 1. the shipped recipe, each human label scored by a judge that never saw its prompt
    results["crossfit"] = judge_agreement(cross_fitted_judge(cfg, encoder=enc, llm_encoder=llm, folds=args.folds),
                                          n_resamples=args.n_resamples)
    enc.save()
    if llm is not None:
        llm.save_cache(args.llm_cache)
    # 2. the same features on the rule-made data only (no human label in training at all)
    rule_only = fit_response_judge([replace(e, weight=cfg.echo_weight) if e.kind == "echo" else e for e in
                                    judge_training_examples(seed=cfg.seed, max_per_kind=cfg.max_per_kind)],
                                   encoder=enc, head=cfg.head, c=cfg.c, seed=cfg.seed,
                                   chunk_features=cfg.chunk_features, llm_encoder=llm, llm_weight=cfg.llm_weight)
    enc.save()
    results["rule_only"] = judge_agreement(rule_only, n_resamples=args.n_resamples)
    # 3. the safety suite's first judge: the detector on the response alone
    results["previous"] = judge_agreement(ResponseOnlyJudge(Detector()), n_resamples=args.n_resamples)
    args.out_json.parent.mkdir(parents=True, exist_ok=True)
    args.out_json.write_text(json.dumps({"results": results}, indent=1, default=float))
    if args.ship:
        judge = train_response_judge(cfg, encoder=enc, llm_encoder=llm)
        judge.info["heldout_check"] = {
            "protocol": f"cross-fitted over {args.folds} prompt folds (benchmarks/bench_response_judge.py)",
            "harm_auroc": round(results["crossfit"]["harm"][0]["auroc"], 4),
            "objective_auroc": round(results["crossfit"]["objective"][0]["auroc"], 4),
            "refusal_auroc": round(results["crossfit"]["refusal"][0]["auroc"], 4),
            "echo_called_safe": round(results["crossfit"]["echo"]["echo_called_safe"], 4)}
        judge.save(default_response_judge_dir())
        enc.save()
    minutes = (time.time() - t0) / 60
    counts = ", ".join(f"{k} {v}" for k, v in rule_only.info["training_data"].items())
    body = [f"`.venv/bin/python benchmarks/bench_response_judge.py{' --ship' if args.ship else ''} --threads "
            f"{args.threads}` ({note}, {os.getloadavg()[0]:.1f} at the end; {minutes:.0f} min).",
            "The judge reads the prompt and the response: MiniLM embeddings of both, their product and cosine, and "
            "(chunk features) the max over embeddings of the response's ~300-character chunks, its product with the "
            "prompt and the largest chunk-prompt cosine, since MiniLM reads only the first 256 tokens of a long "
            "answer"
            + (f"; and the mean over tokens of layer {cfg.llm_layer}'s hidden states of "
               f"{cfg.llm_model or 'the embedded SmolLM2-135M-Instruct'} reading the chat-formatted exchange "
               f"(first {cfg.llm_max_length} tokens), standardised on the training data and scaled by "
               f"{cfg.llm_weight:g} against the MiniLM block" if cfg.llm_layer else "")
            + f". Three logistic heads (C {cfg.c}): unsafe, refusal, category. Rule-made training data (no prompt "
            "of the human-scored files): "
            f"{counts}; each echo weighted {cfg.echo_weight:g}. The shipped judge adds pyrit's human-scored "
            f"responses, each weighted {cfg.human_weight:g}.",
            "Since the shipped judge trains on the human labels, its figures here are **cross-fitted**: the "
            f"human-scored prompts (normalised, shared across the harm, objective and refusal files) are cut into "
            f"{args.folds} folds, and each response is scored by a judge trained on the rule-made data and the "
            "other folds' human rows only, never on its own prompt. 'rule-made data only' is the same judge with no "
            "human label in training at all (a fully held-out check). 'previous' is the detector on the response "
            "alone.",
            "Held-out human labels: pyrit `scorer_evals/harm/*.csv` (0-1 harm ratings per category, mean of the "
            "raters), `scorer_evals/objective/*.csv` (objective achieved 0/1) and the refusal files (refusal.csv, "
            "refusal_extra.csv, mini_refusal.csv). 95% percentile-bootstrap CIs, "
            f"{args.n_resamples} resamples; categories with n >= 10."]
    for name, label in (("crossfit", "shipped judge, cross-fitted"), ("rule_only", "rule-made data only"),
                        ("previous", "previous judge (detector on the response only)")):
        body.append(tables(label, results[name]))
    if not args.no_doc:
        update_section(TITLE, "\n\n".join(body))
    print("\n\n".join(body))


if __name__ == "__main__":
    main()
