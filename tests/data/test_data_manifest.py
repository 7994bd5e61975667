"""The data manifest of a local copy: verified against the lock where it holds the lock's files,
described by its layout (stand-in or real PG-19), and a copy of a download keeps its source."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from hub_repos import tiny_data

from dynatree import cli
from dynatree.data.lock import read_lock
from dynatree.data.manifest import STANDIN_TITLE, local_manifest, verify_local
from dynatree.errors import UsageError

RAW = " = A = \n text .\n"


def _lock(tmp_path: Path, raw: str = RAW) -> Path:
    """A lock whose WikiText test file's sum is that of ``raw``."""
    path = tiny_data().lock(tmp_path / "lock.yaml")
    doc = yaml.safe_load(path.read_text())
    digest = hashlib.sha256(raw.encode()).hexdigest()
    doc["datasets"]["wikitext"]["derived"] = {"wikitext-2-raw/wiki.test.raw": digest}
    path.write_text(yaml.safe_dump(doc))
    return path


def _standin(root: Path) -> Path:
    (root / "wikitext-2-raw").mkdir(parents=True)
    (root / "wikitext-2-raw" / "wiki.test.raw").write_text(RAW)
    (root / "gutenberg").mkdir()
    (root / "gutenberg" / "pg1.txt").write_text("x")
    return root


def test_a_standin_copy_is_described_as_such(tmp_path: Path) -> None:
    lock = read_lock(_lock(tmp_path))
    doc = local_manifest(_standin(tmp_path / "data"), lock)
    assert doc["source"] == "local"
    pg19 = doc["datasets"]["pg19"]
    assert pg19["standin"] is True and pg19["title"] == STANDIN_TITLE
    assert "repo" not in pg19 and list(pg19["files"]) == ["gutenberg/pg1.txt"]


def test_a_local_file_that_differs_from_the_lock_is_refused(tmp_path: Path) -> None:
    lock = read_lock(_lock(tmp_path))
    root = _standin(tmp_path / "data")
    (root / "wikitext-2-raw" / "wiki.test.raw").write_text(RAW + "edited\n")
    with pytest.raises(UsageError) as info:
        verify_local(root, lock, "config: data.dir")
    message = str(info.value)
    assert "\n" not in message
    assert "wikitext-2-raw/wiki.test.raw" in message and "dataset wikitext" in message
    assert "restore the file" in message


def test_a_copy_of_a_download_keeps_its_source_once_verified(tmp_path: Path) -> None:
    lock = read_lock(_lock(tmp_path))
    root = _standin(tmp_path / "copy")
    shutil.rmtree(root / "gutenberg")
    (root / "pg19").mkdir()
    (root / "pg19" / "7.txt").write_text("A book.")
    files = {"pg19/7.txt": hashlib.sha256(b"A book.").hexdigest()}
    record = {
        "schema": "dynatree.data/1",
        "source": "hub",
        "datasets": {"pg19": {"title": "the PG-19 test split", "origin": "hub", "repo": "r/p",
                              "revision": "ab" * 20, "files": files, "standin": False}},
    }  # fmt: skip
    (root / "manifest.json").write_text(json.dumps(record))
    doc = local_manifest(root, lock)
    assert doc["datasets"]["pg19"]["repo"] == "r/p" and doc["dir"] == str(root)
    (root / "pg19" / "7.txt").write_text("Another book.")
    with pytest.raises(UsageError, match="pg19/7.txt .*differs"):
        local_manifest(root, lock)


def test_manifest_command_writes_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = _lock(tmp_path)
    root = _standin(tmp_path / "data")
    out = tmp_path / "results" / "manifest.json"
    argv = ["data", "manifest", "--data-dir", str(root), "--lock", str(lock), "--out", str(out)]
    assert cli.main(argv) == 0
    assert json.loads(out.read_text())["datasets"]["pg19"]["standin"] is True
    assert STANDIN_TITLE in capsys.readouterr().out
