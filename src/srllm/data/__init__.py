"""Readers, writers and importers of data."""

from srllm.data.importers import (
    ASPECT_TO_CATEGORY,
    COUNTERFACTUAL_GROUPS,
    read_counterfactual,
    read_paradetox,
    read_paradetox_cannot_rewrite,
    read_srllm_csv,
    shared_data_dir,
)
from srllm.data.readers import InputRow, detect_format, read_inputs
from srllm.data.writers import ResumableJsonlWriter, read_jsonl_records, write_jsonl_atomic

__all__ = [
    "ASPECT_TO_CATEGORY", "COUNTERFACTUAL_GROUPS", "InputRow", "ResumableJsonlWriter", "detect_format",
    "read_counterfactual", "read_inputs", "read_jsonl_records", "read_paradetox", "read_paradetox_cannot_rewrite",
    "read_srllm_csv", "shared_data_dir", "write_jsonl_atomic",
]
