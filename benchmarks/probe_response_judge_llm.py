"""Probe: do the embedded LLM's hidden states separate pyrit's human harm labels better than the response judge's
MiniLM pair features? (docs/benchmarks.md, "Response judge features: a prototype with the embedded LLM's hidden
states"; issue 14.) Not a judge: human labels only, logistic regression, cross-fitted over 5 folds grouped by prompt.

    .venv/bin/python benchmarks/probe_response_judge_llm.py [--layers 6 15 24 30] [--max-length 384]

Prints one markdown row per feature set: AUROC of the cross-fitted predictions at each C. About 15 minutes on 2
cores (the LLM pass dominates).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler

from srllm.data.normalize import normalize
from srllm.evaluate.response_judge import pair_features
from srllm.models import load_sentence_encoder
from srllm.models.loading import load_causal_lm
from srllm.train.response_judge_data import human_examples

C_GRID = (0.001, 0.01, 0.1)


def llm_features(prompts, responses, layers, max_length: int, batch_size: int = 8) -> dict:
    """{("mean" | "last", layer): (n, hidden)} of the chat-formatted pairs under the embedded LLM."""
    model, tok = load_causal_lm(None)
    tok.padding_side = "right"
    texts = [tok.apply_chat_template([{"role": "user", "content": p[:1500]},
                                      {"role": "assistant", "content": r[:1500]}], tokenize=False)
             for p, r in zip(prompts, responses, strict=True)]
    order = np.argsort([len(t) for t in texts])  # similar lengths together: less padding
    out = {(kind, layer): np.zeros((len(texts), model.config.hidden_size), np.float32)
           for kind in ("mean", "last") for layer in layers}
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            idx = order[start:start + batch_size]
            batch = tok([texts[i] for i in idx], return_tensors="pt", padding=True, truncation=True,
                        max_length=max_length)
            hidden = model(**batch, output_hidden_states=True).hidden_states
            mask = batch["attention_mask"].unsqueeze(-1).float()
            last = batch["attention_mask"].sum(1) - 1
            for layer in layers:
                h = hidden[layer]
                out[("mean", layer)][idx] = ((h * mask).sum(1) / mask.sum(1)).numpy()
                out[("last", layer)][idx] = h[torch.arange(h.shape[0]), last].numpy()
    return out


def cross_fitted_auroc(x: np.ndarray, y: np.ndarray, groups: list[str], c: float) -> float:
    p = np.zeros(len(y))
    for train, test in GroupKFold(5).split(x, y, groups):
        scaler = StandardScaler().fit(x[train])
        model = LogisticRegression(C=c, max_iter=3000).fit(scaler.transform(x[train]), y[train])
        p[test] = model.predict_proba(scaler.transform(x[test]))[:, 1]
    return float(roc_auc_score(y, p))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, nargs="+", default=[6, 15, 24, 30])
    ap.add_argument("--max-length", type=int, default=384)
    args = ap.parse_args()
    torch.set_num_threads(2)
    ex = [e for e in human_examples() if e.unsafe != -1]
    y = np.array([e.unsafe for e in ex])
    groups = [normalize(e.prompt) for e in ex]
    prompts, responses = [e.prompt for e in ex], [e.response for e in ex]
    t = time.time()
    feature_sets = {"MiniLM pair features (chunked)": pair_features(load_sentence_encoder(None), prompts, responses,
                                                                    chunk_features=True)}
    t_minilm, t = time.time() - t, time.time()
    for (kind, layer), x in llm_features(prompts, responses, args.layers, args.max_length).items():
        feature_sets[f"SmolLM2 layer {layer}, {kind}"] = x
    t_llm = time.time() - t
    print(f"{len(ex)} human-labelled responses, {y.mean():.3f} unsafe; features: MiniLM {t_minilm:.0f} s, "
          f"SmolLM2 {t_llm:.0f} s\n")
    print("| features | " + " | ".join(f"C = {c:g}" for c in C_GRID) + " |")
    print("|---|" + "---|" * len(C_GRID))
    for name, x in feature_sets.items():
        print(f"| {name} | " + " | ".join(f"{cross_fitted_auroc(x, y, groups, c):.3f}" for c in C_GRID) + " |")


if __name__ == "__main__":
    main()
