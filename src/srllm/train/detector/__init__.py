"""Training of the detector's heads (`srllm train detector`): its config (`config`), labelled data (`data`, with
counterfactual augmentation in `cda` and the held-out texts in `holdout`), embeddings (`embed`), fitting (`fit`),
held-out evaluation (`evaluation`), the card (`card`) and the run that ties them together (`training`)."""

from srllm.train.detector.config import DetectorTrainConfig
from srllm.train.detector.training import fit_heads, train_detector

__all__ = ["DetectorTrainConfig", "fit_heads", "train_detector"]
