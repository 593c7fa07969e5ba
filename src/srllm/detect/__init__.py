"""The fast detector: sentence embeddings (all-MiniLM-L6-v2) + trained heads -> a probability per taxonomy
category, an `unsafe` decision at declared thresholds, a severity, and the words that carry the problem."""

from srllm.detect.detector import Detector
from srllm.detect.heads import HEADS_FORMAT, Head, HeadSet, default_heads_dir
from srllm.detect.spans import SpanRule, word_tokens

__all__ = ["Detector", "HEADS_FORMAT", "Head", "HeadSet", "SpanRule", "default_heads_dir", "word_tokens"]
