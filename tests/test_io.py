"""Atomic writes: all or nothing, with ordinary permissions; a SIGKILL's debris is cleared."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import dynatree.io
from dynatree.io import atomic_dir, atomic_path, check_writable, write_json_atomic


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


def _killed_mid_write(target: Path, directory: bool = False) -> None:
    """A process SIGKILLed inside the write window (after writing, before the rename)."""
    opener = "atomic_dir" if directory else "atomic_path"
    write = "(tmp / 'config.json').write_text('{}')" if directory else "tmp.write_text('half')"
    script = (
        "import os, signal, sys\n"
        f"from dynatree.io import {opener}\n"
        f"with {opener}(sys.argv[1]) as tmp:\n"
        f"    {write}\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    run = subprocess.run([sys.executable, "-c", script, str(target)], env=_env(), timeout=60)
    assert run.returncode == -signal.SIGKILL


def _env() -> dict[str, str]:
    src = str(Path(dynatree.io.__file__).parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}


def test_temporaries_a_sigkill_leaves_are_recognisable_and_cleared(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    _killed_mid_write(target)
    first = list(tmp_path.glob(".result.json.*.tmp"))
    assert len(first) == 1 and not target.exists()
    _killed_mid_write(target)  # killed again: the first one's debris went, its own is left
    second = list(tmp_path.glob(".result.json.*.tmp"))
    assert len(second) == 1 and second != first
    other = tmp_path / ".other.json.abc123.tmp"  # another target's temporary is not ours
    other.write_text("x")
    write_json_atomic(target, {"a": 1})  # the rerun of the killed job
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "result.json"]


def test_directory_temporaries_are_cleared_too(tmp_path: Path) -> None:
    target = tmp_path / "models" / "target"
    _killed_mid_write(target, directory=True)
    assert len(list(target.parent.glob(".target.*.tmp"))) == 1
    with atomic_dir(target) as tmp:
        (tmp / "config.json").write_text("{}")
    assert [p.name for p in target.parent.iterdir()] == ["target"]
    assert (target / "config.json").read_text() == "{}"


def test_writability_probe_leaves_nothing(tmp_path: Path) -> None:
    check_writable(tmp_path / "new" / "deeper" / "result.json", "--out")
    check_writable(tmp_path / "models", "--out", directory=True)
    assert list(tmp_path.iterdir()) == []
