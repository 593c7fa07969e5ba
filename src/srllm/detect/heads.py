"""The detector's trained heads: small dense networks on sentence embeddings, one per taxonomy category, stored
as safetensors (weights) + JSON (metadata), applied with numpy. No pickles.

A head is a stack of dense layers (ReLU between them, one output logit); a logistic regression is a stack of one.
A head may be *conditional* on a parent (a bias sub-category on `bias`): its own sigmoid is P(sub | parent) and
the probability it reports is P(parent) * P(sub | parent), so a sub-category never scores above its parent.

Files in a heads folder:
    heads.safetensors   tensors named "<category>.w<i>" (out x in) and "<category>.b<i>" (out)
    heads.json          {"format", "encoder", "embedding_dim", "max_seq_length", "heads": [...], "training": {...},
                         "encoder_adapter" (optional): "encoder-adapter",
                         "requires_group" (optional): ["bias", "stereotyping"]}
    encoder-adapter/    (optional) the PEFT LoRA adapter of the tuned encoder the heads were fitted on
                        (srllm.train.detector.encoder_tuning), merged into `encoder` when a Detector loads them
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srllm.atomic import atomic_file, write_text_atomic
from srllm.errors import SrllmModelError

__all__ = ["Head", "HeadSet", "HEADS_FORMAT", "default_heads_dir", "unsafe_score", "calibrated", "uncalibrated"]

HEADS_FORMAT = "srllm-detector-heads/1"
WEIGHTS_FILE, META_FILE = "heads.safetensors", "heads.json"
ADAPTER_DIR = "encoder-adapter"  # the tuned encoder's PEFT adapter, inside a heads folder


def default_heads_dir() -> Path:
    """The heads shipped in the package (src/srllm/assets/detector)."""
    return Path(__file__).resolve().parent.parent / "assets" / "detector"


@dataclass
class Head:
    """One category's scorer: dense layers -> logit -> sigmoid (times the parent's probability if conditional)."""

    id: str
    layers: list[tuple[np.ndarray, np.ndarray]]
    threshold: float = 0.5
    parent: str | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.layers:
            raise SrllmModelError(f"head '{self.id}' has no layers")
        self.layers = [(np.asarray(w, dtype=np.float32), np.asarray(b, dtype=np.float32).reshape(-1))
                       for w, b in self.layers]
        for i, (w, b) in enumerate(self.layers):
            if w.ndim != 2 or w.shape[0] != b.shape[0]:
                raise SrllmModelError(f"head '{self.id}' layer {i}: weight {w.shape} and bias {b.shape} disagree")
            if i and w.shape[1] != self.layers[i - 1][0].shape[0]:
                raise SrllmModelError(f"head '{self.id}' layer {i} takes {w.shape[1]} inputs but layer {i - 1} "
                                      f"gives {self.layers[i - 1][0].shape[0]}")
        if self.layers[-1][0].shape[0] != 1:
            raise SrllmModelError(f"head '{self.id}': the last layer must give one logit")
        if not 0.0 <= float(self.threshold) <= 1.0:
            raise SrllmModelError(f"head '{self.id}': threshold {self.threshold} is not in [0, 1]")

    @property
    def input_dim(self) -> int:
        return int(self.layers[0][0].shape[1])

    def logit(self, x: np.ndarray) -> np.ndarray:
        h = np.asarray(x, dtype=np.float32)
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h[:, 0]


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


def _logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p) - np.log1p(-p)


def calibrated(probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Each category's probability moved in logit space so its threshold sits at 0.5 (>= 0.5 exactly when flagged)."""
    return sigmoid(_logit(probs) - _logit(thresholds)[None, :])


def uncalibrated(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The inverse of `calibrated`: probabilities at the given thresholds."""
    return sigmoid(_logit(scores) + _logit(thresholds)[None, :])


def unsafe_score(probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """P(unsafe) per row: each category's probability moved in logit space so its threshold sits at 0.5, then the
    largest. So P(unsafe) >= 0.5 exactly when some category is at or above its threshold (= `unsafe`), and it
    keeps each head's ranking (a score for AUPRC and soft judging)."""
    probs = np.asarray(probs)
    if probs.ndim != 2 or probs.shape[1] == 0:
        return np.zeros(len(probs), dtype=np.float32)
    return calibrated(probs, thresholds).max(axis=1).astype(np.float32)


@dataclass
class HeadSet:
    """All heads of a detector, parents before children, with what they were trained on."""

    heads: list[Head]
    encoder: str = "all-minilm-l6-v2"
    max_seq_length: int = 128
    training: dict = field(default_factory=dict)
    # A PEFT adapter folder merged into the encoder (the tuned encoder the heads were fitted on), or None.
    encoder_adapter: str | None = None
    # Top heads ("bias", "stereotyping") whose probabilities, and their sub-categories', are 0 for a text that names
    # no group of people (srllm.detect.groups): the heads were trained and their thresholds declared that way.
    requires_group: tuple[str, ...] = ()

    def __post_init__(self):
        seen: set[str] = set()
        for h in self.heads:
            if h.id in seen:
                raise SrllmModelError(f"two heads named '{h.id}'")
            if h.parent is not None and h.parent not in seen:
                raise SrllmModelError(f"head '{h.id}' is conditional on '{h.parent}', which is not an earlier head")
            seen.add(h.id)
        self.requires_group = tuple(self.requires_group)
        for g in self.requires_group:
            if g not in seen:
                raise SrllmModelError(f"requires_group names '{g}', which is not a head")
        dims = {h.input_dim for h in self.heads}
        if len(dims) > 1:
            raise SrllmModelError(f"heads take different input sizes {sorted(dims)}; they must share one encoder")

    @property
    def ids(self) -> list[str]:
        return [h.id for h in self.heads]

    @property
    def embedding_dim(self) -> int:
        return self.heads[0].input_dim if self.heads else 0

    def __getitem__(self, cid: str) -> Head:
        for h in self.heads:
            if h.id == cid:
                return h
        raise KeyError(cid)

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """Probabilities, shape (n_texts, n_heads), columns in `ids` order."""
        x = np.asarray(embeddings, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.embedding_dim:
            raise SrllmModelError(f"the heads take {self.embedding_dim}-d embeddings, got shape {x.shape}; "
                                  f"use the encoder they were trained with ({self.encoder})")
        out = np.zeros((x.shape[0], len(self.heads)), dtype=np.float32)
        col = {}
        for j, h in enumerate(self.heads):
            p = sigmoid(h.logit(x))
            if h.parent is not None:
                p = p * out[:, col[h.parent]]
            out[:, j] = p
            col[h.id] = j
        return out

    def group_columns(self, ids: list[str] | None = None) -> list[int]:
        """Columns (of `ids`, default every head) that `requires_group` sets to 0 for texts naming no group."""
        ids = self.ids if ids is None else ids
        return [j for j, c in enumerate(ids) if any(c == g or c.startswith(g + ".") for g in self.requires_group)]

    def apply_group_rule(self, probs: np.ndarray, texts: list[str], *, ids: list[str] | None = None,
                         extra_terms: frozenset[str] = frozenset()) -> np.ndarray:
        """`probs` (rows = `texts`, columns = `ids`) with the `requires_group` columns set to 0 where the text
        names no group (in place; returned)."""
        cols = self.group_columns(ids)
        if cols and len(texts):
            from srllm.detect.groups import group_pattern

            pattern = group_pattern(frozenset(extra_terms))  # once per call, not per text
            none = np.array([pattern.search(t) is None for t in texts])
            if none.any():
                probs[np.ix_(none, cols)] = 0.0
        return probs

    def save(self, folder: str | os.PathLike, *, dtype: str = "float16") -> Path:
        """Write heads.safetensors (weights in `dtype`, float16 by default: half the size; loaded as float32) and
        heads.json into `folder`, each file atomically."""
        from safetensors.numpy import save_file

        if dtype not in ("float16", "float32"):
            raise SrllmModelError(f"dtype must be float16 or float32, got {dtype!r}")
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        tensors = {}
        for h in self.heads:
            for i, (w, b) in enumerate(h.layers):
                tensors[f"{h.id}.w{i}"] = np.ascontiguousarray(w, dtype=dtype)
                tensors[f"{h.id}.b{i}"] = np.ascontiguousarray(b, dtype=dtype)
        if not self.encoder_adapter and (path / ADAPTER_DIR).is_dir():
            shutil.rmtree(path / ADAPTER_DIR)  # heads of an untuned encoder: a stale adapter would mislead readers
        meta = {"format": HEADS_FORMAT, "encoder": self.encoder, "embedding_dim": self.embedding_dim,
                "max_seq_length": self.max_seq_length,
                **({"encoder_adapter": self._save_adapter(path)} if self.encoder_adapter else {}),
                **({"requires_group": list(self.requires_group)} if self.requires_group else {}),
                "heads": [{"id": h.id, "layers": len(h.layers), "threshold": round(float(h.threshold), 6),
                           "parent": h.parent, **({"info": h.info} if h.info else {})} for h in self.heads],
                "training": self.training}
        with atomic_file(path / WEIGHTS_FILE) as tmp:
            save_file(tensors, str(tmp), metadata={"format": HEADS_FORMAT})
        write_text_atomic(path / META_FILE, json.dumps(meta, indent=2) + "\n")
        return path

    def _save_adapter(self, path: Path) -> str:
        """Copy the encoder adapter into the heads folder (unless it is there already); its name there."""
        src, dst = Path(self.encoder_adapter), path / ADAPTER_DIR
        if src.resolve() != dst.resolve():
            tmp = path / (ADAPTER_DIR + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(src, tmp)
            shutil.rmtree(dst, ignore_errors=True)
            tmp.rename(dst)
        return ADAPTER_DIR

    @classmethod
    def load(cls, folder: str | os.PathLike) -> HeadSet:
        from safetensors.numpy import load_file

        path = Path(folder)
        weights, meta_path = path / WEIGHTS_FILE, path / META_FILE
        for f in (weights, meta_path):
            if not f.is_file():
                raise SrllmModelError(f"detector heads folder '{path}' has no {f.name}; train heads with "
                                      f"`srllm train detector --out {path}` or pass heads=None for the shipped ones")
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
        except json.JSONDecodeError as e:
            raise SrllmModelError(f"{meta_path}: not valid JSON ({e})") from e
        if meta.get("format") != HEADS_FORMAT:
            raise SrllmModelError(f"{meta_path}: format {meta.get('format')!r} is not {HEADS_FORMAT!r}")
        tensors = load_file(str(weights))
        heads = []
        for spec in meta.get("heads", []):
            cid = spec["id"]
            try:
                layers = [(tensors[f"{cid}.w{i}"], tensors[f"{cid}.b{i}"]) for i in range(int(spec["layers"]))]
            except KeyError as e:
                raise SrllmModelError(f"{weights}: missing tensor {e} for head '{cid}'") from e
            heads.append(Head(id=cid, layers=layers, threshold=float(spec.get("threshold", 0.5)),
                              parent=spec.get("parent"), info=spec.get("info", {})))
        if not heads:
            raise SrllmModelError(f"{meta_path}: lists no heads")
        adapter = meta.get("encoder_adapter")
        if adapter and not (path / adapter / "adapter_config.json").is_file():
            raise SrllmModelError(f"{meta_path}: encoder_adapter '{adapter}' is not an adapter folder in {path}")
        return cls(heads=heads, encoder=meta.get("encoder", ""), max_seq_length=int(meta.get("max_seq_length", 128)),
                   training=meta.get("training", {}), encoder_adapter=str(path / adapter) if adapter else None,
                   requires_group=tuple(meta.get("requires_group", ())))

