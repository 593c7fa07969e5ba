"""Distil the detector's first-pass screen (srllm.detect.screen) from a trained detector: `srllm train screen`.

1. The detector's own examples, split as its heads were (the config saved in the heads' metrics.json): the screen
   learns on the train split, its cut-offs are set on val, and test is reported.
2. Labels: the full detector's calibrated scores sigmoid(logit(p) - logit(threshold)) per head (group rule and term
   hits included), computed in chunks of `label_batch` texts that are cached, so an interrupted run resumes.
3. A bag of word pieces (torch EmbeddingBag over the encoder's tokenizer, mean of the pieces seen at least
   `min_count` times in train) and a one-hidden-layer MLP, fitted to those scores (binary cross-entropy, soft targets).
4. Cut-offs on val: `clear_below` the lowest estimate among the `max_changed` share of the detector's unsafe texts
   the screen may clear, `flag_above` likewise over its safe texts; test reports how many texts each side decides
   and how many decisions that changes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srllm.config import config_field as _help
from srllm.errors import SrllmConfigError, SrllmDataError

__all__ = ["ScreenTrainConfig", "train_screen", "cut_offs"]


@dataclass
class ScreenTrainConfig:
    heads: Path | None = _help("Detector heads folder to distil the screen from (default: the shipped heads).",
                               default=None)
    out: Path | None = _help("Folder to write the screen into (default: screen/ inside the heads folder).",
                             default=None)
    data_dir: Path | None = _help("Folder with paradetox/ and sr-llm/ (default: srllm.data.shared_data_dir()).",
                                  default=None)
    vector_dim: int = _help("Size of each word piece's vector.", default=64)
    hidden: int = _help("Hidden units of the MLP over the mean vector.", default=128)
    epochs: int = _help("Passes over the train split.", default=8)
    learning_rate: float = _help("Adam learning rate.", default=3e-3)
    batch_size: int = _help("Texts per training step.", default=256)
    min_count: int = _help("A word piece gets a vector when it occurs at least this often in train texts.",
                           default=2)
    max_changed: float = _help("Share of the detector's validation decisions each cut-off may change: of its "
                               "unsafe texts the screen may clear, and of its safe texts it may flag.",
                               default=0.005)
    max_tokens: int = _help("Texts of more word pieces than this always go to the encoder.", default=64)
    label_batch: int = _help("Texts the full detector scores per cached chunk (resume unit).", default=2000)
    seed: int = _help("Seed of the initialisation and the batch order.", default=0)

    def __post_init__(self):
        if not 0.0 <= self.max_changed < 0.5:
            raise SrllmConfigError(f"max_changed must be in [0, 0.5), got {self.max_changed}")
        for name in ("vector_dim", "hidden", "epochs", "batch_size", "min_count", "max_tokens", "label_batch"):
            if getattr(self, name) < 1:
                raise SrllmConfigError(f"{name} must be >= 1, got {getattr(self, name)}")


def cut_offs(estimate: np.ndarray, unsafe: np.ndarray, max_changed: float) -> tuple[float, float]:
    """(clear_below, flag_above): the screen clears estimates below the first and flags those at or above the
    second, so that at most `max_changed` of the detector's unsafe texts are cleared and of its safe texts flagged."""
    pos, neg = np.sort(estimate[unsafe]), np.sort(estimate[~unsafe])[::-1]
    clear = float(pos[int(max_changed * len(pos))]) if len(pos) else 0.5
    flag = float(np.nextafter(neg[int(max_changed * len(neg))], np.inf)) if len(neg) else 0.5
    return min(clear, 0.5), max(flag, 0.5)


def _detector_examples(heads_dir: Path, data: Path):
    from srllm.config import load_config
    from srllm.train.detector.config import DetectorTrainConfig
    from srllm.train.detector.data import load_examples, split_examples

    metrics = heads_dir / "metrics.json"
    if not metrics.is_file():
        raise SrllmDataError(f"{metrics} is missing: the screen is split as the heads were trained, and their "
                             f"metrics.json records how", file=str(metrics))
    saved = json.loads(metrics.read_text(encoding="utf-8")).get("config", {})
    known = {f.name for f in dataclasses.fields(DetectorTrainConfig)}
    cfg = load_config(DetectorTrainConfig, **{k: v for k, v in saved.items()
                                              if k in known and k not in ("out", "data_dir", "encoder_adapter")})
    examples, _ = load_examples(cfg, data)
    split_examples(examples, seed=cfg.seed, val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction)
    return [e for e in examples if e.split in ("train", "val", "test")]


def _labels(detector, texts: list[str], heads_dir: Path, batch: int, console) -> np.ndarray:
    """The detector's calibrated scores of `texts`, chunk by chunk, each chunk cached (resumable)."""
    from srllm.atomic import atomic_file
    from srllm.detect.heads import calibrated
    from srllm.models import cache_dir

    h = hashlib.sha1()
    for name in ("heads.safetensors", "heads.json"):
        h.update((heads_dir / name).read_bytes())
    h.update("\n".join(texts).encode())
    folder = cache_dir() / "screen-labels" / h.hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    thr, out, start = detector._thr(), [], time.time()
    for k, i in enumerate(range(0, len(texts), batch)):
        chunk = folder / f"chunk-{k:05d}.npy"
        if not chunk.is_file():
            scores = calibrated(detector.probabilities(texts[i:i + batch]), thr).astype(np.float32)
            with atomic_file(chunk) as tmp, open(tmp, "wb") as fh:
                np.save(fh, scores)
        out.append(np.load(chunk))
        if console is not None:
            console.print(f"labels {min(i + batch, len(texts))}/{len(texts)} ({time.time() - start:.0f} s)")
    return np.concatenate(out)


def _fit(pieces: list[list[int]], y: np.ndarray, train: np.ndarray, cfg: ScreenTrainConfig, console):
    """Fit the bag-of-word-pieces MLP on the `train` rows. Returns (vocab_ids, vectors, layers)."""
    import torch

    counts = np.bincount(np.concatenate([pieces[i] for i in train if pieces[i]] or [np.zeros(0, np.int64)]))
    vocab_ids = np.flatnonzero(counts >= cfg.min_count)
    row = np.zeros(max(len(counts), max((max(p) for p in pieces if p), default=0) + 1), dtype=np.int64)
    row[vocab_ids] = np.arange(1, len(vocab_ids) + 1)  # 0: a piece without a vector (skipped by padding_idx)
    torch.manual_seed(cfg.seed)
    bag = torch.nn.EmbeddingBag(len(vocab_ids) + 1, cfg.vector_dim, mode="mean", padding_idx=0)
    mlp = torch.nn.Sequential(torch.nn.Linear(cfg.vector_dim, cfg.hidden), torch.nn.ReLU(),
                              torch.nn.Linear(cfg.hidden, y.shape[1]))
    params = list(bag.parameters()) + list(mlp.parameters())
    opt = torch.optim.Adam(params, lr=cfg.learning_rate)
    target = torch.tensor(y, dtype=torch.float32)

    def batch(idx):
        seqs = [row[pieces[i]] if pieces[i] else np.zeros(1, np.int64) for i in idx]
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in seqs])[:-1]])
        return torch.tensor(np.concatenate(seqs)), torch.tensor(offsets)

    rng = np.random.default_rng(cfg.seed)
    order = np.array(train)
    for epoch in range(cfg.epochs):
        rng.shuffle(order)
        total = 0.0
        for s in range(0, len(order), cfg.batch_size):
            idx = order[s:s + cfg.batch_size]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(mlp(bag(*batch(idx))), target[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if console is not None:
            console.print(f"epoch {epoch + 1}/{cfg.epochs}: train loss {total / len(order):.4f}")
    vectors = bag.weight.detach().numpy()[1:]
    layers = [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()) for m in (mlp[0], mlp[2])]
    return vocab_ids, vectors, layers


def _report(screen, texts, pieces, y, rows, sources) -> dict:
    """How much the screen decides on `rows` and how many of the detector's decisions that changes."""
    est = screen.scores([texts[i] for i in rows], [pieces[i] for i in rows]).max(axis=1)
    short = np.array([len(pieces[i]) <= screen.max_tokens for i in rows])
    unsafe = y[rows].max(axis=1) >= 0.5
    cleared, flagged = short & (est < screen.clear_below), short & (est >= screen.flag_above)
    missed, false_flags = int((cleared & unsafe).sum()), int((flagged & ~unsafe).sum())
    out = {"texts": int(len(rows)), "cleared": int(cleared.sum()), "flagged": int(flagged.sum()),
           "decided_share": round(float((cleared | flagged).mean()), 4), "detector_unsafe_cleared": missed,
           "detector_safe_flagged": false_flags,
           "decisions_changed_share": round((missed + false_flags) / len(rows), 4)}
    by_source = {}
    for s in sorted(set(sources[rows])):
        k = sources[rows] == s
        by_source[s] = {"texts": int(k.sum()), "decided_share": round(float((cleared | flagged)[k].mean()), 3),
                        "changed": int((cleared & unsafe)[k].sum() + (flagged & ~unsafe)[k].sum())}
    out["by_source"] = by_source
    return out


def train_screen(config: ScreenTrainConfig | None = None, *, console=None, command: str | None = None) -> dict:
    """Distil, evaluate and save the screen. Returns its metrics (also in screen.json)."""
    from srllm.data import shared_data_dir
    from srllm.detect import Detector
    from srllm.detect.heads import default_heads_dir
    from srllm.detect.screen import SCREEN_DIR, Screen

    cfg = config or ScreenTrainConfig()
    start = time.time()
    heads_dir = Path(cfg.heads or default_heads_dir())
    out = Path(cfg.out or heads_dir / SCREEN_DIR)
    data = Path(cfg.data_dir or shared_data_dir())
    examples = _detector_examples(heads_dir, data)
    texts = [e.text for e in examples]
    split = np.array([e.split for e in examples])
    sources = np.array([e.source for e in examples])
    detector = Detector(heads=heads_dir, screen=False)
    y = _labels(detector, texts, heads_dir, cfg.label_batch, console)
    tokenizer = _tokenizer(detector)
    pieces = [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
    train, val, test = (np.flatnonzero(split == s) for s in ("train", "val", "test"))
    vocab_ids, vectors, layers = _fit(pieces, y, train, cfg, console)
    thresholds = {c: float(t) for c, t in zip(detector.categories, detector._thr(), strict=True)}
    screen = Screen(tokenizer=tokenizer, vocab_ids=vocab_ids, vectors=vectors, layers=layers,
                    categories=detector.categories, thresholds=thresholds, max_tokens=cfg.max_tokens)
    short_val = val[[len(pieces[i]) <= cfg.max_tokens for i in val]]
    est = screen.scores([texts[i] for i in short_val], [pieces[i] for i in short_val]).max(axis=1)
    screen.clear_below, screen.flag_above = cut_offs(est, y[short_val].max(axis=1) >= 0.5, cfg.max_changed)
    metrics = {"command": command, "date": time.strftime("%Y-%m-%d"), "heads": str(heads_dir),
               "config": {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(cfg).items()},
               "vocabulary": int(len(vocab_ids)), "clear_below": screen.clear_below,
               "flag_above": screen.flag_above, "val": _report(screen, texts, pieces, y, val, sources),
               "test": _report(screen, texts, pieces, y, test, sources)}
    metrics["seconds"] = round(time.time() - start, 1)
    screen.info = metrics
    screen.save(out)
    return metrics


def _tokenizer(detector):
    """A copy of the detector encoder's fast tokenizer (the `tokenizers` object, no truncation or padding)."""
    from tokenizers import Tokenizer

    backend = getattr(detector.encoder[0].tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise SrllmConfigError("the screen needs a fast (Rust `tokenizers`) tokenizer; the detector's encoder has "
                               "a slow one")
    tok = Tokenizer.from_str(backend.to_str())
    tok.no_truncation()
    tok.no_padding()
    return tok
