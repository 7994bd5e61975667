"""Tiny repositories for the local Hub (local_hub.py): WikiText-2- and PG-19-shaped parquet files
with the lock that pins them, and a tiny random GPT-NeoX target/draft pair with a fast tokenizer.

The datasets have the columns and row layout of the real sources (EleutherAI/
wikitext_document_level: one article per ``page`` row, the file's first line " " dropped;
emozilla/pg19-test: ``short_book_title``, ``publication_date``, ``url``, ``text``), so the
pipeline derives them with the code that derives the real ones, and the lock holds the sums of
the raw text they must give back.
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass
from pathlib import Path

import yaml

WIKI_REPO = "dynatree-tests/wikitext"
PG19_REPO = "dynatree-tests/pg19-test"
WIKI_COMMIT = "1a" * 20
PG19_COMMIT = "2b" * 20
MODEL_COMMITS = {"target": "3c" * 20, "draft": "4d" * 20}
MODEL_REPOS = {"target": "dynatree-tests/tiny-target", "draft": "dynatree-tests/tiny-draft"}
PG19_FILE = "data/test-00000-of-00001.parquet"
WIKI_SPLITS = {"test": "wiki.test.raw", "validation": "wiki.valid.raw", "train": "wiki.train.raw"}
PG19_BOOKS = (1001, 1002, 1003, 1004)

_WORDS = (
    "the river town old bridge stood near a quiet field where people walked each morning and "
    "evening while the bells rang over houses built of stone by hands long gone in years of "
    "war and peace when ships sailed from the harbour to lands far away across grey seas"
).split()


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 14))]
    return " ".join(words).capitalize() + " ."


def wikitext_raw(seed: int, articles: int) -> str:
    """A raw WikiText-2 file: a first line " ", then articles with ' = Title = ' headings."""
    rng = random.Random(seed)
    lines = [" "]
    for k in range(articles):
        lines += [f" = Article {seed} {k} = ", " "]
        for section in range(2):
            lines += [" " + " ".join(_sentence(rng) for _ in range(4)) + " ", " "]
            if section == 0:
                lines += [f" = = Part {k} = = ", " "]
    return "\n".join(lines) + "\n"


def wikitext_pages(raw: str) -> list[str]:
    """The rows EleutherAI/wikitext_document_level made of a raw file (its converter's cut)."""
    pages, chunk = [], []
    for line in raw.split("\n"):
        head = line.strip()
        if head.startswith("= ") and head.endswith(" =") and not head.startswith("= ="):
            if "\n".join(chunk).strip():
                pages.append("\n".join(chunk))
            chunk = []
        chunk.append(line)
    pages.append("\n".join(chunk))
    return pages


def book(number: int) -> str:
    rng = random.Random(number)
    paragraphs = [" ".join(_sentence(rng) for _ in range(5)) for _ in range(12)]
    return f"BOOK {number}\n\n" + "\n\n".join(paragraphs) + "\n"


def parquet(columns: dict[str, list[str]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


def _wiki_path(split: str) -> str:
    return f"wikitext-2-raw-v1/{split}/0000.parquet"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class TinyData:
    """The parquet files of both repositories and the raw text they derive to."""

    wiki_files: dict[str, bytes]  # repo path -> parquet
    wiki_raw: dict[str, str]  # wiki.*.raw -> text
    pg19_file: bytes

    def lock(self, path: Path, wiki_commit: str = WIKI_COMMIT) -> Path:
        """Write the lock that pins these files (at ``wiki_commit`` for WikiText)."""
        splits = {_wiki_path(split): name for split, name in WIKI_SPLITS.items()}
        doc = {
            "schema": "dynatree.data-lock/1",
            "datasets": {
                "wikitext": {
                    "title": "WikiText-2 (raw, v1)",
                    "repo": WIKI_REPO,
                    "repo_type": "dataset",
                    "revision": wiki_commit,
                    "files": [
                        {
                            "path": repo_path,
                            "sha256": _sha(self.wiki_files[repo_path]),
                            "size": len(self.wiki_files[repo_path]),
                            "derive": "wikitext_pages",
                            "to": f"wikitext-2-raw/{name}",
                        }
                        for repo_path, name in splits.items()
                    ],
                    "derived": {
                        f"wikitext-2-raw/{name}": _sha(text.encode())
                        for name, text in self.wiki_raw.items()
                    },
                },
                "pg19": {
                    "title": "the PG-19 test split",
                    "repo": PG19_REPO,
                    "repo_type": "dataset",
                    "revision": PG19_COMMIT,
                    "files": [
                        {
                            "path": PG19_FILE,
                            "sha256": _sha(self.pg19_file),
                            "size": len(self.pg19_file),
                            "derive": "pg19_books",
                            "to": "pg19",
                        }
                    ],
                },
            },
        }
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path


def tiny_data() -> TinyData:
    raw = {name: wikitext_raw(i, 8) for i, name in enumerate(WIKI_SPLITS.values())}
    files = {
        _wiki_path(split): parquet({"page": wikitext_pages(raw[name])})
        for split, name in WIKI_SPLITS.items()
    }
    books = {
        "short_book_title": [f"Book {n}" for n in PG19_BOOKS],
        "publication_date": ["1900"] * len(PG19_BOOKS),
        "url": [f"http://www.gutenberg.org/ebooks/{n}" for n in PG19_BOOKS],
        "text": [book(n) for n in PG19_BOOKS],
    }
    return TinyData(files, raw, parquet(books))


def publish_data(hub, data: TinyData) -> None:
    hub.add("dataset", WIKI_REPO, WIKI_COMMIT, data.wiki_files, branch="main")
    hub.add("dataset", PG19_REPO, PG19_COMMIT, {PG19_FILE: data.pg19_file}, branch="main")


def tiny_model_files(folder: Path) -> dict[str, dict[str, bytes]]:
    """A random GPT-NeoX target (2 layers) and draft (1 layer) sharing a byte-level BPE fast
    tokenizer trained on the tiny text; {role: {file name: bytes}} of their saved directories."""
    import torch
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    from dynatree.models.tokenizer import train_tokenizer

    data = tiny_data()
    texts = [*data.wiki_raw.values(), *(book(n) for n in PG19_BOOKS)]
    tokenizer = train_tokenizer(texts, vocab_size=320)
    out = {}
    for seed, (role, layers) in enumerate((("target", 2), ("draft", 1))):
        torch.manual_seed(seed)
        config = GPTNeoXConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            num_hidden_layers=layers,
            num_attention_heads=4,
            intermediate_size=64,
            max_position_embeddings=512,
            initializer_range=0.2,
            eos_token_id=tokenizer.eos_token_id,
            bos_token_id=tokenizer.bos_token_id,
        )
        path = folder / role
        GPTNeoXForCausalLM(config).eval().save_pretrained(path)
        tokenizer.save_pretrained(path)
        out[role] = {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}
    return out


def publish_models(hub, files: dict[str, dict[str, bytes]]) -> None:
    for role, content in files.items():
        hub.add("model", MODEL_REPOS[role], MODEL_COMMITS[role], content, branch="main")
