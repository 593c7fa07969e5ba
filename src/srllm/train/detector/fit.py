"""Fitting one head on embeddings (logistic regression or a one-hidden-layer MLP) with class- and source-balanced
sample weights, choosing it on validation AUPRC, and declaring its threshold on validation data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score

__all__ = ["FitResult", "balanced_weights", "fit_logreg", "fit_mlp", "fit_best", "choose_threshold", "predict"]

Layers = list[tuple[np.ndarray, np.ndarray]]


@dataclass
class FitResult:
    layers: Layers
    c: float | None
    val_auprc: float
    kind: str


def _check(y: np.ndarray, what: str) -> None:
    if len(np.unique(y)) < 2:
        raise ValueError(f"{what}: needs both positives and negatives, got only label {np.unique(y).tolist()}")


def balanced_weights(y: np.ndarray, groups=None, *, alpha: float = 0.0) -> np.ndarray:
    """Sample weights giving each class half the total weight; within a class, a (group, class) cell of n
    examples gets weight proportional to n ** -alpha (alpha 0: plain class balance; 1: every group counts the
    same), so a large source does not drown a small one."""
    y = np.asarray(y).astype(bool)
    groups = np.zeros(len(y), dtype=int) if groups is None else np.asarray(groups)
    w = np.zeros(len(y), dtype=np.float64)
    for cls in (False, True):
        in_cls = y == cls
        if not in_cls.any():
            continue
        for g in np.unique(groups[in_cls]):
            cell = in_cls & (groups == g)
            w[cell] = cell.sum() ** -alpha
        w[in_cls] *= (len(y) / 2) / w[in_cls].sum()
    return w


def fit_logreg(x: np.ndarray, y: np.ndarray, *, c: float, seed: int, weights=None) -> Layers:
    """L2 logistic regression (class-balanced unless `weights` are given) -> one dense layer."""
    from sklearn.linear_model import LogisticRegression

    _check(y, "logistic regression")
    w = balanced_weights(y) if weights is None else np.asarray(weights, float)
    model = LogisticRegression(C=c, max_iter=5000, random_state=seed)
    model.fit(x, y, sample_weight=w)
    return [(model.coef_.astype(np.float32), model.intercept_.astype(np.float32))]


def predict(layers: Layers, x: np.ndarray) -> np.ndarray:
    h = np.asarray(x, np.float32)
    for i, (w, b) in enumerate(layers):
        h = h @ w.T + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return 1.0 / (1.0 + np.exp(-np.clip(h[:, 0], -40, 40)))


def fit_mlp(x: np.ndarray, y: np.ndarray, xv: np.ndarray, yv: np.ndarray, *, weight_decay: float, hidden: int,
            epochs: int, learning_rate: float, seed: int, weights=None, batch_size: int = 512) -> tuple[Layers, float]:
    """Linear -> ReLU -> dropout 0.1 -> Linear, weighted BCE (class-balanced unless `weights` are given), AdamW.
    Returns the layers of the epoch with the best validation AUPRC (early stopping), and that AUPRC."""
    import torch

    _check(y, "MLP")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matmuls: one thread is as fast, and avoids stalls on a busy machine
    try:
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(), torch.nn.Dropout(0.1),
                                  torch.nn.Linear(hidden, 1))
        opt = torch.optim.AdamW(net.parameters(), lr=learning_rate, weight_decay=weight_decay)
        w = balanced_weights(y) if weights is None else np.asarray(weights, float)
        xt, yt = torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(np.asarray(y, np.float32))
        wt = torch.from_numpy((w / w.mean()).astype(np.float32))
        best, best_layers = -1.0, None
        for _ in range(epochs):
            net.train()
            for idx in torch.randperm(len(xt), generator=gen).split(batch_size):
                opt.zero_grad()
                loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xt[idx])[:, 0], yt[idx],
                                                                            weight=wt[idx])
                loss.backward()
                opt.step()
            layers = [(net[0].weight.detach().numpy().copy(), net[0].bias.detach().numpy().copy()),
                      (net[3].weight.detach().numpy().copy(), net[3].bias.detach().numpy().copy())]
            score = average_precision_score(yv, predict(layers, xv))
            if score > best:
                best, best_layers = score, layers
        return best_layers, float(best)
    finally:
        torch.set_num_threads(threads)


def fit_best(x, y, xv, yv, *, kind: str, c_grid, seed: int, weights=None, hidden: int = 128, epochs: int = 30,
             learning_rate: float = 2e-3, weight_decay: float = 1e-4) -> FitResult:
    """A logistic regression per C in `c_grid`, keeping the best on validation AUPRC; or one MLP, keeping its best
    epoch on validation AUPRC (`c` is then None)."""
    _check(yv, "validation")
    if kind == "mlp":
        layers, score = fit_mlp(x, y, xv, yv, weight_decay=weight_decay, hidden=hidden, epochs=epochs,
                                learning_rate=learning_rate, seed=seed, weights=weights)
        return FitResult(layers=layers, c=None, val_auprc=score, kind=kind)
    best: FitResult | None = None
    for c in c_grid:
        layers = fit_logreg(x, y, c=c, seed=seed, weights=weights)
        score = float(average_precision_score(yv, predict(layers, xv)))
        if best is None or score > best.val_auprc:
            best = FitResult(layers=layers, c=c, val_auprc=score, kind=kind)
    assert best is not None
    return best


def choose_threshold(y: np.ndarray, p: np.ndarray, *, max_fpr: float, groups=None, min_group: int = 50) -> float:
    """The threshold (flag when p >= t) with the best F1 among those whose false-positive rate is <= max_fpr,
    overall and within each group of negatives (e.g. each data source) that has at least `min_group` negatives.
    Ties go to the higher threshold. With no admissible threshold: just above the highest score."""
    y, p = np.asarray(y).astype(bool), np.asarray(p, dtype=float)
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    last = np.r_[ps[1:] != ps[:-1], True]  # cut only between distinct scores
    cut = ps[last]
    tp, fp = np.cumsum(ys)[last], np.cumsum(~ys)[last]
    n_pos, n_neg = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    ok = fp / n_neg <= max_fpr
    if groups is not None:
        gs = np.asarray(groups)[order]
        for g in np.unique(gs[~ys]):
            neg = ~ys & (gs == g)
            if neg.sum() >= min_group:
                ok &= np.cumsum(neg)[last] / neg.sum() <= max_fpr
    if not ok.any():
        return float(np.nextafter(ps[0], np.inf))
    f1 = np.where(ok, 2 * tp / (tp + fp + n_pos), -1.0)
    return float(cut[np.flatnonzero(f1 == f1.max())[0]])  # the first = the highest threshold among ties
