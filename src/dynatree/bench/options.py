"""Turn ``dynatree bench`` arguments into a checked run description, before any model is loaded.

Everything that can be wrong with the command line or its input files is found here, so a bad
job fails in a second with one line naming the parameter instead of after loading two models.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dynatree.assignments import parse_pairs
from dynatree.bench.prompts import Prompt, load_prompts
from dynatree.bench.reference import load_reference
from dynatree.errors import UsageError
from dynatree.io import read_json


@dataclass(frozen=True)
class BenchOptions:
    """A validated benchmark job."""

    method: str
    params: Any  # the method's frozen parameter dataclass
    target: str
    draft: str | None  # None for ar (which ignores --draft)
    prompts: list[Prompt]
    prompts_path: str
    max_new_tokens: int
    warmup: int
    reference: dict[str, list[int]] | None
    tags: dict[str, str]
    device: str
    dtype: str
    threads: int
    stop_at_eos: bool
    out: str
    paired: bool = False  # also time AR on every prompt, interleaved (harness docstring)


def read_params_file(path: str, method: str) -> dict[str, Any]:
    """The ``params`` of a selected-setting JSON (``dynatree select``); its method must match."""
    obj = read_json(path, "--params-file")
    if not isinstance(obj, dict) or not isinstance(obj.get("params"), dict):
        raise UsageError(f"--params-file {path!r}: expected an object with 'method' and 'params'")
    if obj.get("method") != method:
        raise UsageError(
            f"--params-file {path!r}: holds method {obj.get('method')!r}, not --method {method}"
        )
    return dict(obj["params"])


def check_model_path(name_or_path: str, flag: str) -> None:
    """Something that is clearly a filesystem path must be an existing directory.

    Hub ids (``name`` or ``org/name``) are left to the loader; a path starting with ``.``, ``/``
    or ``~``, or with more than two components, cannot be a Hub id.
    """
    expanded = Path(name_or_path).expanduser()
    looks_local = name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1
    if (looks_local or expanded.exists()) and not expanded.is_dir():
        raise UsageError(f"{flag} {name_or_path!r}: no such model directory")


def default_threads() -> int:
    """All cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def build_options(args: Any) -> BenchOptions:
    """Validate the parsed ``bench`` arguments (see :func:`dynatree.bench.cli.register`)."""
    from dynatree.decoding.registry import needs_draft, parse_params

    overrides: dict[str, Any] = {}
    if args.params_file is not None:
        overrides.update(read_params_file(args.params_file, args.method))
    overrides.update(parse_pairs(args.set, "--set"))
    params = parse_params(args.method, overrides)
    tags = parse_pairs(args.tag, "--tag")

    uses_draft = needs_draft(args.method)
    draft = args.draft if uses_draft else None
    if uses_draft and not args.draft:
        raise UsageError(f"--draft: method {args.method} needs a draft model")
    if args.paired and args.method == "ar":
        raise UsageError(
            "--paired: method ar is the baseline itself; pair speculative methods only"
        )
    if args.max_new_tokens < 1:
        raise UsageError(f"--max-new-tokens {args.max_new_tokens}: must be >= 1")
    if args.warmup < 0:
        raise UsageError(f"--warmup {args.warmup}: must be >= 0")
    threads = default_threads() if args.threads is None else args.threads
    if threads < 1:
        raise UsageError(f"--threads {threads}: must be >= 1")
    prompts = load_prompts(args.prompts)
    if args.warmup >= len(prompts):
        raise UsageError(
            f"--warmup {args.warmup}: must be < the {len(prompts)} prompts of --prompts "
            "so at least one prompt is measured"
        )
    check_model_path(args.target, "--target")
    if draft is not None:
        check_model_path(draft, "--draft")
    reference = None
    if args.reference is not None:
        reference = load_reference(args.reference, prompts, args.max_new_tokens, args.stop_at_eos)
    if not args.out:
        raise UsageError("--out: give the result path")
    return BenchOptions(
        method=args.method,
        params=params,
        target=args.target,
        draft=draft,
        prompts=prompts,
        prompts_path=str(args.prompts),
        max_new_tokens=args.max_new_tokens,
        warmup=args.warmup,
        reference=reference,
        tags=tags,
        device=args.device,
        dtype=args.dtype,
        threads=threads,
        stop_at_eos=args.stop_at_eos,
        out=args.out,
        paired=args.paired,
    )
