"""Checked, atomic file output: every command checks its outputs before any work (writable,
room on the disk, none of them one of its inputs) and writes them so that a crash, a SIGKILL or
a full disk never leaves a half-written result."""

from __future__ import annotations

import errno
import glob
import json
import math
import os
import shutil
import tempfile
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dynatree.errors import UsageError
from dynatree.validation import key_path

# Temporary siblings are named ".<target name>.<random>.tmp": recognisable as belonging to one
# target, so the next write of that target removes any a SIGKILL left behind.
_TMP_SUFFIX = ".tmp"
# Below this many free bytes a folder is full whatever a command writes (one block); a command
# that knows its output's size asks for that instead.
_MIN_FREE_BYTES = 4096
# Errors of writing that say where, not what, went wrong: a full disk, a quota, a read-only mount.
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


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
def _disk_errors_named(target: Path, *, creating: bool = False) -> Iterator[None]:
    """A full disk or a read-only mount met while writing ``target`` (the check before the work
    cannot rule out a disk that fills meanwhile) is a one-line error naming the file; so is a
    permission error while ``creating`` its temporary (later ones may concern an input)."""
    try:
        yield
    except OSError as exc:
        denied = creating and exc.errno in (errno.EACCES, errno.EPERM)
        if exc.errno not in _DISK_ERRORS and not denied:
            raise
        raise UsageError(
            f"{target}: cannot write ({exc.strerror}); nothing was written: free space or "
            "choose another output path"
        ) from None


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success.

    The temporary file lives in the same directory so the final ``os.replace`` is atomic on
    POSIX filesystems; Snakemake (or a reader) therefore sees either the old file or the whole
    new one, never a prefix.
    """
    target = Path(path)
    with _disk_errors_named(target, creating=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
        fd, tmp = tempfile.mkstemp(
            prefix=_tmp_prefix(target), suffix=_TMP_SUFFIX, dir=target.parent
        )
    os.close(fd)
    tmp_path = Path(tmp)
    with _disk_errors_named(target):
        try:
            # mkstemp creates 0600; give the result the permissions a plain open() would (umask).
            umask = os.umask(0)
            os.umask(umask)
            tmp_path.chmod(0o666 & ~umask)
            yield tmp_path
            os.replace(tmp_path, target)
        finally:
            if tmp_path.exists():
                tmp_path.unlink()


@contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory next to ``path``; it replaces ``path`` only on success."""
    target = Path(path)
    with _disk_errors_named(target, creating=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
        tmp = Path(
            tempfile.mkdtemp(prefix=_tmp_prefix(target), suffix=_TMP_SUFFIX, dir=target.parent)
        )
    with _disk_errors_named(target):
        try:
            yield tmp
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)


def check_writable(
    path: str | os.PathLike[str], option: str, *, directory: bool = False, size: int = 0
) -> None:
    """Fail now, naming ``option``, if ``path`` could not be written at the end of the job.

    A benchmark that runs for an hour and then cannot write its result wastes the hour, so every
    command checks its outputs first (:func:`check_outputs`): a file output must not be a
    directory (a ``directory`` output not a file), the nearest existing folder on its way must
    accept a new entry (probed by creating and removing a temporary sibling, which also catches
    read-only filesystems that ``os.access`` misreports for root), and its filesystem must have
    room for about ``size`` bytes (at least a block: a full disk refuses every output).
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
    need = max(size, _MIN_FREE_BYTES)
    free = shutil.disk_usage(folder).free
    if free < need:
        raise UsageError(
            f"{option} {path}: {folder} has {_size(free)} free, this output needs about "
            f"{_size(need)}; free space or choose another path"
        )


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} bytes"


def _paths(value: Any) -> list[Path]:
    """One path, several, or none (None) as a list."""
    if value is None:
        return []
    if isinstance(value, str | os.PathLike):
        return [Path(value)]
    return [Path(v) for v in value if v is not None]


def _same_file(a: Path, b: Path) -> bool:
    """``a`` and ``b`` are one file: the same path once links and ``..`` are resolved, or hard
    links of one inode."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def _inside(path: Path, folder: Path) -> bool:
    """``path`` is ``folder`` or lies under it (links resolved)."""
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _linked_inside(output: Path, folder: Path) -> bool:
    """``output`` is a hard link of a file under ``folder`` (looked for only when ``output`` has
    more than one link, so the usual new or single-link output costs one stat)."""
    if not output.is_file() or output.stat().st_nlink < 2:
        return False
    return any(_same_file(output, path) for path in folder.rglob("*") if path.is_file())


def _overwrites(output: Path, source: Path, output_is_dir: bool) -> str | None:
    """How writing ``output`` would destroy the input ``source``; None if it would not."""
    if source.is_dir():
        if output.exists() and _inside(output, source):
            return "lies inside"  # one of the files (or folders) the input directory holds
        if _linked_inside(output, source):
            return "is a file of"
    elif _same_file(output, source):
        return "is"
    if output_is_dir and _inside(source, output):
        return "contains"  # a directory output replaces everything under it
    return None


def check_outputs(
    outputs: Mapping[str, Any],
    inputs: Mapping[str, Any],
    *,
    directories: Collection[str] = (),
    size: int = 0,
) -> None:
    """Every command's first step: each output writable with room for about ``size`` bytes
    (:func:`check_writable`), and none of them one of the command's inputs.

    ``outputs`` and ``inputs`` map an option (``--out``) to a path, several, or None.
    An output is refused, naming both options, when it resolves to an input file (relative
    paths, symbolic and hard links included), when it exists inside an input directory (one of
    the files read from there), or, for the options in ``directories`` (outputs replaced as a
    whole), when an input lies inside it. Writing over an input would destroy what the result
    was computed from, so a rerun could not reproduce it.
    """
    for option, value in outputs.items():
        is_dir = option in directories
        for output in _paths(value):
            check_writable(output, option, directory=is_dir, size=size)
            for source_option, sources in inputs.items():
                for source in _paths(sources):
                    how = _overwrites(output, source, is_dir)
                    if how is not None:
                        raise UsageError(
                            f"{option} {output}: {how} {source_option} {source}, an input of "
                            "this command; write the output to another path"
                        )


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
    NaN and infinities (which Python's json accepts and writes) are refused too, naming their
    key: no input of the pipeline holds one where a number belongs, and one that did would
    travel silently into every mean and ranking computed from it.
    """
    constants: list[str] = []

    def constant(name: str) -> float:
        constants.append(name)
        return float(name.replace("Infinity", "inf"))

    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=constant)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise UsageError(f"{option} {path}: no such file{hint}") from None
    except PermissionError:
        raise UsageError(f"{option} {path}: not readable (permission denied)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{option} {path}: not valid JSON ({exc}){hint}") from None
    if constants:
        where = next(_non_finite(obj, []), [])
        raise UsageError(
            f"{option} {path}: {key_path(where) or 'top level'}: {constants[0]} where a number "
            f"belongs{hint or '; regenerate the file'}"
        )
    return obj


def _non_finite(obj: Any, where: list[Any]) -> Iterator[list[Any]]:
    """Key paths of the NaN / infinite floats in a parsed JSON document."""
    if isinstance(obj, float) and not math.isfinite(obj):
        yield where
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _non_finite(value, [*where, key])
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from _non_finite(value, [*where, index])
