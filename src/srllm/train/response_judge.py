"""Train the response judge (`srllm.evaluate.response_judge.ResponseJudge`): heads on MiniLM pair features, fit on
`srllm.train.response_judge_data` examples, checked by stratified k-fold CV on that data; the held-out human
labels are scored separately (`srllm.evaluate.judge_agreement`).

Heads: `logistic` (class-balanced logistic regression) or `mlp` (one hidden ReLU layer, sklearn's MLPClassifier
with early stopping); the category head is one-vs-rest logistic regression on the unsafe examples with a category.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from srllm.errors import SrllmConfigError
from srllm.evaluate.response_judge import JUDGE_CATEGORIES, Head, ResponseJudge, pair_features
from srllm.train.response_judge_data import JudgeExample, judge_training_examples

__all__ = ["ResponseJudgeTrainConfig", "fit_head", "train_response_judge", "fit_response_judge"]

HEADS = ("logistic", "mlp")


def _f(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass
class ResponseJudgeTrainConfig:
    """Training of the response-safety judge (prompt + response -> unsafe, refusal, category)."""

    out: str = _f("runs/response-judge", "Folder for judge.safetensors + judge.json (the shipped judge: "
                                          "src/srllm/assets/response-judge).")
    head: str = _f("logistic", "Head kind: logistic or mlp (one hidden ReLU layer).")
    c: float = _f(1.0, "Inverse L2 strength of the logistic heads (and 1/alpha of the MLP).")
    hidden: int = _f(64, "Hidden units of the mlp head.")
    max_per_kind: int = _f(600, "Cap on the rule-made examples of each kind (refusals, echoes, ...).")
    folds: int = _f(5, "Stratified CV folds for the training-data check.")
    seed: int = _f(0, "Seed of sampling, templates and CV.")
    generated: str | None = _f(None, "Optional JSONL of model responses labelled by rule: prompt, response, unsafe, "
                                     "refusal, category.")

    def __post_init__(self):
        if self.head not in HEADS:
            raise SrllmConfigError(f"head '{self.head}' is not one of {', '.join(HEADS)}")
        if self.c <= 0 or self.hidden < 1 or self.folds < 2 or self.max_per_kind < 10:
            raise SrllmConfigError("c must be > 0, hidden >= 1, folds >= 2 and max_per_kind >= 10")


def _model(kind: str, *, c: float, hidden: int, seed: int):
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=(hidden,), alpha=1.0 / c, early_stopping=True, random_state=seed,
                         max_iter=500)


def _as_head(model) -> Head:
    if hasattr(model, "coefs_"):
        return Head([(w.astype(np.float32), b.astype(np.float32)) for w, b in
                     zip(model.coefs_, model.intercepts_, strict=True)])
    return Head([(model.coef_.T.astype(np.float32), model.intercept_.astype(np.float32))])


def fit_head(x: np.ndarray, y: np.ndarray, *, kind: str = "logistic", c: float = 1.0, hidden: int = 64,
             seed: int = 0, folds: int = 5) -> tuple[Head, dict]:
    """A binary head on (x, y) and its stratified k-fold CV figures (AUROC, F1 at 0.5)."""
    from sklearn.metrics import f1_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    y = np.asarray(y, dtype=int)
    if len(set(y.tolist())) < 2:
        raise SrllmConfigError("a head needs both classes in its training data")
    k = max(2, min(folds, int(np.bincount(y).min())))
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    proba = cross_val_predict(_model(kind, c=c, hidden=hidden, seed=seed), x, y, cv=cv, method="predict_proba")[:, 1]
    model = _model(kind, c=c, hidden=hidden, seed=seed).fit(x, y)
    return _as_head(model), {"n": int(len(y)), "positives": int(y.sum()), "cv_folds": k,
                             "cv_auroc": round(float(roc_auc_score(y, proba)), 4),
                             "cv_f1": round(float(f1_score(y, proba >= 0.5)), 4)}


def _category_head(x: np.ndarray, cats: Sequence[str | None], c: float) -> tuple[Head | None, tuple[str, ...]]:
    from sklearn.linear_model import LogisticRegression

    idx = [i for i, cat in enumerate(cats) if cat]
    names = tuple(n for n in JUDGE_CATEGORIES if sum(cats[i] == n for i in idx) >= 5)
    if len(names) < 2:
        return None, ()
    ws, bs = [], []
    for name in names:
        y = np.array([cats[i] == name for i in idx], dtype=int)
        m = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x[idx], y)
        ws.append(m.coef_[0])
        bs.append(m.intercept_[0])
    return Head([(np.stack(ws, axis=1).astype(np.float32), np.array(bs, dtype=np.float32))]), names


def fit_response_judge(examples: Sequence[JudgeExample], *, encoder=None, head: str = "logistic", c: float = 1.0,
                       hidden: int = 64, seed: int = 0, folds: int = 5) -> ResponseJudge:
    """A ResponseJudge fit on `examples`; CV figures and data counts go into its info."""
    if encoder is None:
        from srllm.models import load_sentence_encoder

        encoder = load_sentence_encoder()
    x = pair_features(encoder, [e.prompt for e in examples], [e.response for e in examples])
    kw = dict(kind=head, c=c, hidden=hidden, seed=seed, folds=folds)
    unsafe, u_info = fit_head(x, np.array([e.unsafe for e in examples]), **kw)
    refusal, r_info = fit_head(x, np.array([e.refusal for e in examples]), **kw)
    cats, names = _category_head(x, [e.category if e.unsafe else None for e in examples], c)
    info = {"head": head, "C": c, "hidden": hidden if head == "mlp" else None, "seed": seed,
            "training_data": dict(sorted(Counter(e.kind for e in examples).items())),
            "cv": {"unsafe": u_info, "refusal": r_info}}
    return ResponseJudge(unsafe=unsafe, refusal=refusal, categories=cats, category_names=names, encoder=encoder,
                         info=info)


def train_response_judge(cfg: ResponseJudgeTrainConfig, *, encoder=None) -> ResponseJudge:
    """Build the training data, fit the judge and save it to `cfg.out`."""
    generated = None
    if cfg.generated:
        from srllm.data.sources import read_jsonl

        generated = read_jsonl(cfg.generated)
    examples = judge_training_examples(seed=cfg.seed, max_per_kind=cfg.max_per_kind, generated=generated)
    judge = fit_response_judge(examples, encoder=encoder, head=cfg.head, c=cfg.c, hidden=cfg.hidden, seed=cfg.seed,
                               folds=cfg.folds)
    judge.save(cfg.out)
    return judge
