"""Downloaded parquet files → the raw text files every later stage reads (the data directory's
layout, dynatree.data.splits), one function per ``derive`` kind of the data lock.

The output has the layout of the offline copy, so prompts and training read a download and a
local copy with the same code: WikiText-2 as ``wikitext-2-raw/wiki.*.raw``, PG-19's test books as
``pg19/<Gutenberg ebook number>.txt``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from dynatree.errors import UsageError

# The article rows of EleutherAI/wikitext_document_level are the raw file's lines cut before
# each top-level heading and joined with "\n"; its converter dropped the chunk before the first
# heading, which in every WikiText raw file is the one line " ".
WIKITEXT_HEAD = " \n"
_EBOOK = re.compile(r"/ebooks/(\d+)/?$")


def _column(parquet: Path, name: str, what: str) -> list[str]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(parquet, columns=[name])
    except Exception as exc:  # pyarrow raises ArrowInvalid, KeyError, OSError ...
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(
            f"{what}: {parquet.name} has no readable {name!r} column ({first})"
        ) from None
    return [v if v is not None else "" for v in table.column(name).to_pylist()]


def wikitext_pages(parquet: Path, out: Path, what: str) -> list[Path]:
    """One raw WikiText file from its article rows."""
    pages = _column(parquet, "page", what)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes((WIKITEXT_HEAD + "\n".join(pages)).encode("utf-8"))
    return [out]


def pg19_books(parquet: Path, out: Path, what: str) -> list[Path]:
    """One text file per book, named by its Gutenberg ebook number (from the ``url`` column)."""
    urls = _column(parquet, "url", what)
    texts = _column(parquet, "text", what)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for url, text in zip(urls, texts, strict=True):
        match = _EBOOK.search(url.strip())
        if match is None:
            raise UsageError(f"{what}: {parquet.name}: book url {url!r} names no ebook number")
        path = out / f"{match[1]}.txt"
        if path.exists():
            raise UsageError(f"{what}: {parquet.name}: ebook {match[1]} appears twice")
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written


DERIVE: dict[str, Callable[[Path, Path, str], list[Path]]] = {
    "wikitext_pages": wikitext_pages,
    "pg19_books": pg19_books,
}
