from __future__ import annotations

import os
from pathlib import Path

import pytest

from srllm.data import shared_data_dir

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; tests that need it skip with a reason on a user's clone where it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("../shared/data is not beside this checkout (CI has it; a user's clone does not)")
    return path
