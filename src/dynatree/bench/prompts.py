"""Read and check a prompts JSONL file before any model is loaded.

A malformed line found after an hour of decoding wastes the hour, so every line is parsed and
checked (ids, token list, hash) up front, and the error names the line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from dynatree.errors import UsageError


@dataclass(frozen=True)
class Prompt:
    """One prompt as the harness needs it: its id, token ids and the ids' hash."""

    id: str
    input_ids: tuple[int, ...]
    sha256: str


def ids_sha256(ids: tuple[int, ...] | list[int]) -> str:
    """The prompt hash of docs/formats.md: sha256 of the ids as comma-joined decimal ASCII."""
    return hashlib.sha256(",".join(str(i) for i in ids).encode("ascii")).hexdigest()


def file_sha256(path: str | Path) -> str:
    """Hash of a whole file, recorded so a result names exactly the prompts it measured."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _parse_line(line: str, where: str) -> Prompt:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise UsageError(f"{where}: expected a JSON object")
    pid = obj.get("id")
    if not isinstance(pid, str) or not pid:
        raise UsageError(f"{where}: missing or empty string field 'id'")
    ids = obj.get("input_ids")
    if (
        not isinstance(ids, list)
        or not ids
        or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids)
    ):
        raise UsageError(f"{where}: 'input_ids' must be a non-empty list of non-negative ints")
    if obj.get("n_tokens", len(ids)) != len(ids):
        raise UsageError(f"{where}: 'n_tokens'={obj['n_tokens']} but {len(ids)} input_ids")
    digest = ids_sha256(ids)
    if obj.get("sha256", digest) != digest:
        raise UsageError(f"{where}: 'sha256' does not match input_ids; regenerate the prompts")
    return Prompt(id=pid, input_ids=tuple(ids), sha256=digest)


def load_prompts(path: str | Path) -> list[Prompt]:
    """All prompts of ``path``; a missing, empty or malformed file is a :class:`UsageError`."""
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"--prompts {str(path)!r}: no such file")
    prompts: list[Prompt] = []
    seen: set[str] = set()
    with open(file, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"--prompts {str(path)!r} line {number}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise UsageError(f"{where}: not UTF-8 text; regenerate the prompts") from None
            if not line.strip():
                continue
            prompt = _parse_line(line, where)
            if prompt.id in seen:
                raise UsageError(f"{where}: duplicate id {prompt.id!r}")
            seen.add(prompt.id)
            prompts.append(prompt)
    if not prompts:
        raise UsageError(f"--prompts {str(path)!r}: the file holds no prompts")
    return prompts
