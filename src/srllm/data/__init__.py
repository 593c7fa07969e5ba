"""Readers, writers and sources of data: `srllm check` inputs (`readers`), atomic and resumable output (`writers`),
every external corpus (`sources`, one module per corpus), CMD building (`build`) and SIT mixing (`mix`)."""

from srllm.data.readers import InputRow, detect_format, read_inputs
from srllm.data.sources import (
    ASPECT_TO_CATEGORY,
    COUNTERFACTUAL_GROUPS,
    CounterfactualRow,
    iter_jsonl,
    package_file,
    read_counterfactual,
    read_jsonl,
    read_paradetox,
    read_paradetox_cannot_rewrite,
    read_srllm_csv,
    shared_data_dir,
)
from srllm.data.writers import ResumableJsonlWriter, write_jsonl_atomic

__all__ = [
    "ASPECT_TO_CATEGORY", "COUNTERFACTUAL_GROUPS", "CounterfactualRow", "InputRow", "ResumableJsonlWriter",
    "detect_format", "iter_jsonl", "package_file", "read_counterfactual", "read_inputs", "read_jsonl",
    "read_paradetox", "read_paradetox_cannot_rewrite", "read_srllm_csv", "shared_data_dir", "write_jsonl_atomic",
]
