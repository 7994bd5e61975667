"""What the cost model predicts a result's speedup to be: the honesty check of DynaTree-CA.

DynaTree-CA chooses trees by predicted tokens per second, from a verify-cost profile
(:class:`dynatree.decoding.cost.CostProfile`). The same prices applied to what any tree method
actually did (per iteration: tokens verified, draft rounds and their widths, tokens committed)
predict its decode time: the verification, the draft forwards, and the draft phase's host-side
work around them. AR's is T - 1 of AR's own steps (not one-token verifications: those pay a
tree mask and a cache roll-back AR never does, which inflated every prediction alike). Their
ratio is the predicted speedup, and measured / predicted says how much of the real cost the
model sees (1: all of it; below 1: overheads it does not price). The prefill is priced at its
measured time for both, since every method pays the same one.
"""

from __future__ import annotations

import statistics
from typing import Any

from dynatree.decoding.cost import CostProfile


def ar_time_s(profile: CostProfile, prompt_tokens: int, new_tokens: int, ttft_s: float) -> float:
    """AR: the prefill, then one target step per later token over a growing cache."""
    steps = (profile.ar_step_s(prompt_tokens + k) for k in range(new_tokens - 1))
    return ttft_s + sum(steps)


def tree_time_s(profile: CostProfile, row: dict[str, Any]) -> float | None:
    """A tree method's prompt: the prefill, then per iteration its draft phase (the rounds'
    forwards and the host-side work around them) and one verification, each at the cache length
    it started from (None without iteration data)."""
    sizes, widths = row.get("verify_sizes"), row.get("draft_widths")
    accepted = row.get("accepted_lengths")
    if not sizes or widths is None or accepted is None:
        return None
    total = row["ttft_s"]
    cache = row["prompt_tokens"]  # after the prefill; its first token is the first root
    for size, rounds, kept in zip(sizes, widths, accepted, strict=True):
        total += profile.verify_s(size, cache)
        total += sum(profile.draft_level_s(w, cache) for w in rounds)
        total += profile.draft_overhead_s(len(rounds), size - 1)
        cache += kept + 1
    return total


def predicted_speedup(
    profile: CostProfile, result: dict[str, Any], prefill: bool = True
) -> float | None:
    """Mean over measured prompts of predicted AR time / predicted time (None if unpriceable);
    without ``prefill``, of the decodes after it (for prices that do not cover the prefill, as
    :meth:`dynatree.decoding.cost.CostProfile.at_floor`')."""
    ratios = []
    for row in result["rows"]:
        if row["warmup"]:
            continue
        if not prefill:
            row = {**row, "ttft_s": 0.0}
        own = tree_time_s(profile, row)
        if own is None:
            return None
        ar = ar_time_s(profile, row["prompt_tokens"], row["new_tokens"], row["ttft_s"])
        ratios.append(ar / own)
    return statistics.fmean(ratios) if ratios else None
