"""What raw text a run read, and from where: the data manifest (docs/formats.md, "Data
manifest"), and the check of a local copy against the data lock.

A download writes its manifest itself (dynatree.data.fetch). ``dynatree data manifest`` writes
the run's manifest for any data directory: a copy of a download keeps its provenance once its
files are verified against the sums it lists; any other local copy is described by its layout
(the real PG-19 test split or the Gutenberg stand-in, dynatree.data.splits) and verified against
the lock's sums where it holds the same files. The paper reads which PG-19 a run used from here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dynatree.data.fetch import MANIFEST, MANIFEST_SCHEMA, sha256_file
from dynatree.data.lock import DataLock
from dynatree.data.splits import GUTENBERG_DIR, PG19_DIR, WIKITEXT_DIR, pg19_is_real
from dynatree.errors import UsageError

STANDIN_TITLE = "the offline Gutenberg stand-in for PG-19"
REAL_TITLE = "the PG-19 test split"  # a local copy of it whose source is not recorded


def verify_local(data_dir: Path, lock: DataLock, option: str = "data.dir") -> None:
    """Every raw text file the lock sums that ``data_dir`` holds has the lock's sha256."""
    for name, dataset in lock.datasets.items():
        for rel, expected in dataset.derived.items():
            path = data_dir / rel
            if path.is_file() and (digest := sha256_file(path)) != expected:
                raise UsageError(
                    f"{option} {data_dir}: {rel} (dataset {name}) has sha256 {digest}, the data "
                    f"lock {lock.path} says {expected}; restore the file from its source "
                    "(README, Data)"
                )


def _sums(root: Path, folder: str) -> dict[str, str]:
    files = sorted(p for p in (root / folder).glob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in files}


def _copy_of_download(data_dir: Path, record: Any) -> dict[str, Any]:
    """The datasets of the download's manifest in ``data_dir`` (the download itself or a copy
    of it), every file re-verified against the sums it lists."""
    path = data_dir / MANIFEST
    if not isinstance(record, dict) or record.get("schema") != MANIFEST_SCHEMA:
        raise UsageError(f"--data-dir {data_dir}: {path} is not a data manifest; remove it")
    datasets = record.get("datasets") or {}
    for name, entry in datasets.items():
        for rel, expected in (entry.get("files") or {}).items():
            if not (data_dir / rel).is_file() or sha256_file(data_dir / rel) != expected:
                raise UsageError(
                    f"--data-dir {data_dir}: {rel} (dataset {name}) is missing or differs from "
                    f"the sum in {path}; copy the download again (or delete {path})"
                )
    return datasets


def local_manifest(data_dir: Path, lock: DataLock) -> dict[str, Any]:
    """The manifest of the local data directory ``data_dir``, verified first."""
    if not data_dir.is_dir():
        raise UsageError(
            f"--data-dir {data_dir}: no such directory; point it at the offline corpus "
            "(e.g. ../shared/data) or at the pipeline's download (data/hub)"
        )
    verify_local(data_dir, lock, "--data-dir")
    doc: dict[str, Any] = {"schema": MANIFEST_SCHEMA, "source": "local", "dir": str(data_dir)}
    if (data_dir / MANIFEST).is_file():
        try:
            record = json.loads((data_dir / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"--data-dir {data_dir}: {MANIFEST} unreadable ({exc}); remove it"
            ) from None
        return {**record, "dir": str(data_dir), "datasets": _copy_of_download(data_dir, record)}
    real = pg19_is_real(data_dir)
    doc["datasets"] = {
        "wikitext": {
            "title": "WikiText-2 (raw, v1)",
            "origin": "local",
            "files": _sums(data_dir, WIKITEXT_DIR),
        },
        "pg19": {
            "title": REAL_TITLE if real else STANDIN_TITLE,
            "origin": "local",
            "files": _sums(data_dir, PG19_DIR if real else GUTENBERG_DIR),
            "standin": not real,
        },
    }
    return doc
