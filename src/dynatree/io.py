"""Atomic file output: a crash or SIGKILL never leaves a half-written result on disk."""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dynatree.errors import UsageError

# Temporary siblings are named ".<target name>.<random>.tmp": recognisable as belonging to one
# target, so the next write of that target removes any a SIGKILL left behind.
_TMP_SUFFIX = ".tmp"


def _tmp_prefix(target: Path) -> str:
    return f".{target.name}."


def remove_stale_temporaries(target: str | os.PathLike[str]) -> None:
    """Delete the temporary siblings an interrupted earlier write of ``target`` left behind.

    A write through :func:`atomic_path` or :func:`atomic_dir` that is SIGKILLed before its
    rename leaves ``.<name>.<random>.tmp``; writing the same target again (the rerun of the
    killed job) clears them, so no run accumulates debris.
    """
    target = Path(target)
    if not target.parent.is_dir():
        return
    for stale in target.parent.glob(f"{glob.escape(_tmp_prefix(target))}*{_TMP_SUFFIX}"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success.

    The temporary file lives in the same directory so the final ``os.replace`` is atomic on
    POSIX filesystems; Snakemake (or a reader) therefore sees either the old file or the whole
    new one, never a prefix.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(target), suffix=_TMP_SUFFIX, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; give the result the permissions a plain open() would (umask).
    umask = os.umask(0)
    os.umask(umask)
    tmp_path.chmod(0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory next to ``path``; it replaces ``path`` only on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target), suffix=_TMP_SUFFIX, dir=target.parent))
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def check_writable(path: str | os.PathLike[str], option: str, *, directory: bool = False) -> None:
    """Fail now, naming ``option``, if ``path`` could not be written at the end of the job.

    A benchmark that runs for an hour and then cannot write its result wastes the hour, so every
    command checks its outputs first: a file output must not be a directory (a ``directory``
    output not a file), and the nearest existing folder on its way must accept a new entry
    (probed by creating and removing a temporary sibling, which also catches read-only
    filesystems that ``os.access`` misreports for root).
    """
    target = Path(path)
    if not directory and target.is_dir():
        raise UsageError(f"{option} {path}: is a directory; give a file path")
    if directory and target.exists() and not target.is_dir():
        raise UsageError(f"{option} {path}: is a file; give a directory path")
    folder = target.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: {folder} is a file, not a folder; choose another path")
    try:
        fd, probe = tempfile.mkstemp(prefix=_tmp_prefix(target), suffix=_TMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise UsageError(
            f"{option} {path}: cannot write in {folder} ({exc.strerror}); choose a writable path"
        ) from None
    os.close(fd)
    os.unlink(probe)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON atomically (stable diffs, byte-reproducible)."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike[str], option: str, hint: str = "") -> Any:
    """Parse a JSON input file; a missing or unparsable file is a usage error naming ``option``.

    ``hint`` (e.g. "; rerun its bench job") is appended to say how to make the file.
    """
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError):
        raise UsageError(f"{option} {path}: no such file{hint}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{option} {path}: not valid JSON ({exc}){hint}") from None
