"""`dynatree data fetch` against a local Hub server (HF_ENDPOINT): the pinned files are
downloaded, verified and derived; every way it can fail is one line naming the dataset, the file
and the fix, exit 2, and nothing under --out a later run would trust."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hub_repos import PG19_FILE, PG19_REPO, WIKI_REPO, TinyData, publish_data, tiny_data
from local_hub import LocalHub

from dynatree import cli
from dynatree.data.lock import read_lock

SRC = Path(cli.__file__).resolve().parents[1]
READ_ONLY = Path("/sys/dynatree-test")  # sysfs: no new files, for root too


@pytest.fixture(scope="module")
def data() -> TinyData:
    return tiny_data()


@pytest.fixture
def hub(data: TinyData) -> Iterator[LocalHub]:
    with LocalHub() as server:
        publish_data(server, data)
        yield server


def _env(tmp_path: Path, endpoint: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HOME=str(tmp_path / "hf"),
        HF_HUB_DISABLE_TELEMETRY="1",
        PYTHONPATH=str(SRC),
        **extra,
    )
    return env


def fetch(tmp_path: Path, lock: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dynatree", "data", "fetch", "--lock", str(lock),
         "--out", str(tmp_path / "data" / "hub")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _one_line_error(run: subprocess.CompletedProcess, *needles: str) -> str:
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    line = lines[0]
    assert line.startswith("dynatree data: error: "), line
    for needle in needles:
        assert needle in line, line
    return line


def _nothing_trusted(tmp_path: Path) -> None:
    """No --out (it only appears whole) and no leftover temporary beside it."""
    parent = tmp_path / "data"
    assert not (parent / "hub").exists()
    assert not parent.exists() or not list(parent.iterdir())


def test_download_verify_derive(tmp_path: Path, hub: LocalHub, data: TinyData) -> None:
    lock = data.lock(tmp_path / "lock.yaml")
    run = fetch(tmp_path, lock, _env(tmp_path, hub.endpoint))
    assert run.returncode == 0, run.stderr
    out = tmp_path / "data" / "hub"
    for name, text in data.wiki_raw.items():
        assert (out / "wikitext-2-raw" / name).read_text(encoding="utf-8") == text
    assert sorted(p.name for p in (out / "pg19").iterdir()) == [
        "1001.txt", "1002.txt", "1003.txt", "1004.txt"
    ]  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"] == "hub"
    pg19 = manifest["datasets"]["pg19"]
    assert (pg19["repo"], pg19["standin"]) == (PG19_REPO, False)
    assert pg19["title"] == "the PG-19 test split"
    assert pg19["revision"] == read_lock(lock).datasets["pg19"].revision
    assert len(pg19["files"]) == 4 and PG19_FILE in pg19["sources"]
    # Pinned by commit: the second run reads the cache and asks the Hub nothing.
    asked = len(hub.requests)
    shutil.rmtree(out)
    again = fetch(tmp_path, lock, _env(tmp_path, hub.endpoint, HF_HUB_OFFLINE="1"))
    assert again.returncode == 0, again.stderr
    assert len(hub.requests) == asked
    assert json.loads((out / "manifest.json").read_text()) == manifest


def test_a_corrupted_file_is_a_checksum_error_and_is_not_kept(
    tmp_path: Path, hub: LocalHub, data: TinyData
) -> None:
    lock = data.lock(tmp_path / "lock.yaml")
    hub.corrupt("dataset", PG19_REPO, PG19_FILE)
    run = fetch(tmp_path, lock, _env(tmp_path, hub.endpoint))
    _one_line_error(run, "dataset pg19", PG19_FILE, "checksum mismatch", str(lock), "run again")
    _nothing_trusted(tmp_path)
    cached = list((tmp_path / "hf").rglob("*.parquet"))
    assert all(PG19_FILE.rsplit("/", 1)[1] != p.name for p in cached), cached
    # The mirror fixed: the same command now succeeds (the bad copy was evicted, not reused).
    hub.corrupted.clear()
    assert fetch(tmp_path, lock, _env(tmp_path, hub.endpoint)).returncode == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_hub(tmp_path: Path, data: TinyData) -> None:
    lock = data.lock(tmp_path / "lock.yaml")
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    run = fetch(tmp_path, lock, _env(tmp_path, endpoint))
    _one_line_error(run, "dataset wikitext", WIKI_REPO, "cannot be reached", "data.source: local")
    _nothing_trusted(tmp_path)


def test_offline_without_a_cached_copy(tmp_path: Path, hub: LocalHub, data: TinyData) -> None:
    lock = data.lock(tmp_path / "lock.yaml")
    run = fetch(tmp_path, lock, _env(tmp_path, hub.endpoint, HF_HUB_OFFLINE="1"))
    _one_line_error(run, "dataset wikitext", "HF_HUB_OFFLINE is set", "unset HF_HUB_OFFLINE")
    assert hub.requests == []
    _nothing_trusted(tmp_path)


def test_a_revision_that_does_not_exist(tmp_path: Path, hub: LocalHub, data: TinyData) -> None:
    missing = "ff" * 20
    lock = data.lock(tmp_path / "lock.yaml", wiki_commit=missing)
    run = fetch(tmp_path, lock, _env(tmp_path, hub.endpoint))
    _one_line_error(run, "dataset wikitext", f"no commit {missing}", "fix the revision")
    _nothing_trusted(tmp_path)


def test_a_read_only_data_directory(tmp_path: Path, hub: LocalHub, data: TinyData) -> None:
    lock = data.lock(tmp_path / "lock.yaml")
    run = subprocess.run(
        [sys.executable, "-m", "dynatree", "data", "fetch", "--lock", str(lock),
         "--out", str(READ_ONLY / "hub")],
        env=_env(tmp_path, hub.endpoint), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    _one_line_error(run, "--out", "cannot write", "choose a writable path")
    assert hub.requests == []  # refused before any download


def test_a_full_disk_is_refused_before_downloading(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    data: TinyData,
) -> None:
    """Free space is checked against the lock's sizes first (shutil.disk_usage patched: a disk
    with 1 kB left); in-process, so nothing reaches a network at all."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))  # not the user's
    # a writable disk with room for a small file (check_outputs' block) but not the downloads
    full = shutil._ntuple_diskusage(10**9, 10**9 - 20_000, 20_000)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: full)
    lock = data.lock(tmp_path / "lock.yaml")
    out = tmp_path / "data" / "hub"
    assert cli.main(["data", "fetch", "--lock", str(lock), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "need" in err and "only 20000 are free" in err and "free some space" in err
    _nothing_trusted(tmp_path)
