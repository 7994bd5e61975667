"""Atomic writes: all or nothing, with ordinary permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dynatree.io import atomic_path, write_json_atomic


def test_failure_leaves_neither_result_nor_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "result.json"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_success_replaces_whole_file_with_umask_permissions(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    target.write_text("old")
    write_json_atomic(target, {"b": 1, "a": [1, 2]})
    assert target.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
