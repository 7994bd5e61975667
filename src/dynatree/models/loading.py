"""Load a causal LM and its tokenizer from a local directory or a Hub id, with clear errors.

Every place a model is named accepts a local directory; a Hub id only works online or from the
local Hugging Face cache (``HF_HUB_OFFLINE`` is respected by ``from_pretrained``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from dynatree.errors import UsageError

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when available; asking for CUDA without one is a usage error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is visible; use --device cpu or auto")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise UsageError(f"--device {device!r}: expected auto, cpu or cuda[:N]")
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """``auto`` is fp32 on CPU (fp16 matmuls are slow there) and fp16 on CUDA."""
    if dtype == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if dtype not in DTYPES:
        raise UsageError(f"--dtype {dtype!r}: expected one of auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def _check_exists(name_or_path: str, what: str) -> None:
    """A string that looks like a filesystem path must exist; anything else is a Hub id."""
    looks_local = name_or_path.startswith((".", "/", "~")) or Path(name_or_path).exists()
    if looks_local and not Path(name_or_path).expanduser().is_dir():
        raise UsageError(f"{what} {name_or_path!r}: no such model directory")


def load_causal_lm(
    name_or_path: str, device: torch.device, dtype: torch.dtype, what: str = "--target"
) -> Any:
    """Load a model in eval mode with eager attention (the tree mask needs a custom 4D mask)."""
    from transformers import AutoModelForCausalLM

    _check_exists(name_or_path, what)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(Path(name_or_path).expanduser())
            if Path(name_or_path).expanduser().exists()
            else name_or_path,
            dtype=dtype,
            attn_implementation="eager",
        )
    except OSError as exc:
        raise UsageError(
            f"{what} {name_or_path!r}: cannot load ({str(exc).splitlines()[0]}); "
            "go online to download it, or point the config at a local model directory"
        ) from exc
    return model.to(device).eval()


def load_tokenizer(name_or_path: str, what: str = "--target") -> Any:
    """Load the tokenizer saved beside a model (same error handling as the model)."""
    from transformers import AutoTokenizer

    _check_exists(name_or_path, what)
    try:
        return AutoTokenizer.from_pretrained(
            str(Path(name_or_path).expanduser())
            if Path(name_or_path).expanduser().exists()
            else name_or_path
        )
    except OSError as exc:
        raise UsageError(
            f"{what} {name_or_path!r}: cannot load its tokenizer ({str(exc).splitlines()[0]})"
        ) from exc
