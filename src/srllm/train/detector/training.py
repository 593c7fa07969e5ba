"""Train the detector's heads (`srllm train detector`): load and split the labelled data, embed it (cached), fit
one head per category (C chosen and threshold declared on validation), evaluate on the held-out test split and
the external test sets, and write heads.safetensors + heads.json + metrics.json + CARD.md.

Heads: `toxicity`, `bias` and `stereotyping` are fitted on every example labelled for them (config.head: an MLP
or a logistic regression). Each sub-category of `bias` or `toxicity` with enough positives gets a logistic
regression fitted on the parent's positives whose sub-categories are known, i.e. P(sub | parent); it reports
P(parent) x P(sub | parent). Its threshold is the best validation F1 (under the FPR caps) but never below the
parent's, so under the declared thresholds a sub-category is only named when its parent is flagged.

Before fitting, training and validation texts of the stereotype sources that are near-duplicates of the held-out
stereotype set (group-masked embedding cosine >= near_duplicate_cosine) are dropped (`drop_heldout_near_duplicates`):
a held-out stereotype must not come back through a reworded SBIC line or a group-swapped copy.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

from srllm.atomic import write_text_atomic
from srllm.data import shared_data_dir
from srllm.detect.heads import Head, HeadSet, default_heads_dir
from srllm.errors import SrllmDataError
from srllm.evaluate.detection import score_counterfactual_fairness, score_external, score_stereotypes
from srllm.train.detector.config import DetectorTrainConfig
from srllm.train.detector.data import CHILD_PARENTS, TOP_HEADS, Example, load_examples, split_examples
from srllm.train.detector.embed import EmbeddingCache, embed_with_progress
from srllm.train.detector.evaluation import Scorer, evaluate_heldout
from srllm.train.detector.fit import balanced_weights, choose_threshold, fit_best, predict
from srllm.train.detector.holdout import counterfactual_split, heldout_stereotypes
from srllm.train.detector.lexicon import mask_groups

__all__ = ["train_detector", "fit_heads", "drop_heldout_near_duplicates"]

# Sources whose texts can be near-duplicates of the held-out stereotype set (its positives come from SBIC, GEST,
# CrowS-Pairs, StereoSet and templates; its negatives from the safe group-mention sources).
GUARDED_SOURCES = ("sbic", "gest", "crows_pairs", "crows_anti", "stereoset_stereotypes", "srllm", "bbq_context",
                   "group_mentions", "lexicon_mentions", "discrim_eval", "stereoset_context")


def _log(console, msg: str) -> None:
    if console is not None:
        console.print(msg, highlight=False)


def _xy(examples, emb, split: str, pick, label):
    idx = [i for i, e in enumerate(examples) if e.split == split and pick(e)]
    return emb[idx], np.array([label(examples[i]) for i in idx], dtype=np.float32)


def _sources(examples, split: str, pick) -> np.ndarray:
    return np.array([e.source for e in examples if e.split == split and pick(e)])


def _fp16(layers):
    """Weights are shipped as float16 (half the size); thresholds are chosen with the rounded weights."""
    return [(w.astype(np.float16).astype(np.float32), b.astype(np.float16).astype(np.float32)) for w, b in layers]


def _names_group(examples: list[Example], cfg: DetectorTrainConfig) -> np.ndarray:
    """Per example: does the group rule let its heads count (always True when `group_rule_heads` is empty)."""
    if not cfg.group_rule_heads:
        return np.ones(len(examples), dtype=bool)
    from srllm.detect.groups import group_pattern
    from srllm.taxonomy import default_taxonomy

    pattern = group_pattern(default_taxonomy().group_terms)
    return np.array([pattern.search(e.text) is not None for e in examples], dtype=bool)


def fit_heads(examples: list[Example], emb: np.ndarray, cfg: DetectorTrainConfig, console=None) -> list[Head]:
    """Fit every head on the train split; choose C / the epoch and declare thresholds on the val split (for the
    heads of `group_rule_heads`, with the group rule applied)."""
    heads: list[Head] = []
    named = _names_group(examples, cfg)
    for cid in TOP_HEADS:
        def pick(e, cid=cid):
            return cid in e.labels

        def label(e, cid=cid):
            return e.labels[cid]

        x, y = _xy(examples, emb, "train", pick, label)
        xv, yv = _xy(examples, emb, "val", pick, label)
        if y.sum() == 0 or yv.sum() == 0:
            _log(console, f"[yellow]skip head {cid}: no positives in train or val[/]")
            continue
        w = balanced_weights(y, _sources(examples, "train", pick), alpha=cfg.source_balance)
        fit = fit_best(x, y, xv, yv, kind=cfg.head, c_grid=cfg.c_grid, seed=cfg.seed, weights=w, hidden=cfg.hidden,
                       epochs=cfg.epochs, learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay)
        layers = _fp16(fit.layers)
        groups = _sources(examples, "val", pick)
        pv = predict(layers, xv)
        if cid in cfg.group_rule_heads:
            pv = pv * _xy(examples, named, "val", pick, label)[0]
        t = choose_threshold(yv, pv, max_fpr=cfg.max_val_fpr, groups=groups)
        if cid in ("bias", "stereotyping"):
            t = max([t] + [_cap_threshold(pv, yv, groups == src, cap)
                           for src, cap in cfg.bias_source_max_val_fpr.items()])
        heads.append(Head(id=cid, layers=layers, threshold=t, info={
            "kind": fit.kind, "c": fit.c, "val_auprc": round(fit.val_auprc, 4), "train_positives": int(y.sum()),
            "train_negatives": int(len(y) - y.sum()), "val_positives": int(yv.sum()),
            "val_negatives": int(len(yv) - yv.sum())}))
        _log(console, f"head {cid}: {fit.kind} C={fit.c} val AUPRC {fit.val_auprc:.3f} threshold {t:.3f}")
    for parent in [h for h in heads if h.id in CHILD_PARENTS]:
        gated = named if parent.id in cfg.group_rule_heads else None
        heads += _fit_children(parent, examples, emb, cfg, console, gated)
    return heads


def _cap_threshold(p: np.ndarray, y: np.ndarray, in_source: np.ndarray, cap: float, min_negatives: int = 50) -> float:
    """The lowest threshold with a false-positive rate <= cap on the source's validation negatives (0 when it has
    fewer than min_negatives)."""
    neg = np.sort(p[in_source & (y == 0)])
    if len(neg) < min_negatives:
        return 0.0
    k = int(np.floor(cap * len(neg)))  # at most k negatives may reach the threshold
    return float(np.nextafter(neg[len(neg) - k - 1], np.inf)) if k < len(neg) else 0.0


def drop_heldout_near_duplicates(examples: list[Example], embed, cfg, taxonomy_groups=frozenset()) -> int:
    """Drop (split "heldout_near_duplicate") train/val examples of GUARDED_SOURCES whose group-masked embedding is
    >= cfg.near_duplicate_cosine to a held-out stereotype-set text's. Returns how many were dropped."""
    held = [r.text for r in heldout_stereotypes()]
    todo = [i for i, e in enumerate(examples) if e.split in ("train", "val")
            and e.source.removesuffix("_swapped") in GUARDED_SOURCES]
    if not held or not todo or cfg.near_duplicate_cosine >= 1.0:
        return 0
    a = embed([mask_groups(examples[i].text, taxonomy_groups) for i in todo], "near-duplicate check")
    b = embed([mask_groups(t, taxonomy_groups) for t in held], "near-duplicate check")
    n = 0
    for start in range(0, len(todo), 4096):
        near = (a[start:start + 4096] @ b.T).max(axis=1) >= cfg.near_duplicate_cosine
        for k in np.flatnonzero(near):
            examples[todo[start + k]].split = "heldout_near_duplicate"
            n += 1
    return n


def _fit_children(parent: Head, examples, emb, cfg, console, named=None) -> list[Head]:
    """Logistic regressions P(sub | parent) on the parent's positives whose sub-categories are known (`named`: the
    group rule per example, applied to the reported probability when declaring thresholds)."""
    def known(e):
        return parent.id in e.subs_known and e.labels.get(parent.id) == 1

    def scope(e):  # for the threshold: safe texts and every known positive of the parent
        return e.labels.get(parent.id) == 0 or known(e)

    counts = Counter(k for e in examples if e.split == "train" and known(e)
                     for k, v in e.labels.items() if k.startswith(parent.id + ".") and v == 1)
    out = []
    for sub in sorted(k for k, n in counts.items() if n >= cfg.min_positives):
        def label(e, sub=sub):
            return e.labels.get(sub, 0)

        x, y = _xy(examples, emb, "train", known, label)
        xv, yv = _xy(examples, emb, "val", known, label)
        if yv.sum() == 0 or yv.sum() == len(yv) or y.sum() == len(y):
            _log(console, f"[yellow]skip head {sub}: validation has no positives or no negatives[/]")
            continue
        w = balanced_weights(y, _sources(examples, "train", known), alpha=cfg.source_balance)
        fit = fit_best(x, y, xv, yv, kind="logreg", c_grid=cfg.c_grid, seed=cfg.seed, weights=w)
        layers = _fp16(fit.layers)
        xs, ys = _xy(examples, emb, "val", scope, label)
        p_sub = predict(parent.layers, xs) * predict(layers, xs)  # the reported probability
        if named is not None:
            p_sub = p_sub * _xy(examples, named, "val", scope, label)[0]
        t = max(parent.threshold, choose_threshold(ys, p_sub, max_fpr=cfg.max_val_fpr,
                                                   groups=_sources(examples, "val", scope)))
        out.append(Head(id=sub, layers=layers, threshold=t, parent=parent.id, info={
            "kind": f"logreg, conditional on {parent.id}", "c": fit.c,
            "val_auprc_given_parent": round(fit.val_auprc, 4), "train_positives": int(y.sum()),
            "train_negatives_given_parent": int(len(y) - y.sum()), "val_positives": int(yv.sum())}))
        _log(console, f"head {sub}: C={fit.c} val AUPRC (given {parent.id}) {fit.val_auprc:.3f} threshold {t:.3f}")
    return out


def _counts(examples: list[Example]) -> list[dict]:
    table: dict[tuple[str, str], Counter] = {}
    for e in examples:
        c = table.setdefault((e.source, e.split), Counter())
        c["texts"] += 1
        for k, v in e.labels.items():
            if k in TOP_HEADS:
                c[f"{k}={v}"] += 1
    return [{"source": s, "split": sp, **dict(sorted(c.items()))} for (s, sp), c in sorted(table.items())]


def train_detector(config: DetectorTrainConfig | None = None, *, console=None, command: str | None = None) -> dict:
    """Train, evaluate and save the detector heads. Returns the metrics written to metrics.json."""
    from srllm.models import EMBEDDED_ENCODER, cache_dir, load_sentence_encoder, resolve_encoder
    from srllm.train.detector.card import write_card

    cfg = config or DetectorTrainConfig()
    started = time.time()
    data = cfg.data_dir or shared_data_dir()
    if data is None or not Path(data).is_dir():
        raise SrllmDataError("no training data: pass --data-dir with the folder holding paradetox/ and sr-llm/ "
                             "(or set SRLLM_DATA_DIR)")
    out = Path(cfg.out) if cfg.out else default_heads_dir()
    if cfg.encoder_adapter and not (Path(cfg.encoder_adapter) / "adapter_config.json").is_file():
        raise SrllmDataError(f"encoder_adapter '{cfg.encoder_adapter}' is not a PEFT adapter folder (no "
                             "adapter_config.json)")
    examples, stats = load_examples(cfg, Path(data))
    split_examples(examples, seed=cfg.seed, val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction)
    _log(console, f"{len(examples)} examples from {', '.join(cfg.sources)}; {stats}")
    def embedding_cache(encoder_name: str) -> EmbeddingCache | None:
        return EmbeddingCache(cache_dir() / "detector", encoder_name, cfg.max_seq_length) if cfg.cache_embeddings \
            else None

    encoder = load_sentence_encoder(cfg.encoder)
    cache = embedding_cache(resolve_encoder(cfg.encoder))

    def embed(texts, description="embedding"):
        return embed_with_progress(encoder, texts, max_seq_length=cfg.max_seq_length, batch_size=cfg.batch_size,
                                   cache=cache, description=description)

    from srllm.taxonomy import default_taxonomy

    # With the untuned encoder: what counts as a near-duplicate must not depend on the tuning it protects.
    stats["heldout_near_duplicates_dropped"] = drop_heldout_near_duplicates(
        examples, embed, cfg, default_taxonomy().group_terms)
    examples = [e for e in examples if e.split != "heldout_near_duplicate"]
    adapter, t_tune = None, time.time()
    from srllm.models.loading import adapter_fingerprint

    if cfg.encoder_adapter:
        adapter = Path(cfg.encoder_adapter)
        encoder = load_sentence_encoder(cfg.encoder, str(adapter))
        cache = embedding_cache(f"{resolve_encoder(cfg.encoder)}+{adapter_fingerprint(adapter)}")
    elif cfg.tune_encoder:
        from srllm.train.detector.encoder_tuning import tune_encoder

        adapter = tune_encoder(examples, cfg, base=resolve_encoder(cfg.encoder),
                               work_dir=cache_dir() / "detector" / "encoder-tuning",
                               base_name=cfg.encoder or EMBEDDED_ENCODER, console=console)
        encoder = load_sentence_encoder(cfg.encoder, str(adapter))
        cache = embedding_cache(f"{resolve_encoder(cfg.encoder)}+{adapter_fingerprint(adapter)}")
    tune_seconds = time.time() - t_tune

    texts = [e.text for e in examples]
    cached = sum(cache.get(t) is not None for t in texts) if cache is not None else 0
    t_emb = time.time()
    emb = embed(texts, "embedding training data")
    embed_seconds = time.time() - t_emb
    t_fit = time.time()
    heads = fit_heads(examples, emb, cfg, console)
    if not heads:
        raise SrllmDataError("no head could be trained: the sources gave no positives with validation data")
    fit_seconds = time.time() - t_fit
    head_set = HeadSet(heads=heads, encoder=cfg.encoder or EMBEDDED_ENCODER, max_seq_length=cfg.max_seq_length,
                       encoder_adapter=str(adapter) if adapter else None,
                       requires_group=tuple(h.id for h in heads if h.id in cfg.group_rule_heads))
    scorer = Scorer(head_set)
    metrics = {
        "command": command or "srllm train detector",
        "config": cfg.as_dict(), "data": {"dir": str(data), **stats, "counts": _counts(examples)},
        "thresholds": {h.id: round(h.threshold, 4) for h in heads},
        "heads": {h.id: h.info for h in heads},
        "unsafe_rule": ("unsafe = any enabled head at/above its threshold; P(unsafe) = max over enabled heads of "
                        "sigmoid(logit(p) - logit(threshold)), so P(unsafe) >= 0.5 exactly when unsafe"),
        "heldout": evaluate_heldout(examples, emb, scorer, n_boot=cfg.bootstrap, seed=cfg.seed),
        "external": score_external(Path(data), lambda t: scorer(embed(t, "embedding test sets"), t)[1:],
                                   keep_row=lambda i, r: counterfactual_split(i, r.original) == "test"),
        "fairness": _fairness(Path(data), scorer, embed),
        "seconds": {"total": round(time.time() - started, 1), "tune_encoder": round(tune_seconds, 1),
                    "fit_heads": round(fit_seconds, 1),
                    "embed_training_data": round(embed_seconds, 1)},
        "embedding": {"texts": len(texts), "from_cache": cached, "embedded_now": len(texts) - cached},
        "date": time.strftime("%Y-%m-%d"),
    }
    head_set.training = {k: metrics[k] for k in ("command", "date", "thresholds", "unsafe_rule")}
    head_set.training["config"] = metrics["config"]
    head_set.save(out)
    write_text_atomic(out / "metrics.json", json.dumps(_finite(metrics), indent=2, default=_json_default) + "\n")
    write_card(out / "CARD.md", metrics)
    _log(console, f"wrote {out}/heads.safetensors, heads.json, metrics.json, CARD.md "
                  f"({metrics['seconds']['total']:.0f} s)")
    return metrics


def _fairness(data: Path, scorer, embed) -> dict:
    """Issue 13's targets on texts never trained on: the held-out rows of counterfactual-inhouse.csv and the held-out
    stereotype set (heads alone, at the declared thresholds)."""
    from srllm.data.sources import read_counterfactual

    out = {}
    cf = data / "sr-llm" / "counterfactual-inhouse.csv"
    if cf.is_file():
        rows = [r for i, r in enumerate(read_counterfactual(cf)) if counterfactual_split(i, r.original) == "test"]
        out["counterfactual_heldout"] = score_counterfactual_fairness(
            rows, lambda t: scorer(embed(t, "embedding held-out counterfactual rows"), t)[0], scorer.thr)
    items = heldout_stereotypes()
    if items:
        out["stereotypes_heldout"] = score_stereotypes(
            items, lambda t: scorer(embed(t, "embedding the held-out stereotype set"), t)[1:])
    return out


def _finite(v):
    """NaN (e.g. precision with nothing flagged) -> None, so metrics.json is strict JSON."""
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    if isinstance(v, (float, np.floating)) and not np.isfinite(v):
        return None
    return v


def _json_default(v):
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, Path):
        return str(v)
    raise TypeError(f"cannot serialise {type(v).__name__}")
