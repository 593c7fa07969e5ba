"""Train the response judge (`srllm.evaluate.response_judge.ResponseJudge`): heads on MiniLM pair features (and, by
default, the embedded LLM's hidden states of the pair: `llm_layer`), fit on
`srllm.train.response_judge_data` examples, checked by stratified k-fold CV on that data; the held-out human
labels are scored separately (`srllm.evaluate.judge_agreement`).

With `human_weight` > 0 the judge also trains on pyrit's human-scored responses (`human_examples`), each counted
`human_weight` times. Those are the held-out check, so their agreement figures then come from `cross_fitted_judge`:
k judges, each trained without the human rows of one fold of prompts and asked only about that fold.

Heads: `logistic` (class-balanced logistic regression) or `mlp` (one hidden ReLU layer, sklearn's MLPClassifier
with early stopping); the category head is one-vs-rest logistic regression on the unsafe examples with a category.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from srllm.errors import SrllmConfigError
from srllm.evaluate.response_judge import JUDGE_CATEGORIES, Head, ResponseJudge, pair_features
from srllm.train.response_judge_data import JudgeExample, human_examples, judge_training_examples

__all__ = ["ResponseJudgeTrainConfig", "fit_head", "train_response_judge", "fit_response_judge",
           "CrossFittedJudge", "cross_fitted_judge"]

HEADS = ("logistic", "mlp")


def _f(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass
class ResponseJudgeTrainConfig:
    """Training of the response-safety judge (prompt + response -> unsafe, refusal, category)."""

    out: str = _f("runs/response-judge", "Folder for judge.safetensors + judge.json (the shipped judge: "
                                          "src/srllm/assets/response-judge).")
    head: str = _f("logistic", "Head kind: logistic or mlp (one hidden ReLU layer).")
    c: float = _f(0.3, "Inverse L2 strength of the logistic heads (and 1/alpha of the MLP).")
    human_weight: float = _f(10.0, "Weight of each of pyrit's human-scored responses in training (0: leave them out, "
                                   "and they stay a plain held-out check).")
    echo_weight: float = _f(10.0, "Weight of each rule-made echo (a harmful request repeated or restated with a "
                                  "compliant lead-in, unsafe): the human rows rate such echoes low, and without "
                                  "this weight the judge calls about 1 echo in 5 safe, a reward RAFT could game.")
    chunk_features: bool = _f(True, "Add features of the response's chunks (max-pooled), which read past MiniLM's "
                                    "256 tokens.")
    hidden: int = _f(64, "Hidden units of the mlp head.")
    llm_layer: int = _f(15, "Also read the pair with a causal LM: the mean of this layer's hidden states over the "
                           "chat-formatted exchange (srllm.evaluate.llm_features); 0: MiniLM features only.")
    llm_model: str | None = _f(None, "The causal LM of --llm-layer: a hub id or local folder (default: the embedded "
                                     "SmolLM2-135M-Instruct).")
    llm_weight: float = _f(0.1, "Scale of the standardised LLM features against the MiniLM ones (the heads' L2 "
                                "penalty is shared, so this sets how much the LLM block can say).")
    llm_max_length: int = _f(384, "Tokens of the chat-formatted pair the LLM reads.")
    max_per_kind: int = _f(600, "Cap on the rule-made examples of each kind (refusals, echoes, ...).")
    folds: int = _f(5, "Stratified CV folds for the training-data check.")
    seed: int = _f(0, "Seed of sampling, templates and CV.")
    generated: str | None = _f(None, "Optional JSONL of model responses labelled by rule: prompt, response, unsafe, "
                                     "refusal, category.")

    def __post_init__(self):
        if self.head not in HEADS:
            raise SrllmConfigError(f"head '{self.head}' is not one of {', '.join(HEADS)}")
        if (self.c <= 0 or self.hidden < 1 or self.human_weight < 0 or self.echo_weight <= 0 or self.folds < 2
                or self.max_per_kind < 10 or self.llm_layer < 0 or self.llm_weight <= 0):
            raise SrllmConfigError("c must be > 0, hidden >= 1, human_weight >= 0, echo_weight > 0, folds >= 2, "
                                   "max_per_kind >= 10, llm_layer >= 0 and llm_weight > 0")

    def llm_encoder(self):
        """The LLMPairEncoder of `llm_layer`, or None when the judge reads MiniLM features only."""
        if not self.llm_layer:
            return None
        from srllm.evaluate.llm_features import LLMPairEncoder

        return LLMPairEncoder(self.llm_model, layer=self.llm_layer, max_length=self.llm_max_length)


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
             seed: int = 0, folds: int = 5, weight: np.ndarray | None = None) -> tuple[Head, dict]:
    """A binary head on (x, y), rows weighted by `weight`, and its stratified k-fold CV figures (AUROC, F1 at 0.5;
    none with folds=0). Rows labelled -1 (unknown) are left out."""
    from sklearn.metrics import f1_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    y = np.asarray(y, dtype=int)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=float)
    known = y >= 0
    x, y, w = x[known], y[known], w[known]
    if len(set(y.tolist())) < 2:
        raise SrllmConfigError("a head needs both classes in its training data")
    info = {"n": int(len(y)), "positives": int(y.sum())}
    if folds:
        k = max(2, min(folds, int(np.bincount(y).min())))
        cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        proba = cross_val_predict(_model(kind, c=c, hidden=hidden, seed=seed), x, y, cv=cv, method="predict_proba",
                                  params={"sample_weight": w})[:, 1]
        info.update(cv_folds=k, cv_auroc=round(float(roc_auc_score(y, proba)), 4),
                    cv_f1=round(float(f1_score(y, proba >= 0.5)), 4))
    model = _model(kind, c=c, hidden=hidden, seed=seed).fit(x, y, sample_weight=w)
    return _as_head(model), info


def _category_head(x: np.ndarray, cats: Sequence[str | None], c: float,
                   weight: np.ndarray) -> tuple[Head | None, tuple[str, ...]]:
    from sklearn.linear_model import LogisticRegression

    idx = [i for i, cat in enumerate(cats) if cat]
    names = tuple(n for n in JUDGE_CATEGORIES if sum(cats[i] == n for i in idx) >= 5)
    if len(names) < 2:
        return None, ()
    ws, bs = [], []
    for name in names:
        y = np.array([cats[i] == name for i in idx], dtype=int)
        m = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x[idx], y, sample_weight=weight[idx])
        ws.append(m.coef_[0])
        bs.append(m.intercept_[0])
    return Head([(np.stack(ws, axis=1).astype(np.float32), np.array(bs, dtype=np.float32))]), names


def fit_response_judge(examples: Sequence[JudgeExample], *, encoder=None, head: str = "logistic", c: float = 1.0,
                       hidden: int = 64, seed: int = 0, folds: int = 5, chunk_features: bool = False,
                       llm_encoder=None, llm_weight: float = 1.0) -> ResponseJudge:
    """A ResponseJudge fit on `examples`; CV figures (folds > 0) and data counts go into its info. With
    `llm_encoder` (an LLMPairEncoder) its features join MiniLM's, standardised on `examples` and scaled by
    `llm_weight`."""
    if encoder is None:
        from srllm.models import load_sentence_encoder

        encoder = load_sentence_encoder()
    prompts, responses = [e.prompt for e in examples], [e.response for e in examples]
    x = pair_features(encoder, prompts, responses, chunk_features=chunk_features)
    llm = {}
    if llm_encoder is not None:
        h = llm_encoder.encode_pairs(prompts, responses)
        mean, scale = h.mean(axis=0), (h.std(axis=0) + 1e-6) / llm_weight
        x = np.concatenate([x, (h - mean) / scale], axis=1).astype(np.float32)
        llm = {"llm": {"model": llm_encoder.model_spec, "layer": llm_encoder.layer,
                       "max_length": llm_encoder.max_length, "weight": llm_weight},
               "llm_mean": mean.astype(np.float32), "llm_scale": scale.astype(np.float32),
               "llm_encoder": llm_encoder}
    w = np.array([e.weight for e in examples], dtype=float)
    kw = dict(kind=head, c=c, hidden=hidden, seed=seed, folds=folds, weight=w)
    unsafe, u_info = fit_head(x, np.array([e.unsafe for e in examples]), **kw)
    refusal, r_info = fit_head(x, np.array([e.refusal for e in examples]), **kw)
    cats, names = _category_head(x, [e.category if e.unsafe == 1 else None for e in examples], c, w)
    info = {"head": head, "C": c, "hidden": hidden if head == "mlp" else None, "seed": seed,
            "training_data": dict(sorted(Counter(e.kind for e in examples).items())),
            "cv": {"unsafe": u_info, "refusal": r_info}}
    return ResponseJudge(unsafe=unsafe, refusal=refusal, categories=cats, category_names=names, encoder=encoder,
                         chunk_features=chunk_features, info=info, **llm)


def _examples(cfg: ResponseJudgeTrainConfig, keep_human=None) -> list[JudgeExample]:
    generated = None
    if cfg.generated:
        from srllm.data.sources import read_jsonl

        generated = read_jsonl(cfg.generated)
    examples = judge_training_examples(seed=cfg.seed, max_per_kind=cfg.max_per_kind, generated=generated)
    examples = [replace(e, weight=cfg.echo_weight) if e.kind == "echo" else e for e in examples]
    if cfg.human_weight > 0:
        examples += human_examples(weight=cfg.human_weight, keep=keep_human)
    return examples


def _fit(cfg: ResponseJudgeTrainConfig, examples, *, encoder, llm_encoder, folds: int) -> ResponseJudge:
    return fit_response_judge(examples, encoder=encoder, head=cfg.head, c=cfg.c, hidden=cfg.hidden, seed=cfg.seed,
                              folds=folds, chunk_features=cfg.chunk_features,
                              llm_encoder=llm_encoder if cfg.llm_layer else None, llm_weight=cfg.llm_weight)


def train_response_judge(cfg: ResponseJudgeTrainConfig, *, encoder=None, llm_encoder=None) -> ResponseJudge:
    """Build the training data, fit the judge and save it to `cfg.out`. `llm_encoder`: an LLMPairEncoder to use
    (its feature cache too) instead of a new one, when `cfg.llm_layer` is set."""
    judge = _fit(cfg, _examples(cfg), encoder=encoder, llm_encoder=llm_encoder or cfg.llm_encoder(), folds=cfg.folds)
    judge.info.update(human_weight=cfg.human_weight, echo_weight=cfg.echo_weight)
    judge.save(cfg.out)
    return judge


class CrossFittedJudge:
    """k judges and the fold of each human-scored prompt: `score` asks, for each pair, the judge that was trained
    without that prompt's fold (pairs with other prompts go to the first judge). Judge-agreement code can use it
    like any judge."""

    def __init__(self, judges: Sequence[ResponseJudge], fold_of: dict[str, int]):
        self.judges, self.fold_of = list(judges), dict(fold_of)
        self.threshold, self.refusal_threshold = judges[0].threshold, judges[0].refusal_threshold
        self.category_names = judges[0].category_names
        self.name = f"{judges[0].name}, cross-fitted over {len(judges)} prompt folds"

    def score(self, prompts: Sequence[str], responses: Sequence[str]):
        from srllm.data.normalize import normalize
        from srllm.evaluate.response_judge import ResponseScores

        fold = np.array([self.fold_of.get(normalize(p), 0) for p in prompts])
        n = len(prompts)
        unsafe, refusal = np.zeros(n), np.zeros(n)
        cats = np.zeros((n, len(self.category_names)))
        for k, judge in enumerate(self.judges):
            idx = np.flatnonzero(fold == k)
            if len(idx):
                sc = judge.score([prompts[i] for i in idx], [responses[i] for i in idx])
                unsafe[idx], refusal[idx] = sc.unsafe, sc.refusal
                if sc.categories.shape[1] == cats.shape[1]:
                    cats[idx] = sc.categories
        return ResponseScores(unsafe, refusal, cats, self.category_names)


def cross_fitted_judge(cfg: ResponseJudgeTrainConfig, *, encoder=None, llm_encoder=None,
                       folds: int = 5) -> CrossFittedJudge:
    """Judges trained as `cfg` says, each without the human-scored rows of one of `folds` folds of prompts
    (normalised prompts shared by the harm, objective and refusal files fall in one fold). They share one
    LLMPairEncoder (`llm_encoder`, or a new one when `cfg.llm_layer` is set), so each pair is read once."""
    import random

    from srllm.data.normalize import normalize
    from srllm.train.response_judge_data import heldout_prompts

    prompts = sorted(heldout_prompts())
    random.Random(cfg.seed).shuffle(prompts)
    fold_of = {p: i % folds for i, p in enumerate(prompts)}
    llm_encoder = llm_encoder or cfg.llm_encoder()
    judges = []
    for k in range(folds):
        examples = _examples(cfg, keep_human=lambda p, k=k: fold_of.get(normalize(p)) != k)
        judges.append(_fit(cfg, examples, encoder=encoder, llm_encoder=llm_encoder, folds=0))
    return CrossFittedJudge(judges, fold_of)
