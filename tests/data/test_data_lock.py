"""The data lock: the shipped one pins every file by commit and sha256; a bad one is one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dynatree.data.lock import read_lock
from dynatree.errors import UsageError

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "config" / "data.lock.yaml"


def test_shipped_lock_pins_every_file() -> None:
    lock = read_lock(LOCK)
    assert set(lock.datasets) == {"wikitext", "pg19"}
    for dataset in lock.datasets.values():
        assert len(dataset.revision) == 40 and dataset.revision != "main"
        for file in dataset.files:
            assert len(file.sha256) == 64 and file.size > 0
    pg19 = lock.datasets["pg19"]
    assert pg19.title == "the PG-19 test split" and pg19.files[0].to == "pg19"
    # the raw files the prompts are drawn from are summed, so a local copy is checked too
    assert "wikitext-2-raw/wiki.test.raw" in lock.datasets["wikitext"].derived


def test_every_pinned_hash_cites_the_page_it_was_read_from() -> None:
    """Commits and sums come from Hub pages named in the lock's comments (or our own bytes)."""
    text = LOCK.read_text(encoding="utf-8")
    for dataset in read_lock(LOCK).datasets.values():
        assert f"huggingface.co/datasets/{dataset.repo}/commit/" in text


def _write(tmp_path: Path, mutate) -> Path:
    doc = yaml.safe_load(LOCK.read_text(encoding="utf-8"))
    mutate(doc)
    path = tmp_path / "lock.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "needles"),
    [
        (lambda d: d["datasets"]["pg19"].update(revision="main"), ("datasets.pg19.revision",)),
        (
            lambda d: d["datasets"]["wikitext"]["files"][0].update(sha256="abc"),
            ("datasets.wikitext.files[0].sha256",),
        ),
        (
            lambda d: d["datasets"]["wikitext"]["files"][0].update(derive="zip"),
            ("derive", "wikitext_pages"),
        ),
        (
            lambda d: d["datasets"]["pg19"]["files"][0].update(to="../outside"),
            ("datasets.pg19.files[0].to", "inside the data directory"),
        ),
        (lambda d: d["datasets"]["pg19"]["files"][0].pop("size"), ("size", "missing")),
        (lambda d: d.update(schema="other/1"), ("schema",)),
    ],
    ids=["branch, not a commit", "short sha256", "unknown derive", "escapes", "no size", "schema"],
)
def test_a_malformed_lock_is_one_line(tmp_path: Path, mutate, needles) -> None:
    path = _write(tmp_path, mutate)
    with pytest.raises(UsageError) as info:
        read_lock(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "fix the lock" in message
    for needle in needles:
        assert needle in message, message


def test_missing_and_unparsable_lock(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        read_lock(tmp_path / "nope.yaml", "--lock")
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: [\n", encoding="utf-8")
    with pytest.raises(UsageError, match="unreadable"):
        read_lock(bad, "--lock")
