"""Atomic writes: all or nothing, with ordinary permissions; a SIGKILL's debris is cleared."""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import dynatree.io
from dynatree.errors import UsageError
from dynatree.io import (
    atomic_dir,
    atomic_path,
    check_outputs,
    check_writable,
    read_json,
    write_json_atomic,
)


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


def test_a_full_disk_is_refused_before_any_work(tmp_path: Path, monkeypatch) -> None:
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage._replace(free=100))
    with pytest.raises(UsageError, match=r"--out .*100 bytes free, this output needs about 4096"):
        check_writable(tmp_path / "result.json", "--out")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage._replace(free=2**20))
    check_writable(tmp_path / "result.json", "--out")
    with pytest.raises(UsageError, match=r"1\.0 MiB free, this output needs about 2\.0 MiB"):
        check_writable(tmp_path / "result.json", "--out", size=2**21)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS])
def test_a_disk_that_fills_during_the_write_is_one_line_and_leaves_nothing(
    tmp_path: Path, code: int
) -> None:
    target = tmp_path / "result.json"
    target.write_text("old")
    with pytest.raises(UsageError, match=r"result\.json: cannot write \(.*\); nothing was written"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise OSError(code, os.strerror(code))
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
    assert target.read_text() == "old"


def test_other_errors_inside_the_write_are_not_renamed(tmp_path: Path) -> None:
    """Only a disk's errors become the output's message: a missing input read while writing
    stays what it is."""
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "out.json"):
        (tmp_path / "missing").read_text()


def test_read_only_folder_while_creating_the_temporary(tmp_path: Path, monkeypatch) -> None:
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(UsageError, match="out.json: cannot write .Permission denied"):
        with atomic_path(tmp_path / "out.json"):
            pass


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"summary": {"tps_mean": NaN}}', "summary.tps_mean: NaN"),
        ('{"rows": [{"tps": 1.0}, {"tps": -Infinity}]}', r"rows\[1\].tps: -Infinity"),
        ("[Infinity]", r"\[0\]: Infinity"),
    ],
)
def test_nan_and_infinity_in_an_input_are_refused_naming_the_key(
    tmp_path: Path, text: str, where: str
) -> None:
    path = tmp_path / "in.json"
    path.write_text(text)
    with pytest.raises(UsageError, match=rf"--inputs .*in\.json: {where} where a number belongs"):
        read_json(path, "--inputs")


def _inputs(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "models" / "target").mkdir(parents=True)
    (tmp_path / "models" / "target" / "config.json").write_text("{}")
    (tmp_path / "prompts.jsonl").write_text("{}\n")
    return {"--target": tmp_path / "models" / "target", "--prompts": tmp_path / "prompts.jsonl"}


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("prompts.jsonl", "is --prompts"),
        ("models/../prompts.jsonl", "is --prompts"),
        ("link.jsonl", "is --prompts"),  # a symbolic link to it
        ("hard.jsonl", "is --prompts"),  # a hard link to it
        ("models/target/config.json", "lies inside --target"),
        ("config.json", "is a file of --target"),  # a hard link to a file of it
    ],
)
def test_an_output_that_is_an_input_is_refused(
    tmp_path: Path, monkeypatch, output: str, message: str
) -> None:
    inputs = _inputs(tmp_path)
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "prompts.jsonl")
    os.link(tmp_path / "prompts.jsonl", tmp_path / "hard.jsonl")
    os.link(tmp_path / "models" / "target" / "config.json", tmp_path / "config.json")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=rf"^--out {re.escape(output)}: {message} .*an input"):
        check_outputs({"--out": output}, {"--reference": None, **inputs})


def test_a_directory_output_must_not_hold_an_input(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path)
    with pytest.raises(UsageError, match="--out .*models: contains --target"):
        check_outputs({"--out": tmp_path / "models"}, inputs, directories={"--out"})
    check_outputs({"--out": tmp_path / "built"}, inputs, directories={"--out"})


def test_new_outputs_beside_or_inside_inputs_are_fine(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path)
    outputs = {
        "--out": [tmp_path / "result.json", tmp_path / "models" / "target" / "new.json"],
        "--report": tmp_path / "prompts.jsonl.report",
    }
    check_outputs(outputs, inputs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models", "prompts.jsonl"]
