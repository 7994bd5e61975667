"""Training and held-out text for the embedded pair, and the token streams batches are cut from.

Only :func:`dynatree.data.splits.training_files` is read, so prompt documents never reach
training. Each source is split into a training head and a held-out tail (for the report's
perplexity and agreement); WikiText and books are kept as two streams so batches can mix them
in a fixed proportion whatever their sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dynatree.data.documents import book_document, read_text
from dynatree.data.splits import WIKITEXT_DIR, training_files

OPTION = "--corpus-dir"


@dataclass(frozen=True)
class CorpusText:
    """Training and held-out text per stream (``wikitext``, ``books``), in a fixed order."""

    train: dict[str, list[str]]
    heldout: dict[str, list[str]]
    files: list[str]

    def train_chars(self) -> int:
        """Characters of training text actually used (for the report)."""
        return sum(len(t) for texts in self.train.values() for t in texts)


def load_corpus(corpus_dir: Path, train_chars: int, heldout_fraction: float) -> CorpusText:
    """Read the training files; cap each stream's training text at an equal share of
    ``train_chars`` (half each with books; all of it for WikiText when the data directory has the
    real PG-19 test split, whose books are prompts only).

    Within a stream every file gets an equal share of the cap, so no single long book dominates;
    the held-out tail of each file (never trained on) is capped at the same share.
    """
    files = training_files(corpus_dir, OPTION)
    raw: dict[str, list[str]] = {"wikitext": [], "books": []}
    for path in files:
        if path.parent.name == WIKITEXT_DIR:
            raw["wikitext"].append(read_text(path, OPTION).strip())
        else:
            raw["books"].append(book_document(path, OPTION).text)
    train: dict[str, list[str]] = {}
    heldout: dict[str, list[str]] = {}
    streams = sum(1 for texts in raw.values() if texts)
    for stream, texts in raw.items():
        share = train_chars // max(1, streams) // max(1, len(texts))
        cuts = [int(len(t) * (1.0 - heldout_fraction)) for t in texts]
        train[stream] = [t[: min(cut, share)] for t, cut in zip(texts, cuts, strict=True)]
        heldout[stream] = [t[cut:][:share] for t, cut in zip(texts, cuts, strict=True)]
    rel = [str(p.relative_to(corpus_dir)) for p in files]
    return CorpusText(train=train, heldout=heldout, files=rel)


def tokenizer_sample(corpus: CorpusText, chars: int) -> list[str]:
    """An equal slice of every training text, ``chars`` in total: the BPE's training input."""
    texts = [t for stream in corpus.train.values() for t in stream]
    share = chars // max(1, len(texts))
    return [t[:share] for t in texts if t[:share]]


def encode_streams(texts: dict[str, list[str]], tokenizer: Any) -> dict[str, torch.Tensor]:
    """Each stream's texts tokenised and joined with EOS into one long 1-D tensor."""
    eos = tokenizer.eos_token_id
    streams: dict[str, torch.Tensor] = {}
    for stream, items in texts.items():
        ids: list[int] = []
        for enc in tokenizer(items, add_special_tokens=False, verbose=False)["input_ids"]:
            ids.extend(enc)
            ids.append(eos)
        streams[stream] = torch.tensor(ids, dtype=torch.long)
    return streams


class WindowSampler:
    """Seeded random windows of ``length`` tokens; each row is WikiText with probability ``p``.

    A private generator makes the batch sequence depend on the seed alone, not on how much
    randomness model initialisation or other code consumed.
    """

    def __init__(self, streams: dict[str, torch.Tensor], length: int, p_wiki: float, seed: int):
        usable = {k: v for k, v in streams.items() if len(v) > length}
        if not usable:
            raise ValueError(f"no token stream is longer than {length} tokens")
        self.streams = usable
        self.length = length
        self.p_wiki = p_wiki if {"wikitext", "books"} <= usable.keys() else None
        self.generator = torch.Generator().manual_seed(seed)

    def batch(self, size: int) -> torch.Tensor:
        """``(size, length)`` token ids."""
        rows = []
        for _ in range(size):
            if self.p_wiki is None:
                stream = next(iter(self.streams.values()))
            else:
                wiki = torch.rand((), generator=self.generator).item() < self.p_wiki
                stream = self.streams["wikitext" if wiki else "books"]
            start = int(torch.randint(len(stream) - self.length, (), generator=self.generator))
            rows.append(stream[start : start + self.length])
        return torch.stack(rows)
