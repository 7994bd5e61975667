"""The train/test split: training text and prompt documents never share a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynatree.data.splits import DATASETS, pg19_split, prompt_files, training_files
from dynatree.errors import UsageError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def _corpus(root: Path, n_books: int = 40) -> Path:
    (root / "wikitext-2-raw").mkdir(parents=True)
    for name in ("wiki.test.raw", "wiki.valid.raw"):
        (root / "wikitext-2-raw" / name).write_text(" = A = \n text .\n")
    (root / "gutenberg").mkdir()
    for i in range(n_books):
        (root / "gutenberg" / f"pg{i}.txt").write_text("x")
    return root


def _check_disjoint(root: Path) -> tuple[set[Path], set[Path]]:
    train = set(training_files(root))
    prompts = {p for d in DATASETS for p in prompt_files(d, root)}
    assert train and prompts
    assert not train & prompts
    books = set((root / "gutenberg").glob("*.txt"))
    assert books <= train | prompts  # every book is used by exactly one side
    return train, prompts


def test_training_and_prompt_files_are_disjoint(tmp_path: Path) -> None:
    train, prompts = _check_disjoint(_corpus(tmp_path))
    assert tmp_path / "wikitext-2-raw" / "wiki.test.raw" in prompts
    assert tmp_path / "wikitext-2-raw" / "wiki.valid.raw" in train


def test_full_wikitext_train_file_is_used_when_present(tmp_path: Path) -> None:
    root = _corpus(tmp_path)
    (root / "wikitext-2-raw" / "wiki.train.raw").write_text(" = B = \n more .\n")
    assert root / "wikitext-2-raw" / "wiki.train.raw" in _check_disjoint(root)[0]


def test_pg19_split_is_by_name_only() -> None:
    names = [f"pg{i}.txt" for i in range(400)]
    split = [pg19_split(n) for n in names]
    assert split == [pg19_split(n) for n in names]
    assert 0.15 < split.count("test") / len(names) < 0.35


def test_missing_folders_name_the_option(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--corpus-dir"):
        training_files(tmp_path)
    with pytest.raises(UsageError, match="--data-dir"):
        prompt_files("pg19", tmp_path)


@pytest.mark.skipif(not SHARED.is_dir(), reason="offline corpus ../shared/data not present")
def test_real_corpus_split_is_disjoint_and_has_enough_test_books() -> None:
    _, prompts = _check_disjoint(SHARED)
    assert len([p for p in prompts if p.parent.name == "gutenberg"]) >= 10


def test_real_pg19_test_books_are_all_prompts_and_never_trained_on(tmp_path: Path) -> None:
    """A data directory with the real PG-19 test split (pg19/, as downloaded): every book is a
    prompt document; the embedded pair trains on WikiText only. It wins over a stand-in."""
    root = _corpus(tmp_path)
    (root / "pg19").mkdir()
    books = [root / "pg19" / f"{n}.txt" for n in (10, 11, 12)]
    for book in books:
        book.write_text("A book.")
    assert prompt_files("pg19", root) == books
    train = training_files(root)
    assert train == [root / "wikitext-2-raw" / "wiki.valid.raw"]
