"""srllm: detect unsafe text, rewrite it benignly, fine-tune and evaluate safe and responsible LLMs.

Quick start::

    import srllm
    result = srllm.check("Women are too emotional to be engineers.")
    result.unsafe, result.categories, result.output, result.action
"""

from srllm.errors import SrllmConfigError, SrllmDataError, SrllmError, SrllmModelError
from srllm.guard import Guard, check, check_file
from srllm.schema import CheckResult, Record, RewriteResult, Span, Verdict

__version__ = "0.1.0"

__all__ = [
    "CheckResult", "Guard", "Record", "RewriteResult", "Span", "SrllmConfigError", "SrllmDataError", "SrllmError",
    "SrllmModelError", "Verdict", "check", "check_file", "__version__",
]
