"""``dynatree models fetch``: put a Hub model (or a local model directory) at a fixed path.

The pipeline names every model by a directory it owns, so a paper model is downloaded once at a
pinned revision through ``huggingface_hub`` (which honours ``HF_HOME``, ``HF_HUB_CACHE`` and
``HF_HUB_OFFLINE``) and linked from the Hub cache into ``--out``; a local directory given as
``--model`` is linked the same way, or accepted as is when it already is ``--out``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from dynatree.errors import UsageError
from dynatree.io import atomic_dir, check_outputs
from dynatree.locate import hub_offline, locate_model

# Enough for from_pretrained: config, tokenizer files and the weights (safetensors preferred).
_BASE_PATTERNS = ["*.json", "*.txt", "*.model", "tokenizer*"]
_MARKER = "dynatree-fetch.json"


def _offline() -> bool:
    """HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE as set now (the Hub library reads it at import)."""
    from huggingface_hub import constants

    return hub_offline() or bool(constants.HF_HUB_OFFLINE)


def _download(model: str, revision: str) -> Path:
    """The cached snapshot of ``model`` at ``revision``, downloading what is missing."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    offline = _offline()
    try:
        snapshot = Path(
            snapshot_download(
                model,
                revision=revision,
                local_files_only=offline,
                allow_patterns=[*_BASE_PATTERNS, "*.safetensors"],
            )
        )
        if not any(snapshot.glob("*.safetensors")):
            snapshot = Path(
                snapshot_download(
                    model,
                    revision=revision,
                    local_files_only=offline,
                    allow_patterns=[*_BASE_PATTERNS, "*.bin"],
                )
            )
    except LocalEntryNotFoundError:
        why = "HF_HUB_OFFLINE is set" if offline else "the Hub cannot be reached"
        raise UsageError(
            f"--model {model} (revision {revision}): not in the local Hugging Face cache "
            f"and {why}; "
            "go online (unset HF_HUB_OFFLINE) to download it, or point the config at a local "
            "model directory"
        ) from None
    except RevisionNotFoundError:
        raise UsageError(
            f"--revision {revision}: no such revision of {model}; use a branch, tag or commit "
            "of that repository"
        ) from None
    except RepositoryNotFoundError:
        raise UsageError(
            f"--model {model}: no such Hub repository (or it is private); check the id "
            "or point the config at a local model directory"
        ) from None
    except HfHubHTTPError as exc:
        raise UsageError(
            f"--model {model}: download failed ({str(exc).splitlines()[0]}); retry online, "
            "or point the config at a local model directory"
        ) from None
    return snapshot


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link (no extra disk for multi-GB weights) or, across filesystems, copy."""
    real = src.resolve()
    try:
        os.link(real, dst)
    except OSError:
        shutil.copy2(real, dst)


def _materialise(source: Path, out: Path, record: dict[str, Any]) -> None:
    """Fill ``out`` with ``source``'s files via a temporary sibling and one rename."""
    with atomic_dir(out) as tmp:
        for path in sorted(source.rglob("*")):
            if path.is_file() and path.name != _MARKER and ".cache" not in path.parts:
                dst = tmp / path.relative_to(source)
                dst.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(path, dst)
        (tmp / _MARKER).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def fetch_model(model: str, revision: str, out: Path) -> dict[str, Any]:
    """Make ``out`` a loadable model directory for ``model``; return what was done."""
    ref = locate_model(model, "--model", revision=revision)
    if ref.path is not None and ref.path.resolve() == out.expanduser().resolve():
        record = {"model": str(ref.path.resolve()), "revision": None, "source": "local"}
        return {**record, "action": "accepted as is"}  # the pipeline's own model directory
    check_outputs({"--out": out}, {"--model": ref.path}, directories={"--out"})
    if ref.path is not None:
        record = {"model": str(ref.path.resolve()), "revision": None, "source": "local"}
        _materialise(ref.path, out, record)
        return {**record, "action": "linked"}
    snapshot = _download(model, revision)
    record = {"model": model, "revision": revision, "commit": snapshot.name, "source": "hub"}
    _materialise(snapshot, out, record)
    return {**record, "action": "linked from the Hub cache"}
