"""Parquet rows → raw text: WikiText's article rows join back to the raw file byte for byte,
PG-19's rows become one file per book."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hub_repos import PG19_BOOKS, book, parquet, tiny_data, wikitext_pages, wikitext_raw

from dynatree.data.derive import pg19_books
from dynatree.data.derive import wikitext_pages as derive_pages
from dynatree.data.lock import read_lock
from dynatree.errors import UsageError

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data" / "wikitext-2-raw"


def test_article_rows_join_back_to_the_raw_file(tmp_path: Path) -> None:
    raw = wikitext_raw(7, 5)
    source = tmp_path / "test.parquet"
    source.write_bytes(parquet({"page": wikitext_pages(raw)}))
    out = tmp_path / "data" / "wikitext-2-raw" / "wiki.test.raw"
    assert derive_pages(source, out, "dataset wikitext") == [out]
    assert out.read_bytes() == raw.encode("utf-8")


@pytest.mark.skipif(not SHARED.is_dir(), reason="offline copy ../shared/data not present")
@pytest.mark.parametrize("name", ["wiki.test.raw", "wiki.valid.raw"])
def test_the_real_files_cut_as_the_converter_does_join_back_to_the_locked_sums(
    tmp_path: Path, name: str
) -> None:
    """What can be shown offline: the converter's cut (one row per article, the first line " "
    dropped) of the published raw file, derived, gives the bytes whose sha256 the lock holds.
    That the Hub's parquet rows are that cut is the converter's documented behaviour, not
    something checked here (no machine here reaches the Hub)."""
    raw = (SHARED / name).read_text(encoding="utf-8")
    pages = wikitext_pages(raw)
    assert not pages[0].startswith(" \n")  # the leading " " line is what the converter drops
    source = tmp_path / "rows.parquet"
    source.write_bytes(parquet({"page": pages}))
    out = tmp_path / name
    derive_pages(source, out, "dataset wikitext")
    expected = read_lock(REPO / "config" / "data.lock.yaml").datasets["wikitext"].derived
    assert hashlib.sha256(out.read_bytes()).hexdigest() == expected[f"wikitext-2-raw/{name}"]


def test_books_are_one_file_per_ebook_number(tmp_path: Path) -> None:
    data = tiny_data()
    source = tmp_path / "test.parquet"
    source.write_bytes(data.pg19_file)
    written = pg19_books(source, tmp_path / "pg19", "dataset pg19")
    assert [p.name for p in written] == [f"{n}.txt" for n in PG19_BOOKS]
    assert written[0].read_text(encoding="utf-8") == book(PG19_BOOKS[0])


def test_a_book_without_an_ebook_number_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "test.parquet"
    source.write_bytes(parquet({"url": ["http://example.org/x"], "text": ["A book."]}))
    with pytest.raises(UsageError, match="names no ebook number"):
        pg19_books(source, tmp_path / "pg19", "dataset pg19")


def test_a_file_without_the_column_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "test.parquet"
    source.write_bytes(parquet({"text": ["no pages here"]}))
    with pytest.raises(UsageError, match="'page' column"):
        derive_pages(source, tmp_path / "out.raw", "dataset wikitext")
