"""The cost profile's measurement: timed through the decoders' own calls, round-robin, each timed
call after an untimed one of its size; read back by :class:`CostProfile` (interpolation)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

from dynatree.decoding import profiling
from dynatree.decoding.ar import ARDecoder
from dynatree.decoding.cost import SCHEMA, CostProfile
from dynatree.decoding.drafting import TreeDrafter
from dynatree.decoding.runner import ModelRunner, greedy
from dynatree.errors import UsageError


def tiny(layers: int, seed: int) -> GPTNeoXForCausalLM:
    torch.manual_seed(seed)
    config = GPTNeoXConfig(
        vocab_size=48,
        hidden_size=16,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    config._attn_implementation = "eager"
    return GPTNeoXForCausalLM(config).eval()


def test_random_tree_is_breadth_first_and_well_formed() -> None:
    tree = profiling.random_tree(40, vocab=48, device=torch.device("cpu"), seed=3)
    assert len(tree) == 40
    assert tree.depths == sorted(tree.depths) and tree.depths[0] == 0
    assert all(tree.parents[i] < i and tree.depths[i] == tree.depths[tree.parents[i]] + 1
               for i in range(1, 40))  # fmt: skip
    assert tree.max_depth > 2  # a tree, not a star or a chain


def test_curves_leave_caches_at_the_prefix_and_normalise_to_the_smallest() -> None:
    verifier = ModelRunner(tiny(2, 0), greedy, 8)
    drafter = TreeDrafter(tiny(1, 1), profiling._TopK(4))
    verifier.start(18)
    drafter.start(18)
    verify, besides = profiling.verify_curve(
        verifier, prefix=9, sizes=[1, 2, 8], repeats=2, warmup=1, drafter=drafter
    )
    assert besides == {}
    assert drafter.runner.cache.length == 9  # its forwards before each verification are dropped
    drafter.start(18)
    level = profiling.draft_curve(drafter, prefix=9, widths=[1, 4], repeats=2, warmup=0)
    assert [p["n"] for p in verify] == [1, 2, 8] and [p["width"] for p in level] == [1, 4]
    for point in verify + level:
        assert point["prefix"] == 9
        assert point["min_s"] <= point["median_s"] <= point["max_s"]
    assert verify[0]["ratio"] == level[0]["ratio"] == 1.0


def test_a_verification_keeps_a_root_to_leaf_path_in_place_and_rewinds() -> None:
    # the tree verify_curve draws for n = 12 (seed + n)
    tree = profiling.random_tree(12, vocab=48, device=torch.device("cpu"), seed=12)
    path = profiling._deepest_path(tree)
    assert path[-1] == 11 and tree.parents[path[0]] == 0
    assert all(tree.parents[b] == a for a, b in zip(path[:-1], path[1:], strict=True))
    verifier = ModelRunner(tiny(2, 0), greedy, 12)
    verifier.start(30)
    moves = []
    verifier.cache.move = lambda source, target: moves.append((source.tolist(), target.tolist()))
    profiling.verify_curve(verifier, prefix=9, sizes=[12], repeats=1, warmup=0)
    # the path's scattered entries moved behind the root, then the cache rewound to the prefix
    assert moves and moves[0] == ([9, *(9 + n for n in path)], list(range(9, 10 + len(path))))
    assert verifier.cache.length == 9


def test_ar_step_and_draft_phases_are_timed_by_the_decoders_own_code() -> None:
    target, draft = tiny(2, 0), tiny(1, 1)
    verifier = ModelRunner(target, greedy, 8)
    verifier.start(18)
    decoder = ARDecoder(target)
    beside = {"ar": profiling.ar_step_call(decoder, prefix=9, steps=4)}
    verify, besides = profiling.verify_curve(
        verifier, prefix=9, sizes=[1, 4], repeats=3, warmup=1, beside=beside
    )
    # timed in t(n)'s rounds, by AR's own clock (its decode phase per step, no prefill)
    assert [p["n"] for p in verify] == [1, 4] and len(besides["ar"]) == 3
    stats = decoder.generate(profiling._random_ids(9, 48, torch.device("cpu"), 0), 5).stats
    assert stats.iterations == 4 and stats.verify_time_s > 0
    step = profiling.ar_step_point(besides["ar"], prefix=9, steps=4)
    assert (step["prefix"], step["steps"]) == (9 + 2, 4)  # the steps' mean cache length
    assert 0 < step["min_s"] <= step["median_s"] <= step["max_s"]
    shapes = [(1, 3), (2, 2), (3, 1)]
    verifier, drafter = ModelRunner(target, greedy, 8), TreeDrafter(draft, profiling._TopK(8))
    verifier.start(18)
    drafter.start(18)
    phases = profiling.draft_phase_curve(verifier, drafter, 9, shapes, repeats=2, warmup=1)
    drawn = {(p["branching"], p["depth"]): (p["rounds"], p["nodes"]) for p in phases}
    # the catch-up of the root first, then one forward per expanded level
    assert drawn == {(1, 3): ([1, 1, 1], 3), (2, 2): ([1, 2], 6), (3, 1): ([1], 3)}
    assert all(p["prefix"] == 9 and p["min_s"] <= p["median_s"] for p in phases)
    assert profiling.shape_nodes(2, 3) == 14


def fake_profile() -> dict:  # type: ignore[type-arg]
    """t(n) = prefix/1000 + n/100 at n = 1, 2, 4; g(w) = 1 + w (prefix-independent)."""
    verify = [
        {"n": n, "prefix": prefix, "median_s": prefix / 1000 + n / 100}
        for prefix in (100, 300)
        for n in (1, 2, 4)
    ]
    draft = [{"width": w, "prefix": 100, "median_s": 1.0 + w} for w in (1, 2, 4)]
    return {"schema": SCHEMA, "verify": verify, "draft_level": draft, "device": "cpu"}


def test_every_timed_call_follows_an_untimed_call_of_its_size() -> None:
    """A small size timed right after the largest would pay for the caches it evicted."""
    log: list[int] = []
    calls = {size: (lambda size=size: log.append(size)) for size in (1, 8, 64)}
    times = profiling._round_robin(calls, torch.device("cpu"), repeats=3, warmup=1, desc="t")
    assert {size: len(t) for size, t in times.items()} == {1: 3, 8: 3, 64: 3}
    assert len(log) == 2 * 3 * (3 + 1)
    assert all(log[i] == log[i + 1] for i in range(0, len(log), 2))


def test_a_call_that_times_itself_is_recorded_at_its_own_seconds() -> None:
    """AR's step is its decoder's decode phase, not the whole call (prefill included)."""
    calls = {"own": lambda: 0.25, "outside": lambda: None}
    times = profiling._round_robin(calls, torch.device("cpu"), repeats=2, warmup=1, desc="t")
    assert times["own"] == [0.25, 0.25] and all(0 < t < 0.25 for t in times["outside"])


def test_a_timed_call_can_follow_what_the_decoder_runs_before_it() -> None:
    """A draft phase is timed right after a verification, as in decoding (``before``)."""
    log: list[str] = []
    calls = {size: (lambda size=size: log.append(f"phase{size}")) for size in (1, 2)}
    before = {size: (lambda size=size: log.append(f"verify{size}")) for size in (1, 2)}
    profiling._round_robin(calls, torch.device("cpu"), repeats=2, warmup=0, desc="d", before=before)
    assert all(log[i] == log[i + 1].replace("phase", "verify") for i in range(0, len(log), 2))
    assert len(log) == 2 * 2 * 2


def test_cost_profile_interpolates_between_and_beyond_measurements() -> None:
    cost = CostProfile(fake_profile())
    assert cost.verify_s(2, 100) == pytest.approx(0.12)
    assert cost.verify_s(3, 100) == pytest.approx(0.13)  # linear in n
    assert cost.verify_s(2, 200) == pytest.approx(0.22)  # linear in the prefix
    assert cost.verify_s(2, 50) == cost.verify_s(2, 100)  # prefix clamped below
    assert cost.verify_s(2, 900) == cost.verify_s(2, 300)  # and above
    assert cost.verify_s(8, 100) == pytest.approx(0.14 * 8 / 4)  # proportional beyond
    assert cost.draft_level_s(3, 500) == pytest.approx(4.0)
    assert (cost.prefix_lengths, cost.max_tree, cost.device) == ([100, 300], 4, "cpu")
    with pytest.raises(ValueError):
        cost.verify_s(0, 100)


def test_compiled_profile_prices_a_size_at_its_bucket() -> None:
    doc = fake_profile()
    doc["compile"] = {"regime": "compiled", "mode": "reduce-overhead", "buckets": [1, 2, 4]}
    cost = CostProfile(doc)
    assert cost.regime == "compiled" and CostProfile(fake_profile()).regime == "eager"
    assert cost.verify_s(3, 100) == cost.verify_s(4, 100) == pytest.approx(0.14)
    assert cost.draft_level_s(3, 100) == pytest.approx(5.0)


def test_cost_profile_refuses_other_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="schema"):
        CostProfile({"schema": "dynatree.bench/1"})
    with pytest.raises(UsageError, match="malformed"):
        CostProfile({"schema": SCHEMA, "verify": [{"n": 1}], "draft_level": []})
    with pytest.raises(UsageError, match="--profile"):
        CostProfile.from_file(str(tmp_path / "missing.json"))
