"""Read corpus files into documents: WikiText articles and Project Gutenberg books.

A document is the unit a prompt is drawn from, so its id (``wiki.test.raw#12``, ``pg1342.txt``)
is what the prompts file records as ``source``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dynatree.data.splits import pg19_is_real, prompt_files
from dynatree.errors import UsageError

# A top-level WikiText heading is a line " = Title = "; sections are " = = Section = = ".
_WIKI_TITLE = re.compile(r"^ = [^=].* = $")
_PG_START = re.compile(r"^\s*\*{3}\s*START OF", re.IGNORECASE)
_PG_END = re.compile(r"^\s*(\*{3}\s*END OF|End of (the )?Project Gutenberg)", re.IGNORECASE)


@dataclass(frozen=True)
class Document:
    """One article or book: ``id`` names it in the prompts file; ``text`` has no boilerplate."""

    id: str
    text: str


def read_text(path: Path, option: str) -> str:
    """UTF-8 text with ``\\n`` newlines and no BOM; an unreadable or empty file is a usage error."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise UsageError(
            f"{option}: cannot read {path} ({exc.strerror}); restore the file"
        ) from exc
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{option}: {path} is not UTF-8 text (corrupt?); restore the file from the corpus"
        ) from exc
    if not text.strip():
        raise UsageError(f"{option}: {path} is empty; restore the file from the corpus")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def strip_gutenberg(text: str, path: Path, option: str) -> str:
    """The book between Project Gutenberg's ``*** START OF`` and ``*** END OF`` marker lines."""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if _PG_START.match(line)), None)
    if start is None:
        raise UsageError(
            f"{option}: {path} has no '*** START OF' line (not a Project Gutenberg file?); "
            "restore the file from the corpus"
        )
    end = next((i for i in range(start + 1, len(lines)) if _PG_END.match(lines[i])), None)
    if end is None:
        raise UsageError(
            f"{option}: {path} has no '*** END OF' line (truncated?); "
            "restore the file from the corpus"
        )
    body = "\n".join(lines[start + 1 : end]).strip()
    if not body:
        raise UsageError(f"{option}: {path} has no text between its START and END lines")
    return body


def wikitext_articles(text: str) -> list[str]:
    """Split a raw WikiText file at its top-level ``= Title =`` headings (heading kept)."""
    articles: list[list[str]] = []
    for line in text.split("\n"):
        if _WIKI_TITLE.match(line):
            articles.append([])
        if articles:
            articles[-1].append(line)
    return [a for a in ("\n".join(lines).strip() for lines in articles) if a]


def wikitext_documents(path: Path, option: str) -> list[Document]:
    """The articles of one WikiText file, ids ``<file name>#<article index>``."""
    articles = wikitext_articles(read_text(path, option))
    if not articles:
        raise UsageError(
            f"{option}: {path} has no ' = Title = ' headings (not WikiText-2 raw?); "
            "restore the file from the corpus"
        )
    return [Document(f"{path.name}#{i}", text) for i, text in enumerate(articles)]


def book_document(path: Path, option: str) -> Document:
    """One Project Gutenberg book, header and footer stripped, id = file name."""
    return Document(path.name, strip_gutenberg(read_text(path, option), path, option))


def pg19_document(path: Path, option: str) -> Document:
    """One book of the real PG-19 test split (no Gutenberg header: PG-19 removed it), id = file
    name (its Gutenberg ebook number)."""
    text = read_text(path, option).strip()
    return Document(path.name, text)


def local_documents(dataset: str, data_dir: Path, option: str = "--data-dir") -> list[Document]:
    """The prompt documents of ``dataset`` in the data directory, in a fixed order."""
    if not data_dir.is_dir():
        raise UsageError(
            f"{option} {data_dir}: no such directory; point it at the offline corpus "
            "(e.g. ../shared/data) or at the pipeline's download (data/hub)"
        )
    files = prompt_files(dataset, data_dir, option)
    if dataset == "wikitext":
        return [doc for path in files for doc in wikitext_documents(path, option)]
    read = pg19_document if pg19_is_real(data_dir) else book_document
    return [read(path, option) for path in files]
