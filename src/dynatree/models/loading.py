"""Load a causal LM from a local directory or a Hub id, with clear errors; devices and dtypes.

Every place a model is named accepts a local directory; a Hub id only works online or from the
local Hugging Face cache (``HF_HUB_OFFLINE`` is respected by ``from_pretrained``). Names are
resolved by :mod:`dynatree.locate` (which also loads tokenizers, without torch).
"""

from __future__ import annotations

from typing import Any

import torch

from dynatree.errors import UsageError
from dynatree.locate import load_tokenizer, locate_model

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


def _unloadable(name_or_path: str, what: str, hub: bool, exc: Exception) -> UsageError:
    fix = (
        "go online to download it, or point the config at a local model directory"
        if hub
        else "rebuild or re-fetch that model directory"
    )
    return UsageError(f"{what} {name_or_path!r}: cannot load ({str(exc).splitlines()[0]}); {fix}")


def load_config(name_or_path: str, what: str = "--target") -> Any:
    """The model's transformers config, standardised (rope parameters, defaults) as the model
    will see it, without its weights: what the support checks read before a model loads."""
    from transformers import AutoConfig

    ref = locate_model(name_or_path, what)
    try:
        return AutoConfig.from_pretrained(ref.load_from)
    except (OSError, ValueError, KeyError) as exc:
        raise _unloadable(name_or_path, what, ref.path is None, exc) from exc


def load_causal_lm(
    name_or_path: str, device: torch.device, dtype: torch.dtype, what: str = "--target"
) -> Any:
    """Load a model in eval mode with eager attention (the tree mask needs a custom 4D mask)."""
    from transformers import AutoModelForCausalLM

    ref = locate_model(name_or_path, what)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            ref.load_from, dtype=dtype, attn_implementation="eager"
        )
    except (OSError, ValueError) as exc:
        raise _unloadable(name_or_path, what, ref.path is None, exc) from exc
    return model.to(device).eval()


__all__ = [
    "DTYPES",
    "load_causal_lm",
    "load_config",
    "load_tokenizer",
    "resolve_device",
    "resolve_dtype",
]
