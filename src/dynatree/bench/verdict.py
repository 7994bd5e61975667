"""Exactness verdict of each prompt against its AR reference: ``exact``, ``tie`` or ``wrong``.

Why three values: in half precision a tree verification evaluates the target over a different
batch shape than AR does, so its logits round differently, and where the target's two best
logits are (nearly) equal the greedy choice can break the other way. Such a run is not lossy, it
is the target's own numerical indifference; a token the target clearly does not prefer is a bug.
So where the tokens differ, the FIRST differing position is diagnosed with the target itself:
one forward along the reference (AR) path, prompt + reference tokens before that position, with
the benchmark's model object (same dtype, device and attention implementation). The prompt is a
``tie`` when both disputed tokens (the reference's and the run's) are within the tolerance of
:func:`tie_tolerance` of the target's top-1 logit there, else ``wrong``.

The diagnosis runs only for rows whose tokens differ, after every prompt has been timed (so it
cannot touch timing, nor the CPU peak-memory reading of a later prompt). Torch is imported only
inside the diagnosis, so readers of results (select, aggregate) stay light.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from dynatree.bench.prompts import Prompt

VERDICTS: tuple[str, ...] = ("exact", "tie", "wrong")

#: Tie tolerance in units of eps(dtype) × max(|top-1 logit|, 1). Each of the two disputed logits
#: is rounded to the dtype in the verifying forward and again in the diagnosing one (½ ulp ≤
#: ½ eps·|logit| each), so the pair's difference can move by 2 eps·|logit| from output rounding
#: alone; the roundings of the hidden states upstream add about as much, hence 4. Measured on
#: tiny random Llama/Qwen2 models in bf16 and fp16 with sdpa: 128 of 936 speculative runs
#: diverged, the largest gap 1.83 units, the median 0 (docs/formats.md). The floor of 1 covers
#: logits near zero, whose absolute error comes from the hidden states, not from the logit's own
#: size. In float32 the same formula is about 5e-7 relative: strict, only a genuine tie of the
#: target is excused (those models never diverged in float32).
TIE_EPS_MULTIPLE = 4.0


def tie_tolerance(dtype: torch.dtype, top_logit: float) -> float:
    """Largest logit gap still called a numerical tie for logits computed in ``dtype``."""
    import torch

    return TIE_EPS_MULTIPLE * torch.finfo(dtype).eps * max(abs(top_logit), 1.0)


def first_divergence(tokens: Sequence[int], reference: Sequence[int]) -> int | None:
    """Index of the first position where the two differ (a length difference counts), or None."""
    for position, (ours, theirs) in enumerate(zip(tokens, reference, strict=False)):
        if ours != theirs:
            return position
    return None if len(tokens) == len(reference) else min(len(tokens), len(reference))


def diagnose(
    target: Any, prompt_ids: Sequence[int], reference: Sequence[int], tokens: Sequence[int]
) -> dict[str, Any]:
    """Verdict and divergence record of one prompt whose ``tokens`` differ from ``reference``.

    The record: ``position`` (index into the new tokens), ``reference_token`` and ``token``
    (the run's; null where one sequence ended early), ``gap`` (the target's top-1 logit minus
    the lower of the two disputed tokens' logits, in float64: the top-2 gap when they are its
    top two; null without two tokens), ``tolerance`` and ``verdict``. A run that stopped early
    or ran long without a differing token is ``wrong``: no tie explains a length difference.
    """
    import torch

    position = first_divergence(tokens, reference)
    if position is None:
        raise ValueError("diagnose: the tokens equal the reference; nothing to diagnose")
    ref_token = reference[position] if position < len(reference) else None
    token = tokens[position] if position < len(tokens) else None
    record: dict[str, Any] = {
        "position": position,
        "reference_token": ref_token,
        "token": token,
        "gap": None,
        "tolerance": None,
        "verdict": "wrong",
    }
    if ref_token is None or token is None:
        return record
    first = next(target.parameters())
    path = torch.tensor([[*prompt_ids, *reference[:position]]], device=first.device)
    with torch.inference_mode():
        logits = target(input_ids=path, use_cache=False, logits_to_keep=1).logits
    row = logits[0, -1]
    top = float(row.max())
    lower = min(float(row[ref_token]), float(row[token]))
    record["gap"] = top - lower  # Python floats: the difference is taken in float64
    # the compute dtype (the weights'), not the logits': some heads upcast logits to float32
    record["tolerance"] = tie_tolerance(first.dtype, top)
    record["verdict"] = "tie" if record["gap"] <= record["tolerance"] else "wrong"
    return record


def add_verdicts(
    rows: list[dict[str, Any]],
    prompts: Sequence[Prompt],
    reference: dict[str, list[int]] | None,
    target: Any,
) -> None:
    """Set ``verdict`` and ``divergence`` on every row, in place (docs/formats.md).

    Without a reference both are null; an exact row gets ``exact`` and a null divergence; only
    the others cost a target forward each.
    """
    from tqdm import tqdm  # here: the tables and figures read verdicts without tqdm installed

    pending = []
    for row, prompt in zip(rows, prompts, strict=True):
        row["divergence"] = None
        if reference is None or row["exact_match"] is None:
            row["verdict"] = None
        elif row["exact_match"]:
            row["verdict"] = "exact"
        else:
            pending.append((row, prompt))
    bar = tqdm(pending, desc="diagnose mismatches", unit="prompt", disable=not pending)
    for row, prompt in bar:
        record = diagnose(target, prompt.input_ids, reference[prompt.id], row["tokens"])
        row["verdict"] = record.pop("verdict")
        row["divergence"] = record


def row_verdict(row: dict[str, Any]) -> str | None:
    """A row's verdict; rows without one (written before verdicts existed) are read sensibly.

    Such a row has only ``exact_match``: true is ``exact``, false is ``wrong`` (an undiagnosed
    mismatch cannot be shown to be a tie), null (no reference) is null.
    """
    if row.get("verdict") is not None:
        return row["verdict"]
    exact = row.get("exact_match")
    return None if exact is None else "exact" if exact else "wrong"


def verdict_counts(rows: Sequence[dict[str, Any]]) -> dict[str, int | None]:
    """``n_exact``, ``n_tie``, ``n_wrong`` over ALL rows, warm-up included; null if none checked.

    Correctness does not depend on timing, so a warm-up prompt that went wrong is still a bug.
    """
    verdicts = [row_verdict(row) for row in rows]
    checked = any(v is not None for v in verdicts)
    return {f"n_{name}": verdicts.count(name) if checked else None for name in VERDICTS}


def summary_counts(result: dict[str, Any]) -> dict[str, float]:
    """The three counts of a result as numbers (NaN: unchecked), for tables.

    Taken from its summary; recomputed from its rows for results written before verdicts.
    """
    summary = result.get("summary", {})
    counts = {key: summary.get(key) for key in (f"n_{name}" for name in VERDICTS)}
    if any(key not in summary for key in counts):
        counts = verdict_counts(result.get("rows", []))
    return {key: math.nan if value is None else float(value) for key, value in counts.items()}
