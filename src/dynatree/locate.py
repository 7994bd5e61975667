"""Where a model named on the command line lives, and what its config allows, without torch.

Every stage that takes a model (``--target``, ``--draft``, ``--tokenizer``, ``--model``) resolves
it here first, so a mistyped path fails at once as "no such model directory" instead of being
sent to the Hugging Face Hub as an id (30 s of retries), and a prompt that does not fit the
model's positions is rejected before any weights are loaded. Only ``json`` and ``os`` are needed
for local directories; ``huggingface_hub`` is imported for Hub ids only (no torch either way).
It lives below the stages (data, models, decoding, bench) because each of them names models.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dynatree.errors import UsageError

# A Hub repository id: "org/name" of letters, digits, '-', '_', '.' (no '--' or '..').
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w\-.]{0,95}/[A-Za-z0-9][\w\-.]{0,95}$")
_TRUE = ("1", "on", "yes", "true")
# config.json keys that hold a model's number of positions, by architecture family: most
# (max_position_embeddings), GPT-2 and GPT-J (n_positions), CodeGen (n_ctx), MPT and DBRX
# (max_seq_len), ChatGLM and Qwen-1 (seq_length), BLOOM's older configs (max_sequence_length).
POSITION_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "n_ctx",
    "max_seq_len",
    "seq_length",
    "max_sequence_length",
)
# Files that make a directory loadable by AutoTokenizer.
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model")


@dataclass(frozen=True)
class ModelRef:
    """A resolved model name: a local directory, or a Hub id (with its cached config, if any)."""

    name: str  # as given on the command line
    path: Path | None  # the local directory; None for a Hub id
    config: dict[str, Any] | None  # its config.json (None: a Hub id not in the local cache)

    @property
    def load_from(self) -> str:
        """What ``from_pretrained`` gets: the expanded directory, or the Hub id."""
        return self.name if self.path is None else str(self.path)

    @property
    def positions(self) -> int | None:
        """How many positions the model has (None when its config does not say or is unknown)."""
        return config_positions(self.config)


def position_limit(config: dict[str, Any] | None) -> tuple[str, int] | None:
    """The smallest position limit a model's config.json (as a dict) states, with its key;
    None when it states none (rotary models without a table) or is unknown.

    Every key of :data:`POSITION_KEYS` is read, at the top level and in a ``text_config``
    (multimodal wrappers), so a limit is never missed because it goes by another name.
    """
    found = []
    for scope in (config or {}, (config or {}).get("text_config") or {}):
        if not isinstance(scope, dict):
            continue
        for key in POSITION_KEYS:
            value = scope.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                found.append((value, key))
    if not found:
        return None
    value, key = min(found)
    return key, value


def config_positions(config: dict[str, Any] | None) -> int | None:
    """How many positions a model's config.json (as a dict) gives it (:func:`position_limit`)."""
    limit = position_limit(config)
    return None if limit is None else limit[1]


def hub_offline() -> bool:
    """HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE as set now."""
    env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return env.strip().lower() in _TRUE


def looks_local(name: str) -> bool:
    """A filesystem path, not a Hub id: starts with ``.``, ``/`` or ``~``, has more than one
    ``/``, exists, or names something inside an existing folder (``models/nope``)."""
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        return True
    path = Path(name).expanduser()
    return path.exists() or (path.parent != Path(".") and path.parent.is_dir())


def _read_config(path: Path, option: str) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(
            f"{option}: {path} is unreadable ({exc}); rebuild or re-fetch the model"
        ) from None
    if not isinstance(config, dict):
        raise UsageError(f"{option}: {path} is not a JSON object; rebuild or re-fetch the model")
    return config


def _cached_hub_config(name: str, revision: str | None, option: str) -> dict[str, Any] | None:
    """The Hub model's config.json from the local cache (no network), or None."""
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(name, "config.json", revision=revision)
    if isinstance(cached, str):
        return _read_config(Path(cached), option)
    return None


def locate_model(
    name: str, option: str, *, need: str = "model", revision: str | None = None
) -> ModelRef:
    """Resolve ``name`` for ``option``; ``need`` is ``"model"`` (config.json) or ``"tokenizer"``.

    A local directory must hold what is needed; a Hub id must be ``org/name``, and when the Hub
    is switched off (HF_HUB_OFFLINE) it must already be in the local cache.
    """
    if looks_local(name):
        path = Path(name).expanduser()
        if not path.is_dir():
            what = "a file, not a model directory" if path.exists() else "no such model directory"
            raise UsageError(f"{option} {name}: {what}")
        if need == "tokenizer":
            if not any((path / f).is_file() for f in _TOKENIZER_FILES):
                raise UsageError(
                    f"{option} {name}: no tokenizer in that directory (no tokenizer.json or "
                    "tokenizer_config.json); give a model directory written by save_pretrained"
                )
            config = path / "config.json"
            return ModelRef(name, path, _read_config(config, option) if config.is_file() else None)
        if not (path / "config.json").is_file():
            raise UsageError(
                f"{option} {name}: not a model directory (no config.json); give a directory "
                "written by save_pretrained, or a Hub id org/name"
            )
        return ModelRef(name, path, _read_config(path / "config.json", option))
    if not _HUB_ID.match(name) or "--" in name or ".." in name:
        raise UsageError(
            f"{option} {name}: no such model directory, and not a Hub id (org/name); check the path"
        )
    config = _cached_hub_config(name, revision, option)
    if config is None and hub_offline():
        raise UsageError(
            f"{option} {name}: a Hub id that is not in the local Hugging Face cache, and "
            "HF_HUB_OFFLINE is set; go online to download it, or give a local model directory"
        )
    return ModelRef(name, None, config)


def load_tokenizer(name_or_path: str, what: str = "--target") -> Any:
    """The tokenizer saved beside a model (AutoTokenizer; no torch needed)."""
    from transformers import AutoTokenizer

    ref = locate_model(name_or_path, what, need="tokenizer")
    try:
        return AutoTokenizer.from_pretrained(ref.load_from)
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"{what} {name_or_path}: cannot load its tokenizer ({str(exc).splitlines()[0]})"
        ) from None
