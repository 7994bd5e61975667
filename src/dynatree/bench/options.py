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
from dynatree.decoding.cost import CostProfile
from dynatree.decoding.support import check_rope, fixed_positions
from dynatree.errors import UsageError
from dynatree.io import check_outputs, read_json
from dynatree.locate import locate_model, position_limit

# About what a result takes per prompt on disk (indented JSON), for the free-space check: fixed
# fields, and per new token its id and its share of the per-iteration lists (the smoke config's
# results: 2.4-3.8 KB per prompt at T = 16, header included), with room to spare.
_ROW_BYTES, _TOKEN_BYTES = 4096, 64


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
    compile: str  # decoding.regime.SETTINGS
    stop_at_eos: bool
    out: str
    beyond_context: bool = False  # prompt + T may pass a rotary model's positions
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
    configs: dict[str, dict[str, Any] | None],
    method: str,
    prompts: list[Prompt],
    max_new_tokens: int,
    depth: int,
    *,
    beyond_context: bool,
) -> None:
    """Every prompt, and every prompt plus T new tokens, must fit each model's positions, and
    the target's rotary embedding must rotate every forward of the run alike.

    ``configs`` maps ``--target``/``--draft`` to the model's config dict (None: not known yet;
    the harness checks again with the configs transformers reads, before any weights load).
    Drafts never reach past prompt + T (the drafter caps a tree at the tokens still to come), so
    that is what a run needs. Beyond the position limit a model with a position table fails
    mid-run and one with rotary positions decodes text it was never trained on;
    ``beyond_context`` accepts the latter only (only the prompt itself must fit). A draft
    ``depth`` deeper than a model's positions is a typo (``--set K=600``) whatever the prompts.
    """
    longest = max(prompts, key=lambda p: len(p.input_ids))
    length = len(longest.input_ids)
    for flag, config in configs.items():
        limit = position_limit(config)
        if limit is None:
            continue
        key, positions = limit
        if depth > positions:
            raise UsageError(
                f"--set: draft depth {depth} > {flag}'s {key} {positions}; "
                "no draft can be that deep (K, D or D_max)"
            )
        if length > positions:
            raise UsageError(
                f"--prompts: prompt {longest.id!r} has {length} tokens > {flag}'s {key} "
                f"{positions}; cut the prompts shorter (data prompts --max-tokens)"
            )
        if length + max_new_tokens <= positions:
            continue
        if not beyond_context:
            raise UsageError(
                f"--max-new-tokens {max_new_tokens}: prompt {longest.id!r} ({length} tokens) "
                f"+ T = {length + max_new_tokens} > {flag}'s {key} {positions}; "
                "lower T or the prompt length, or pass --beyond-context"
            )
        table = fixed_positions(config)
        if table is not None:
            raise UsageError(
                f"--beyond-context: prompt {longest.id!r} ({length} tokens) + T = "
                f"{length + max_new_tokens} > {flag}'s {key} {positions}, and {table}; "
                "lower T or the prompt length"
            )
    lengths = [(p.id, len(p.input_ids)) for p in prompts]
    check_rope(configs.get("--target"), "--target", method, lengths, max_new_tokens)


def draft_depth(params: Any) -> int:
    """How deep the method's drafts go (0: a method without a depth setting)."""
    return getattr(params, "draft_depth", 0)


def build_options(args: Any) -> BenchOptions:
    """Validate the parsed ``bench`` arguments (see :func:`dynatree.bench.cli.register`).

    Nothing here imports torch or loads a model, so a bad job fails in well under a second.
    """
    from dynatree.decoding.registry import check_regime, needs_draft, parse_params

    overrides: dict[str, Any] = {}
    if args.params_file is not None:
        overrides.update(read_params_file(args.params_file, args.method))
    overrides.update(parse_pairs(args.set, "--set"))
    params = parse_params(args.method, overrides)
    if getattr(params, "profile", ""):  # a cost profile's numbers are checked before models load
        CostProfile.from_file(params.profile, "--set profile")
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
    check_regime(args.method, args.compile == "on")
    prompts = load_prompts(args.prompts)
    inputs = {
        "--prompts": args.prompts,
        "--reference": args.reference,
        "--params-file": args.params_file,
        "--set profile": getattr(params, "profile", None),
        "--target": args.target,
        "--draft": draft,
    }
    size = len(prompts) * (_ROW_BYTES + _TOKEN_BYTES * max(args.max_new_tokens, 1))
    check_outputs({"--out": args.out}, inputs, size=size)
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
    configs = {"--target": locate_model(args.target, "--target").config}
    if draft is not None:
        configs["--draft"] = locate_model(draft, "--draft").config
    check_context(
        configs,
        args.method,
        prompts,
        args.max_new_tokens,
        draft_depth(params),
        beyond_context=args.beyond_context,
    )
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
        compile=args.compile,
        stop_at_eos=args.stop_at_eos,
        out=args.out,
        beyond_context=args.beyond_context,
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
