"""Turn ``dynatree bench`` arguments into a checked run description, before any model is loaded.

Everything that can be wrong with the command line or its input files is found here, so a bad
job fails in a second with one line naming the parameter instead of after loading two models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dynatree.assignments import parse_pairs
from dynatree.bench.parts import parse_part, part_prompts, racing, skip_record
from dynatree.bench.prompts import Prompt, load_prompts
from dynatree.bench.reference import load_reference
from dynatree.bench.runtime_args import check_runtime
from dynatree.errors import UsageError
from dynatree.io import check_writable, read_json
from dynatree.models.locate import ModelRef, locate_model


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
    part: tuple[int, int] | None = None  # (I, K): part I of K of the prompts (bench.parts)
    skip: dict[str, Any] | None = None  # out of the race (--race): write this, decode nothing


def read_params_file(path: str, method: str) -> dict[str, Any]:
    """The ``params`` of a selected-setting JSON (``dynatree select``); its method must match,
    and its keys and values must be valid for it (errors name the file, not ``--set``)."""
    from dynatree.decoding.registry import parse_params

    obj = read_json(path, "--params-file")
    if not isinstance(obj, dict) or not isinstance(obj.get("params"), dict):
        raise UsageError(f"--params-file {path!r}: expected an object with 'method' and 'params'")
    if obj.get("method") != method:
        raise UsageError(
            f"--params-file {path!r}: holds method {obj.get('method')!r}, not --method {method}"
        )
    try:
        parse_params(method, obj["params"])
    except UsageError as exc:
        raise UsageError(
            f"--params-file {path!r}: {str(exc).removeprefix('--set ')}; "
            "regenerate it with dynatree select"
        ) from None
    return dict(obj["params"])


def check_context(
    models: dict[str, ModelRef],
    prompts: list[Prompt],
    max_new_tokens: int,
    depth: int,
    *,
    beyond_context: bool,
) -> None:
    """Every prompt, and every prompt plus T new tokens, must fit each model's positions.

    Drafts never reach past prompt + T (the drafter caps a tree at the tokens still to come), so
    that is what a run needs; beyond ``max_position_embeddings`` a model with learned positions
    fails mid-run and one with rotary positions decodes text it was never trained on.
    ``beyond_context`` accepts the latter (only the prompt itself must fit). A draft ``depth``
    deeper than a model's positions is a typo (``--set K=600``) whatever the prompts.
    """
    longest = max(prompts, key=lambda p: len(p.input_ids))
    length = len(longest.input_ids)
    for flag, ref in models.items():
        limit = ref.positions
        if limit is None:
            continue
        if depth > limit:
            raise UsageError(
                f"--set: draft depth {depth} > {flag}'s max_position_embeddings {limit}; "
                "no draft can be that deep (K, D or D_max)"
            )
        if length > limit:
            raise UsageError(
                f"--prompts: prompt {longest.id!r} has {length} tokens > {flag}'s "
                f"max_position_embeddings {limit}; cut the prompts shorter (data prompts "
                "--max-tokens)"
            )
        if length + max_new_tokens > limit and not beyond_context:
            raise UsageError(
                f"--max-new-tokens {max_new_tokens}: prompt {longest.id!r} ({length} tokens) "
                f"+ T = {length + max_new_tokens} > {flag}'s max_position_embeddings {limit}; "
                "lower T or the prompt length, or pass --beyond-context"
            )


def build_options(args: Any) -> BenchOptions:
    """Validate the parsed ``bench`` arguments (see :func:`dynatree.bench.cli.register`).

    Nothing here imports torch or loads a model, so a bad job fails in well under a second.
    """
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
    threads = check_runtime(args)
    check_writable(args.out, "--out")
    prompts = load_prompts(args.prompts)
    if args.warmup >= len(prompts):
        raise UsageError(
            f"--warmup {args.warmup}: must be < the {len(prompts)} prompts of --prompts "
            "so at least one prompt is measured"
        )
    part = None
    if args.part is not None:
        part = parse_part(args.part)
        prompts = part_prompts(prompts, args.warmup, *part)
    skip = _race_skip(args, params, tags)
    models = {"--target": locate_model(args.target, "--target")}
    if draft is not None:
        models["--draft"] = locate_model(draft, "--draft")
    depth = getattr(params, "draft_depth", 0)  # methods without a depth setting: nothing to check
    check_context(models, prompts, args.max_new_tokens, depth, beyond_context=args.beyond_context)
    reference = None
    if args.reference is not None:
        reference = load_reference(args.reference, prompts, args.max_new_tokens, args.stop_at_eos)
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
        part=part,
        skip=skip,
    )


def _race_skip(args: Any, params: Any, tags: dict[str, str]) -> dict[str, Any] | None:
    """The skip record of a racing round this setting does not run (--race), else None."""
    from dynatree.decoding.params import params_dict

    if args.race is None:
        return None
    if args.part is None or "setting" not in tags:
        raise UsageError("--race: a racing round needs --part I/K and --tag setting=NAME")
    decision = read_json(args.race, "--race")
    if not isinstance(decision, dict):
        raise UsageError(f"--race {args.race}: not a racing decision (run dynatree select --round)")
    if racing(decision, tags["setting"], args.race):
        return None
    return skip_record(args.method, params_dict(params), tags, args.part, args.race)
