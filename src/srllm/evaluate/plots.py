"""Report plots (matplotlib, Agg backend), each returned as a base64 PNG for a self-contained HTML page."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["to_base64", "unsafe_histogram", "grouped_bars", "heatmap"]

_COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]


def _figure(width: float = 6.4, height: float = 3.6):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=100)


def to_base64(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def unsafe_histogram(inputs: Sequence[float], outputs: Mapping[str, Sequence[float]], *, title: str,
                     threshold: float | None = None) -> str:
    """Histogram of the judge's unsafe probability for the inputs and each system's rewrites."""
    fig, ax = _figure()
    bins = np.linspace(0, 1, 21)
    ax.hist(np.asarray(inputs, float), bins=bins, alpha=0.55, label="inputs", color="#999999")
    for k, (name, values) in enumerate(outputs.items()):
        ax.hist(np.asarray(values, float), bins=bins, histtype="step", linewidth=2, label=name,
                color=_COLORS[k % len(_COLORS)])
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1, label=f"threshold {threshold:g}")
    ax.set_xlabel("unsafe probability (judge)")
    ax.set_ylabel("texts")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return to_base64(fig)


def grouped_bars(groups: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str, ylabel: str,
                 errors: Mapping[str, Sequence[tuple[float, float]]] | None = None,
                 reference: Mapping[str, Sequence[float]] | None = None,
                 ylim: tuple[float, float] | None = None) -> str:
    """Bars per group for each series, with optional CI whiskers (low, high) and hatched reference series."""
    allseries = {**series, **(reference or {})}
    fig, ax = _figure(max(6.4, 0.9 * len(groups) * max(1, len(allseries)) / 2 + 2))
    x = np.arange(len(groups))
    width = 0.8 / max(1, len(allseries))
    for k, (name, values) in enumerate(allseries.items()):
        vals = np.asarray(values, float)
        is_ref = reference is not None and name in reference
        bars = ax.bar(x + (k - (len(allseries) - 1) / 2) * width, np.nan_to_num(vals), width, label=name,
                      color="white" if is_ref else _COLORS[k % len(_COLORS)],
                      edgecolor=_COLORS[k % len(_COLORS)], hatch="//" if is_ref else None)
        if errors and name in errors:
            lo = np.array([v - e[0] for v, e in zip(vals, errors[name], strict=True)])
            hi = np.array([e[1] - v for v, e in zip(vals, errors[name], strict=True)])
            centers = [b.get_x() + b.get_width() / 2 for b in bars]
            ax.errorbar(centers, np.nan_to_num(vals), yerr=[np.nan_to_num(np.maximum(lo, 0)),
                                                           np.nan_to_num(np.maximum(hi, 0))],
                        fmt="none", ecolor="black", capsize=3, linewidth=1)
    ax.set_xticks(x)
    ax.set_xticklabels(groups, rotation=20 if max((len(g) for g in groups), default=0) > 10 else 0, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if ylim:
        ax.set_ylim(*ylim)
    ax.legend(fontsize=8)
    return to_base64(fig)


def heatmap(matrix: Sequence[Sequence[float]], rows: Sequence[str], cols: Sequence[str], *, title: str,
            cbar: str) -> str:
    """A labelled heatmap (values printed in the cells)."""
    m = np.asarray(matrix, float)
    fig, ax = _figure(max(6.4, 0.75 * len(cols) + 2), max(2.4, 0.45 * len(rows) + 1.2))
    im = ax.imshow(m, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=8)
    finite = m[np.isfinite(m)]
    mid = float(finite.mean()) if finite.size else 0.0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if np.isfinite(m[i, j]):
                ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] < mid else "black")
    fig.colorbar(im, ax=ax, label=cbar)
    ax.set_title(title, fontsize=10)
    return to_base64(fig)
