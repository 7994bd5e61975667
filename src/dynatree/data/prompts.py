"""Benchmark prompts: a seeded sample of documents, each cut to at most L tokens at a boundary.

The cut is measured in tokens of the target's tokenizer (the paper's L_max is a token count) and
placed at the end of a sentence or line near the limit, so a prompt never ends mid-word and the
target continues natural text.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dynatree.data.documents import Document
from dynatree.errors import UsageError

# A sentence ends at . ! ? (plus closing quotes/brackets) followed by whitespace.
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s)")
# A line end whose line does not end in a heading's "=".
_LINE_END = re.compile(r"(?<=[^=\s])[ \t]*\n")
# Characters per token are far below this for any BPE tokenizer; the window grows if not.
_CHARS_PER_TOKEN = 8
# The shortest L_max a prompt set may have: the cut keeps at least half of it, and a prompt of
# a handful of tokens gives the target no text to continue (the paper's shortest is 100).
MIN_PROMPT_TOKENS = 8


@dataclass(frozen=True)
class Prompt:
    """One prompt line of the JSONL file (docs/formats.md)."""

    id: str
    dataset: str
    source: str
    text: str
    input_ids: list[int]

    def to_json(self) -> str:
        """The JSONL line, fields in the documented order (byte-stable)."""
        record: dict[str, Any] = {
            "id": self.id,
            "dataset": self.dataset,
            "source": self.source,
            "text": self.text,
            "input_ids": self.input_ids,
            "n_tokens": len(self.input_ids),
            "sha256": ids_sha256(self.input_ids),
        }
        return json.dumps(record, ensure_ascii=False)


def ids_sha256(ids: Sequence[int]) -> str:
    """sha256 of the ids as comma-joined decimal ASCII (docs/formats.md)."""
    return hashlib.sha256(",".join(str(i) for i in ids).encode("ascii")).hexdigest()


def _encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def _boundary(prefix: str) -> int:
    """Where to cut ``prefix``: the last sentence or line end in its second half, else a space.

    A line that is a WikiText heading (``= = Section = =``) is not an end: the prompt would stop
    on a title instead of text.
    """
    floor = len(prefix) // 2
    ends = [m.end() for m in _SENTENCE_END.finditer(prefix, floor)]
    lines = [m.start() for m in _LINE_END.finditer(prefix, floor)]
    best = max(ends + lines + [-1])
    if best > 0:
        return best
    space = prefix.rfind(" ", floor)
    return space if space > 0 else len(prefix)


def cut_document(text: str, tokenizer: Any, max_tokens: int) -> tuple[str, list[int]]:
    """A prefix of ``text`` with at most ``max_tokens`` tokens, ending at a sentence or line end.

    The whole text when it fits; else the ``max_tokens``-token prefix cut back to its last
    boundary (:func:`_boundary`), so the cut loses at most half of the limit.
    """
    text = text.strip()
    window = max_tokens * _CHARS_PER_TOKEN
    while True:
        head = text[:window]
        enc = tokenizer(head, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        if len(enc["input_ids"]) > max_tokens or len(head) == len(text):
            break
        window *= 2
    if len(enc["input_ids"]) <= max_tokens:
        return head, list(enc["input_ids"])
    limit = max_tokens
    while limit > 0:
        prefix = head[: enc["offset_mapping"][limit - 1][1]]
        cut = prefix[: _boundary(prefix)].rstrip()
        ids = _encode(tokenizer, cut)
        if len(ids) <= max_tokens:
            return cut, ids
        limit -= len(ids) - max_tokens  # re-tokenising merged across the cut; back off
    return "", []


def sample_prompts(
    documents: Sequence[Document],
    tokenizer: Any,
    dataset: str,
    n: int,
    max_tokens: int,
    min_tokens: int,
    seed: int,
) -> list[Prompt]:
    """``n`` prompts from a seeded shuffle of ``documents``, skipping those under ``min_tokens``."""
    order = list(range(len(documents)))
    random.Random(seed).shuffle(order)
    prompts: list[Prompt] = []
    for index in order:
        if len(prompts) == n:
            break
        doc = documents[index]
        text, ids = cut_document(doc.text, tokenizer, max_tokens)
        if len(ids) >= min_tokens:
            prompts.append(Prompt(f"{dataset}-{len(prompts):03d}", dataset, doc.id, text, ids))
    if len(prompts) < n:
        raise UsageError(
            f"--n {n}: only {len(prompts)} of {len(documents)} {dataset} documents have at least "
            f"{min_tokens} tokens; lower --n or --min-tokens (or add documents to the data dir)"
        )
    return prompts


def render_jsonl(prompts: Sequence[Prompt]) -> str:
    """The whole prompts file (one JSON object per line, sample order)."""
    return "".join(p.to_json() + "\n" for p in prompts)
