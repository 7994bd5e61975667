"""The data lock: where the raw text comes from, pinned (docs/formats.md, "Data lock").

One YAML file lists, per dataset, a Hugging Face Hub repository at a commit, every file the
pipeline downloads from it with its sha256 and size, how each file becomes raw text in the data
directory (``derive``, ``to``), and the sha256 of the raw text files where they are known. The
same checksums verify a download and a local copy, so both feed the pipeline the same bytes.
Reading the lock needs only PyYAML: Snakemake reads it while it plans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from dynatree.data.derive import DERIVE
from dynatree.errors import UsageError

SCHEMA = "dynatree.data-lock/1"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REPO_TYPES = ("dataset", "model")


@dataclass(frozen=True)
class LockedFile:
    """One file of a pinned repository and what the pipeline makes of it."""

    path: str  # in the repository
    sha256: str
    size: int
    derive: str  # a key of dynatree.data.derive.DERIVE
    to: str  # where its raw text goes, relative to the data directory (a file or a folder)


@dataclass(frozen=True)
class LockedDataset:
    """One dataset: a repository at a commit, its files, the sha256 of its raw text files."""

    name: str
    title: str  # as the paper names it, e.g. "the PG-19 test split"
    repo: str
    repo_type: str
    revision: str
    files: tuple[LockedFile, ...]
    derived: dict[str, str]  # raw text file (relative to the data directory) -> sha256

    @property
    def label(self) -> str:
        """``repo@<12 hex>``, for messages."""
        return f"{self.repo}@{self.revision[:12]}"

    @property
    def download_bytes(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class DataLock:
    path: Path
    datasets: dict[str, LockedDataset]

    def derived(self) -> dict[str, str]:
        """Every raw text file with a known sha256, over all datasets."""
        return {k: v for ds in self.datasets.values() for k, v in ds.derived.items()}


def _fail(path: Path, where: str, problem: str) -> UsageError:
    return UsageError(f"data lock {path}: {where}: {problem}; fix the lock file")


def _field(entry: Any, key: str, where: str, path: Path, pattern: re.Pattern[str] | None = None):
    if not isinstance(entry, dict) or key not in entry:
        raise _fail(path, f"{where}.{key}", "missing")
    value = entry[key]
    if pattern is not None and not (isinstance(value, str) and pattern.match(value)):
        raise _fail(path, f"{where}.{key}", f"{value!r} is not {pattern.pattern}")
    return value


def _relative(value: Any, where: str, path: Path) -> str:
    """A path inside the data directory (no absolute path, no '..')."""
    pure = PurePosixPath(str(value))
    if not str(value) or pure.is_absolute() or ".." in pure.parts:
        raise _fail(path, where, f"{value!r} must be a relative path inside the data directory")
    return pure.as_posix()


def _file(entry: Any, where: str, path: Path) -> LockedFile:
    size = _field(entry, "size", where, path)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise _fail(path, f"{where}.size", f"{size!r} is not a positive byte count")
    derive = _field(entry, "derive", where, path)
    if derive not in DERIVE:
        raise _fail(path, f"{where}.derive", f"{derive!r}; choose one of {', '.join(DERIVE)}")
    return LockedFile(
        path=_relative(_field(entry, "path", where, path), f"{where}.path", path),
        sha256=_field(entry, "sha256", where, path, _SHA256),
        size=size,
        derive=derive,
        to=_relative(_field(entry, "to", where, path), f"{where}.to", path),
    )


def _dataset(name: str, entry: Any, path: Path) -> LockedDataset:
    where = f"datasets.{name}"
    repo_type = entry.get("repo_type", "dataset") if isinstance(entry, dict) else None
    if repo_type not in _REPO_TYPES:
        raise _fail(path, f"{where}.repo_type", f"{repo_type!r}; choose dataset or model")
    files = _field(entry, "files", where, path)
    if not isinstance(files, list) or not files:
        raise _fail(path, f"{where}.files", "must list at least one file")
    derived = entry.get("derived") or {}
    if not isinstance(derived, dict):
        raise _fail(path, f"{where}.derived", "must map raw text files to their sha256")
    for key, digest in derived.items():
        if not (isinstance(digest, str) and _SHA256.match(digest)):
            raise _fail(path, f"{where}.derived.{key}", f"{digest!r} is not a sha256")
    return LockedDataset(
        name=name,
        title=str(_field(entry, "title", where, path)),
        repo=str(_field(entry, "repo", where, path)),
        repo_type=repo_type,
        revision=_field(entry, "revision", where, path, _COMMIT),
        files=tuple(_file(f, f"{where}.files[{i}]", path) for i, f in enumerate(files)),
        derived={_relative(k, f"{where}.derived", path): v for k, v in derived.items()},
    )


def read_lock(path: str | Path, option: str = "data.lock") -> DataLock:
    """The lock at ``path``; a missing, unparsable or malformed lock is one line naming it."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{option} {path}: no such file; restore it from the repository") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"{option} {path}: unreadable ({first}); fix the lock file") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise _fail(path, "schema", f"expected {SCHEMA!r}")
    datasets = doc.get("datasets")
    if not isinstance(datasets, dict) or not datasets:
        raise _fail(path, "datasets", "must map dataset names to pinned sources")
    return DataLock(path, {name: _dataset(name, e, path) for name, e in datasets.items()})
