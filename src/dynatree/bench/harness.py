"""Run one decoder over a prompt set and assemble the benchmark result (docs/formats.md).

The harness owns the timing of a whole ``generate`` call (CUDA synchronised on both sides) and
peak memory; decoders report their own phase split and counters in :class:`DecodeStats`.

Paired timing (``--paired``): every prompt is also decoded by AR (the target alone) right next
to the method, in the same process, so a machine that drifts between jobs (other processes,
frequency scaling) slows both alike and their ratio, the paired speedup, cancels it. The order
alternates (AR first on even prompts, the method first on odd ones), so a drift within a pair
biases half the prompts up and half down; one AR run per prompt instead of two (AR, method,
method, AR) keeps the cost to one AR decode per prompt.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from tqdm import tqdm
from transformers.utils.logging import disable_progress_bar

from dynatree.bench import compat, memory, provenance
from dynatree.bench.metrics import paired_fields, prompt_row, summarize
from dynatree.bench.options import BenchOptions, check_context, draft_depth
from dynatree.bench.prompts import Prompt, file_sha256
from dynatree.bench.reference import SCHEMA
from dynatree.bench.verdict import add_verdicts
from dynatree.decoding.base import Decoder
from dynatree.decoding.params import params_dict
from dynatree.decoding.regime import EAGER, Regime, resolve
from dynatree.decoding.registry import build_decoder, method, parse_params, required
from dynatree.decoding.support import check_model
from dynatree.errors import UsageError
from dynatree.models.loading import (
    load_causal_lm,
    load_config,
    load_tokenizer,
    resolve_device,
    resolve_dtype,
)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _n_params(model: Any | None) -> int | None:
    return None if model is None else sum(p.numel() for p in model.parameters())


def timed_generate(
    decoder: Decoder,
    input_ids: torch.Tensor,
    max_new_tokens: int,
    eos_token_id: int | None,
) -> tuple[Any, float, int]:
    """One ``generate`` call: its output, wall time (s) and peak memory (bytes)."""
    device = input_ids.device
    memory.reset_peak(device)
    _sync(device)
    start = time.perf_counter()
    output = decoder.generate(input_ids, max_new_tokens, eos_token_id=eos_token_id)
    _sync(device)
    wall = time.perf_counter() - start
    if not 1 <= len(output.tokens) <= max_new_tokens:
        raise RuntimeError(
            f"decoder {decoder.name} returned {len(output.tokens)} tokens for "
            f"max_new_tokens={max_new_tokens}"
        )
    return output, wall, memory.peak_bytes(device)


def decode_prompts(
    decoder: Decoder,
    prompts: list[Prompt],
    max_new_tokens: int,
    warmup: int,
    eos_token_id: int | None,
    reference: dict[str, list[int]] | None,
    device: torch.device,
    baseline: Decoder | None = None,
) -> list[dict[str, Any]]:
    """One result row per prompt, in order; the first ``warmup`` rows are flagged as warm-up.

    Rows carry an exactness verdict against ``reference`` (dynatree.bench.verdict).
    With a ``baseline`` (AR) decoder each prompt is also timed with it, alternating which of
    the two runs first (module docstring), and the row gets the paired fields. Both decoders
    are prepared first (:func:`prepare`), so no prompt is timed while a cache grows or a
    forward compiles.
    """
    prepare([decoder, baseline], prompts, max_new_tokens)
    rows = []
    bar = tqdm(prompts, desc=f"bench {decoder.name}", unit="prompt")
    for index, prompt in enumerate(bar):
        input_ids = torch.tensor([prompt.input_ids], dtype=torch.long, device=device)
        ar_first = baseline is not None and index % 2 == 0
        ar, ar_wall = None, None
        if ar_first:
            ar, ar_wall, _ = timed_generate(baseline, input_ids, max_new_tokens, eos_token_id)
        output, wall, peak = timed_generate(decoder, input_ids, max_new_tokens, eos_token_id)
        if baseline is not None and not ar_first:
            ar, ar_wall, _ = timed_generate(baseline, input_ids, max_new_tokens, eos_token_id)
        row = prompt_row(
            prompt_id=prompt.id,
            prompt_sha256=prompt.sha256,
            prompt_tokens=len(prompt.input_ids),
            warmup=index < warmup,
            output=output,
            wall_time_s=wall,
            peak_memory_bytes=peak,
            reference=None if reference is None else reference[prompt.id],
            max_new_tokens=max_new_tokens,
        )
        row.update(paired_fields(row, ar, ar_wall, ar_first, max_new_tokens))
        rows.append(row)
        bar.set_postfix(tps=row["tps"], exact=row["exact_match"], paired=row["paired_speedup"])
    # After the timed loop: a mismatch's diagnosis must not touch any prompt's timing or memory.
    add_verdicts(rows, prompts, reference, decoder.target)
    return rows


def prepare(decoders: list[Decoder | None], prompts: list[Prompt], max_new_tokens: int) -> float:
    """Size the decoders' caches for the longest prompt and compile their forwards' buckets
    (in the compiled regime); the seconds it took (0 when already done)."""
    longest = max(len(p.input_ids) for p in prompts)
    with torch.inference_mode():
        return sum(d.prepare(longest, max_new_tokens) for d in decoders if d is not None)


def compile_record(decoder: Decoder, regime: Regime, seconds: float) -> dict[str, Any]:
    """``protocol.compile`` of a result (docs/formats.md): the regime, its compiled mode,
    each model's buckets and the seconds the warm-up took."""
    buckets = {role: runner.buckets for role, runner in decoder.runners.items()}
    return {**regime.describe(), "buckets": buckets, "compile_s": round(seconds, 3)}


def load_models(
    target_path: str, draft_path: str | None, device: torch.device, dtype: torch.dtype
) -> tuple[Any, Any, Any | None]:
    """Target, its tokenizer and the draft (None without one), checked to share a vocabulary."""
    disable_progress_bar()  # transformers' per-load bars would bury the one bar that matters
    target = load_causal_lm(target_path, device, dtype, what="--target")
    tokenizer = load_tokenizer(target_path, what="--target")
    draft = None
    if draft_path is not None:
        draft = load_causal_lm(draft_path, device, dtype, what="--draft")
        compat.check_pair(target, tokenizer, draft, load_tokenizer(draft_path, what="--draft"))
    return target, tokenizer, draft


def check_support(options: BenchOptions) -> None:
    """Refuse, before any weights load, a model the method would not decode exactly at the
    run's lengths: its architecture (dynatree.decoding.support) and, on the configs as
    transformers standardises them, the lengths ``build_options`` checked on config.json (a Hub
    model not in the local cache is only seen here)."""
    models = {"--target": options.target, "--draft": options.draft}
    configs = {flag: load_config(name, flag) for flag, name in models.items() if name}
    need = required(options.method, options.params)
    for flag, config in configs.items():
        if need is not None:
            check_model(config, need, flag)
    check_context(
        {flag: config.to_dict() for flag, config in configs.items()},
        options.method,
        options.prompts,
        options.max_new_tokens,
        draft_depth(options.params),
        beyond_context=options.beyond_context,
    )


def run_benchmark(options: BenchOptions, argv: list[str]) -> dict[str, Any]:
    """Load the models, decode every prompt (warm-up first) and return the result object."""
    device = resolve_device(options.device)
    dtype = resolve_dtype(options.dtype, device)
    torch.set_num_threads(options.threads)
    check_support(options)
    target, tokenizer, draft = load_models(options.target, options.draft, device, dtype)
    compat.check_prompt_ids(options.prompts, target, options.prompts_path)
    eos = None
    if options.stop_at_eos:
        eos = tokenizer.eos_token_id
        if eos is None:
            raise UsageError("--stop-at-eos: the target's tokenizer defines no EOS token")

    # a method that cannot compile runs eager under auto (check_regime refused "on"), and so
    # does its paired AR: a speedup compares two decoders of one regime
    regime = resolve(options.compile, device.type) if method(options.method).compiles else EAGER
    decoder = build_decoder(options.method, options.params, target, draft, regime)
    baseline = None
    if options.paired:
        baseline = build_decoder("ar", parse_params("ar", {}), target, None, regime)
    compile_s = prepare([decoder, baseline], options.prompts, options.max_new_tokens)
    rows = decode_prompts(
        decoder,
        options.prompts,
        options.max_new_tokens,
        options.warmup,
        eos,
        options.reference,
        device,
        baseline,
    )

    return {
        "schema": SCHEMA,
        "method": options.method,
        "params": params_dict(options.params),
        "tags": options.tags,
        "protocol": {
            "max_new_tokens": options.max_new_tokens,
            "warmup": options.warmup,
            "n_prompts": len(options.prompts),
            "n_measured": len(options.prompts) - options.warmup,
            "device": device.type,
            "dtype": str(dtype).removeprefix("torch."),
            "threads": options.threads,
            "compile": compile_record(decoder, regime, compile_s),
            "stop_at_eos": options.stop_at_eos,
            "paired": options.paired,
            **({} if options.part is None else {"part": "{}/{}".format(*options.part)}),
            "prompts_path": options.prompts_path,
            "prompts_sha256": file_sha256(options.prompts_path),
            "l_max": max(len(p.input_ids) for p in options.prompts),
        },
        "models": {
            "target": options.target,
            "draft": options.draft,
            "target_params": _n_params(target),
            "draft_params": _n_params(draft),
        },
        "rows": rows,
        "summary": summarize(rows),
        "provenance": provenance.collect(device, argv),
    }
