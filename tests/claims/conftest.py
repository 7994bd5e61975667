"""Fixtures of the claims tests (the SYNTHETIC numbers they change: claims_numbers.py in
tests/support)."""

from __future__ import annotations

import pytest
from claims_numbers import CLAIMS_FILE


@pytest.fixture
def spec():
    from dynatree.claims.spec import load_claims

    return load_claims(CLAIMS_FILE)
