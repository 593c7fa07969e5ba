"""Rewrite unsafe text into a benign version that keeps its meaning."""

from srllm.rewrite.clean import clean_rewrite
from srllm.rewrite.edit import remove_spans
from srllm.rewrite.prompts import SYSTEM_PROMPT, build_messages, training_messages
from srllm.rewrite.rewriter import RewriteConfig, Rewriter

__all__ = ["RewriteConfig", "Rewriter", "SYSTEM_PROMPT", "build_messages", "clean_rewrite", "remove_spans",
           "training_messages"]
