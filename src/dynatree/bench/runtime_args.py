"""Where and how a job that runs the models runs: ``--device``, ``--dtype``, ``--threads``,
``--compile`` and ``--beyond-context``, declared once for ``dynatree bench`` and ``dynatree
profile`` and checked before any model is loaded. Torch-free, so ``dynatree --help`` stays
fast."""

from __future__ import annotations

import argparse
import os
import re

from dynatree.decoding.regime import SETTINGS
from dynatree.errors import UsageError

DTYPE_NAMES = ("auto", "float32", "float16", "bfloat16")
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def add_runtime_arguments(
    parser: argparse.ArgumentParser, beyond_context: str, beyond_note: str = ""
) -> None:
    """Add the five options; ``beyond_context`` names what ``--beyond-context`` lets run past
    the models' context, ``beyond_note`` what must still fit."""
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu or cuda")
    parser.add_argument(
        "--dtype",
        default="auto",
        help="auto (fp32 on CPU, fp16 on CUDA), float32, float16, bfloat16",
    )
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    parser.add_argument(
        "--compile",
        default="auto",
        choices=SETTINGS,
        help="run the model forwards compiled (AOTInductor on a CPU; CUDA graphs on CUDA, sizes "
        "padded to buckets), after a warm-up that compiles them; auto: on CUDA only (default)",
    )
    parser.add_argument(
        "--beyond-context",
        action="store_true",
        help=f"let {beyond_context} run past the models' max_position_embeddings (rotary "
        f"models extrapolate; the paper's Pythia protocol does){beyond_note}",
    )


def default_threads() -> int:
    """All cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def check_runtime(args: argparse.Namespace) -> int:
    """Check ``--threads``, ``--device`` and ``--dtype`` by name (whether CUDA is there is the
    loader's question); return the thread count (all cores when not given)."""
    threads = default_threads() if args.threads is None else args.threads
    if threads < 1:
        raise UsageError(f"--threads {threads}: must be >= 1")
    if not _DEVICE.match(args.device):
        raise UsageError(f"--device {args.device!r}: expected auto, cpu or cuda[:N]")
    if args.dtype not in DTYPE_NAMES:
        raise UsageError(f"--dtype {args.dtype!r}: expected one of {', '.join(DTYPE_NAMES)}")
    return threads
