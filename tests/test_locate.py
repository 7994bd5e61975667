"""A model's position limit is read from config.json whatever its key (one place for them all)."""

from __future__ import annotations

import pytest

from dynatree.locate import POSITION_KEYS, config_positions, position_limit


@pytest.mark.parametrize("key", POSITION_KEYS)
def test_every_position_key_is_read(key: str) -> None:
    assert position_limit({"model_type": "x", key: 64}) == (key, 64)
    assert position_limit({"text_config": {key: 64}}) == (key, 64)  # multimodal wrappers


def test_the_smallest_limit_wins_and_junk_is_ignored() -> None:
    config = {"n_positions": 2048, "n_ctx": 1024, "max_seq_len": True, "seq_length": -1}
    assert position_limit(config) == ("n_ctx", 1024)
    assert config_positions({"max_position_embeddings": "4096"}) is None
    assert config_positions(None) is None
