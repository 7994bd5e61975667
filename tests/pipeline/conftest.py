"""Fixtures of the pipeline tests (helpers: pipeline_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_helpers import DATA_DIR


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "wikitext-2-raw").is_dir():
        pytest.skip(f"offline corpus not found at {DATA_DIR} (see README, 'Data')")
    return DATA_DIR
