"""``dynatree data fetch``: download the data lock's files and derive the raw text from them.

``huggingface_hub.hf_hub_download`` does the transfer (pinned commit, resumable, atomic in its
cache, a progress bar, ``HF_ENDPOINT``/``HF_HUB_OFFLINE``/``HF_HOME`` honoured); every file's
size and sha256 are checked against the lock before anything reads it, the raw text is derived
into a temporary sibling of ``--out`` and checked against the lock's sums, and only then renamed
onto ``--out`` with its manifest (docs/formats.md, "Data manifest"). Everything that can be
checked first is: the output is writable, the disk has room for what is not cached yet.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from dynatree.data import derive
from dynatree.data.lock import DataLock, LockedDataset, LockedFile
from dynatree.errors import UsageError
from dynatree.io import atomic_dir, check_outputs, write_json_atomic
from dynatree.locate import hub_offline

MANIFEST = "manifest.json"
MANIFEST_SCHEMA = "dynatree.data/1"
_LOCAL_FIX = "or set data.source: local with data.dir pointing at an offline copy (README, Data)"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _what(dataset: LockedDataset, file: LockedFile | None = None) -> str:
    where = f"{dataset.repo}@{dataset.revision[:12]}"
    return f"dataset {dataset.name} ({where}{', ' + file.path if file else ''})"


def _cached(dataset: LockedDataset, file: LockedFile) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(
        dataset.repo, file.path, revision=dataset.revision, repo_type=dataset.repo_type
    )
    return Path(hit) if isinstance(hit, str) else None


def _free_bytes(path: Path) -> int:
    """Free space of the filesystem ``path`` would be created on."""
    folder = path.absolute()
    while not folder.exists():
        folder = folder.parent
    return shutil.disk_usage(folder).free


def check_space(lock: DataLock, out: Path) -> None:
    """Room for every file not in the Hugging Face cache yet, and for the raw text (at least the
    downloads' size again) under ``--out``: checked before the first byte is fetched."""
    from huggingface_hub import constants

    cache = Path(constants.HF_HUB_CACHE)
    need = {cache: 0, out: 0}
    for dataset in lock.datasets.values():
        need[out] += dataset.download_bytes
        for file in dataset.files:
            if _cached(dataset, file) is None:
                need[cache] += file.size
    for folder, bytes_needed in need.items():
        free = _free_bytes(folder)
        if bytes_needed > free:
            what = "the Hugging Face cache (HF_HOME)" if folder == cache else "--out"
            raise UsageError(
                f"{what} {folder}: the data lock's downloads need {bytes_needed} bytes there, "
                f"only {free} are free; free some space or point it at another disk"
            )


def check_reachable(lock: DataLock) -> None:
    """One request, no retries, for the first file not cached yet: an unreachable Hub stops now
    in one line (huggingface_hub itself retries a failed connection for about half a minute,
    right for a flaky network, not for one that is not there). Whatever else the answer is
    (a missing revision ...), the download reports it precisely."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError

    for dataset in lock.datasets.values():
        for file in dataset.files:
            if _cached(dataset, file) is not None:
                continue
            url = hf_hub_url(
                dataset.repo, file.path, repo_type=dataset.repo_type, revision=dataset.revision
            )
            try:
                get_hf_file_metadata(url)
            except HfHubHTTPError:
                pass
            except Exception as exc:  # httpx's connection errors, timeouts, proxies, TLS
                raise UsageError(
                    f"{_what(dataset, file)}: not in the Hugging Face cache and "
                    f"{constants.ENDPOINT} cannot be reached ({type(exc).__name__}); go online "
                    f"(or set HF_ENDPOINT to a reachable mirror), {_LOCAL_FIX}"
                ) from None
            return


def _download(dataset: LockedDataset, file: LockedFile) -> Path:
    """The cached copy of ``file`` at the pinned commit, downloading it if needed."""
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    what = _what(dataset, file)
    offline = hub_offline() or bool(constants.HF_HUB_OFFLINE)
    try:
        return Path(
            hf_hub_download(
                dataset.repo,
                file.path,
                repo_type=dataset.repo_type,
                revision=dataset.revision,
                local_files_only=offline,
            )
        )
    except RevisionNotFoundError:
        raise UsageError(
            f"{what}: the Hub has no commit {dataset.revision} in {dataset.repo}; "
            "fix the revision in the data lock"
        ) from None
    except RepositoryNotFoundError:
        raise UsageError(
            f"{what}: no such repository on the Hub (or it is private); fix the repo in the "
            f"data lock, {_LOCAL_FIX}"
        ) from None
    except RemoteEntryNotFoundError:
        raise UsageError(
            f"{what}: no such file at that commit; fix the path in the data lock"
        ) from None
    except LocalEntryNotFoundError:
        why = "HF_HUB_OFFLINE is set" if offline else f"{constants.ENDPOINT} cannot be reached"
        raise UsageError(
            f"{what}: not in the Hugging Face cache and {why}; go online (unset HF_HUB_OFFLINE) "
            f"to download it, {_LOCAL_FIX}"
        ) from None
    except HfHubHTTPError as exc:
        raise UsageError(
            f"{what}: download failed ({str(exc).splitlines()[0]}); retry, {_LOCAL_FIX}"
        ) from None
    except OSError as exc:
        raise UsageError(
            f"{what}: cannot write it to the Hugging Face cache ({exc.strerror or exc}); "
            "free some space or point HF_HOME at a writable disk"
        ) from None


def _evict(path: Path) -> None:
    """Remove a cached file and the blob behind it, so the next run downloads it afresh."""
    blob = path.resolve()
    path.unlink(missing_ok=True)
    blob.unlink(missing_ok=True)


def verified(dataset: LockedDataset, file: LockedFile, path: Path, lock: Path) -> Path:
    """``path`` if its size and sha256 are the lock's; else it is evicted and a one-line error
    names the file."""
    size = path.stat().st_size
    digest = sha256_file(path) if size == file.size else None
    if digest == file.sha256:
        return path
    _evict(path)
    found = f"sha256 {digest}" if digest else f"{size} bytes"
    expected = f"sha256 {file.sha256}" if digest else f"{file.size} bytes"
    raise UsageError(
        f"{_what(dataset, file)}: checksum mismatch: the download has {found}, the data lock "
        f"{lock} says {expected}; the copy was removed from the cache, run again to download it "
        "afresh (if it fails again the file on the Hub is not the pinned one: fix the lock)"
    )


def _derive(dataset: LockedDataset, file: LockedFile, source: Path, root: Path) -> list[Path]:
    what = _what(dataset, file)
    try:
        return derive.DERIVE[file.derive](source, root / file.to, what)
    except OSError as exc:
        raise UsageError(
            f"{what}: cannot write its raw text under --out ({exc.strerror or exc}); free some "
            "space or choose another directory"
        ) from None


def check_derived(dataset: LockedDataset, root: Path, lock: Path) -> None:
    """Every raw text file the lock sums for ``dataset`` was derived under ``root`` with that
    sum; otherwise one line names the file (nothing is renamed onto --out)."""
    for rel, expected in dataset.derived.items():
        path = root / rel
        digest = sha256_file(path) if path.is_file() else "nothing (no such file)"
        if digest != expected:
            raise UsageError(
                f"{_what(dataset)}: the raw text derived from the verified download, {rel}, has "
                f"sha256 {digest}, the data lock {lock} says {expected}; the lock's derive/to "
                "entries do not give back the pinned raw file: fix the lock"
            )


def dataset_record(dataset: LockedDataset, files: dict[str, str]) -> dict[str, Any]:
    """A dataset's entry of the manifest, for a download (or a verified copy of one)."""
    return {
        "title": dataset.title,
        "origin": "hub",
        "repo": dataset.repo,
        "repo_type": dataset.repo_type,
        "revision": dataset.revision,
        "sources": {f.path: f.sha256 for f in dataset.files},
        "files": files,
        "standin": False,
    }


def fetch_data(lock: DataLock, out: Path) -> dict[str, Any]:
    """Make ``out`` the data directory of ``lock``'s datasets; return its manifest."""
    online = not hub_offline()
    check_outputs({"--out": out}, {"--lock": lock.path}, directories=("--out",))
    if online:  # the lock's sizes say more than the one block check_outputs asks for
        check_space(lock, out)
        check_reachable(lock)
    sources = {
        name: [(f, verified(ds, f, _download(ds, f), lock.path)) for f in ds.files]
        for name, ds in lock.datasets.items()
    }
    manifest: dict[str, Any] = {"schema": MANIFEST_SCHEMA, "source": "hub", "lock": str(lock.path)}
    datasets = {}
    with atomic_dir(out) as tmp:
        for name, dataset in lock.datasets.items():
            written = [p for f, path in sources[name] for p in _derive(dataset, f, path, tmp)]
            check_derived(dataset, tmp, lock.path)
            files = {p.relative_to(tmp).as_posix(): sha256_file(p) for p in sorted(written)}
            datasets[name] = dataset_record(dataset, files)
        manifest["datasets"] = datasets
        write_json_atomic(tmp / MANIFEST, manifest)
    return manifest
