"""Fixtures of the decoding tests: a tiny (target, draft) pair per architecture (models from
tests/support/tiny_models.py), one torch thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from tiny_models import tiny_model


@pytest.fixture(scope="session", params=["gpt_neox", "llama"])
def pair(request: pytest.FixtureRequest) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(target, draft) of one architecture; the draft is smaller and differently seeded."""
    return tiny_model(request.param, 0), tiny_model(request.param, 1, layers=1, hidden=16)


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Tiny models run op by op: a second torch thread only adds wake-up stalls, which on a
    shared, loaded machine make each op ~100x slower. Restored afterwards."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)
