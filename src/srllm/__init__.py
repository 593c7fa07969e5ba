"""srllm: detect unsafe text, rewrite it benignly, fine-tune and evaluate safe and responsible LLMs."""

__version__ = "0.1.0"
