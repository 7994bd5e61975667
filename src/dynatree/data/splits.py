"""The one place that decides which corpus files are for training and which for prompts.

Prompts are drawn from WikiText-2's test split and the PG-19 test books; the embedded model pair
is trained on everything else. Both ``dynatree data prompts`` and ``dynatree models
build-embedded`` call these functions, so a model can never have seen a prompt's document.

A data directory holds PG-19 in one of two forms. ``pg19/``: the real PG-19 test split (as the
pipeline downloads it, dynatree.data.derive), every book a prompt document, none trained on.
``gutenberg/``: the offline stand-in (``../shared/data``), Project Gutenberg books with no PG-19
split of their own, split here by a hash of their file name: deterministic, independent of the
order files are listed in, and stable when books are added. Where both are present the real
split is used.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from dynatree.errors import UsageError

WIKITEXT_DIR = "wikitext-2-raw"
GUTENBERG_DIR = "gutenberg"
PG19_DIR = "pg19"
WIKITEXT_TEST_FILE = "wiki.test.raw"
# wiki.train.raw is used when present (a full WikiText-2 download); the offline copy has valid only.
WIKITEXT_TRAIN_FILES = ("wiki.train.raw", "wiki.valid.raw")
PG19_TEST_PERCENT = 25
_SALT = "dynatree-pg19:"

DATASETS = ("wikitext", "pg19")
DATASET_LABELS = {"wikitext": "WikiText-2", "pg19": "PG-19"}  # as tables and figures print them


def pg19_split(file_name: str) -> str:
    """``"test"`` for about PG19_TEST_PERCENT % of the books (by name hash), else ``"train"``."""
    digest = hashlib.sha256((_SALT + file_name).encode("utf-8")).hexdigest()
    return "test" if int(digest[:8], 16) % 100 < PG19_TEST_PERCENT else "train"


def pg19_is_real(data_dir: Path) -> bool:
    """True when ``data_dir`` holds the real PG-19 test split (``pg19/``), False for the
    Gutenberg stand-in."""
    return (data_dir / PG19_DIR).is_dir()


def _books(data_dir: Path, option: str) -> list[Path]:
    folder = data_dir / (PG19_DIR if pg19_is_real(data_dir) else GUTENBERG_DIR)
    if not folder.is_dir():
        raise UsageError(
            f"{option} {data_dir}: no {PG19_DIR}/ (PG-19 test books) or {GUTENBERG_DIR}/ "
            "(Project Gutenberg books) folder; point it at the offline corpus (e.g. "
            "../shared/data) or at the pipeline's download (data/hub)"
        )
    return sorted(folder.glob("*.txt"), key=lambda p: p.name)


def _wikitext(data_dir: Path, name: str, option: str) -> Path:
    path = data_dir / WIKITEXT_DIR / name
    if not path.is_file():
        raise UsageError(
            f"{option} {data_dir}: {WIKITEXT_DIR}/{name} is missing; "
            "point it at the offline corpus (e.g. ../shared/data)"
        )
    return path


def prompt_files(dataset: str, data_dir: Path, option: str = "--data-dir") -> list[Path]:
    """The files prompts of ``dataset`` are drawn from (never used for training)."""
    if dataset == "wikitext":
        return [_wikitext(data_dir, WIKITEXT_TEST_FILE, option)]
    if dataset == "pg19":
        books = _books(data_dir, option)
        if not pg19_is_real(data_dir):
            books = [p for p in books if pg19_split(p.name) == "test"]
        if not books:
            raise UsageError(f"{option} {data_dir}: no PG-19 test books among its *.txt files")
        return books
    raise UsageError(f"--dataset {dataset!r}: expected one of {', '.join(DATASETS)}")


def training_files(data_dir: Path, option: str = "--corpus-dir") -> list[Path]:
    """WikiText-2 train/valid files and the stand-in's train books: the embedded pair's training
    text (no books with the real PG-19 test split: all of them are prompt documents)."""
    wiki = [data_dir / WIKITEXT_DIR / n for n in WIKITEXT_TRAIN_FILES]
    wiki = [p for p in wiki if p.is_file()]
    if not wiki:
        _wikitext(data_dir, WIKITEXT_TRAIN_FILES[-1], option)  # raises the missing-file error
    books = _books(data_dir, option)
    if pg19_is_real(data_dir):
        return wiki
    return wiki + [p for p in books if pg19_split(p.name) == "train"]
