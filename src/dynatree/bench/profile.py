"""Measure what verification and drafting cost on this device: the cost profile (issue 10).

t(n): the target verifies a tree of n tokens (root included; n = 1 is an AR step) through
:func:`dynatree.decoding.speculative.score_tree`, then :func:`dynatree.decoding.kv.keep_entries`
rolls the cache back, exactly as the decoder does per iteration (mask build, forward, greedy
tokens to the host, cache gather), over a cache holding ``prefix`` tokens. Under eager attention
with a dense additive mask the cost depends on the number of tree tokens, not on the tree's
shape, so one shape serves: a random recursive tree (each node's parent uniform among the earlier
nodes), whose depth grows like log n as drafted trees do.
g(w): the draft feeds one tree level of w nodes through :meth:`TreeDrafter.feed_level` (forward
under the tree mask, top-k, host transfer), exactly as ``draft_tree`` does per level.
s(prefix): AR's own cached one-token step, timed by :class:`ARDecoder`'s clock (its decode phase
over :data:`AR_STEPS` steps, per step). AR is not a tree of one token: its step skips the tree
mask and the cache roll-back that t(1) pays (about 13 % of t(1) on the embedded pair's CPU), so
pricing AR as t(1) inflated every predicted speedup alike.
d(shape): a whole draft phase as the decoder runs it between two verifications (the draft
cache's roll-back, the catch-up forward, every level's candidates, admission and ancestor rows,
and the forwards), for trees of fixed branching and depth, right after a verification as in
decoding. What it costs beyond the forwards that g prices (warm) is the phase's work around
them: host-side bookkeeping and the caches the verification left cold (issue 22: the tree
methods' draft phases cost 1.05-1.42 times their forwards' price);
:class:`dynatree.decoding.cost.CostProfile` fits it per phase, round and drafted node.

Sizes are measured round-robin (every size once per repeat), so a slow spell of a shared machine
hits all sizes alike; the statistic is the median over repeats after warm-up rounds. Each timed
call follows an untimed call of the same size: a decoder repeats calls of similar sizes (level
after level, iteration after iteration), whereas a small call timed right after a 257-token one
runs on caches that call evicted and came out up to twice as dear on CPU. CUDA calls are timed
with events, CPU calls with ``perf_counter`` (the decoders' :class:`Clock`).
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from typing import Any

import torch
from tqdm import tqdm

from dynatree.decoding.ar import ARDecoder
from dynatree.decoding.base import Clock
from dynatree.decoding.cost import SCHEMA, CostProfile
from dynatree.decoding.drafting import ThresholdPolicy, TreeDrafter
from dynatree.decoding.kv import cache_length, keep_entries
from dynatree.decoding.speculative import score_tree
from dynatree.decoding.tree import TokenTree
from dynatree.models.locate import config_positions

#: top-k the draft computes per level (the paper's widest branching, B_max = 3)
DRAFT_TOP_K = 3
#: AR steps per timed AR call (the step's median over a stretch of decoding, as AR runs it)
AR_STEPS = 16
#: (branching, depth) of the draft phases timed for d(shape): chains as linear drafts, and
#: bushier trees; shapes with more nodes than the profile's largest tree are left out
DRAFT_SHAPES = ((1, 2), (1, 4), (1, 8), (2, 2), (2, 4), (2, 5), (3, 2), (3, 3), (3, 4))
TREE_SHAPE = "random recursive tree (parent of node i uniform in 0..i-1), breadth-first"


def sizes_up_to(max_size: int) -> list[int]:
    """1, 2, 4, ... below ``max_size``, then ``max_size`` itself."""
    sizes = []
    size = 1
    while size < max_size:
        sizes.append(size)
        size *= 2
    return [*sizes, max_size]


def random_tree(
    n: int, vocab: int, device: torch.device, seed: int, root_position: int = 0
) -> TokenTree:
    """A random recursive tree of ``n`` tokens (root included), built level by level."""
    gen = torch.Generator().manual_seed(seed)
    parents = [-1] + [int(torch.randint(0, i, (1,), generator=gen)) for i in range(1, n)]
    depths = [0] * n
    for i in range(1, n):
        depths[i] = depths[parents[i]] + 1
    tokens = torch.randint(0, vocab, (n,), generator=gen).tolist()
    tree = TokenTree.with_root(tokens[0], n - 1, device, root_position)
    index = {0: 0}  # original node → breadth-first index in the tree
    for depth in range(1, max(depths) + 1):
        level = [i for i in range(n) if depths[i] == depth]
        new = tree.add_level(
            [index[parents[i]] for i in level], [tokens[i] for i in level], [0.5] * len(level)
        )
        index.update(zip(level, new, strict=True))
    return tree


class _TopK(ThresholdPolicy):
    """The only policy field :meth:`TreeDrafter.feed_level` reads is ``max_branching``."""

    max_branching = DRAFT_TOP_K

    def __init__(self, max_nodes: int) -> None:
        self.max_nodes = max_nodes

    def branching(self, confidence: float) -> int:
        return DRAFT_TOP_K

    def expandable(self, depth: int, prob: float) -> bool:
        return True


class _Shape(ThresholdPolicy):
    """Every node above ``depth`` gets ``branching`` children: a complete tree (a chain at 1)."""

    max_branching = DRAFT_TOP_K

    def __init__(self, branching: int, depth: int) -> None:
        self.children, self.depth = branching, depth
        self.max_nodes = shape_nodes(branching, depth)

    def branching(self, confidence: float) -> int:
        return self.children

    def expandable(self, depth: int, prob: float) -> bool:
        return depth < self.depth


def shape_nodes(branching: int, depth: int) -> int:
    """Drafted nodes (root excluded) of a complete tree of this branching and depth."""
    return sum(branching**level for level in range(1, depth + 1))


def _timed(clock: Clock, call: Callable[[], None]) -> float:
    """Seconds one call takes, by the decoders' own clock (CUDA events on a GPU)."""
    clock.start()
    call()
    clock.lap("call")
    return clock.totals()["call"]


def _round_robin(
    calls: dict[Any, Callable[[], None]],
    device: torch.device,
    repeats: int,
    warmup: int,
    desc: str,
    before: dict[Any, Callable[[], None]] | None = None,
) -> dict[Any, list[float]]:
    """Time every call ``repeats`` times, one of each per round, after ``warmup`` rounds.

    Each round visits the sizes in a fresh (seeded) order, and each timed call comes right after
    an untimed one: of the same size, so no size is charged for the caches the previous size
    left cold (module docstring), or ``before[size]``, what the decoder runs just before it.
    """
    clock = Clock(device)
    times: dict[Any, list[float]] = {size: [] for size in calls}
    order = random.Random(0)
    for round_ in tqdm(range(warmup + repeats), desc=desc, unit="round", leave=False):
        sizes = list(calls)
        order.shuffle(sizes)
        for size in sizes:
            call = calls[size]
            (before or calls)[size]()  # the caches as the timed call finds them (docstring)
            seconds = _timed(clock, call)
            if round_ >= warmup:
                times[size].append(seconds)
    return times


def _points(times: dict[int, list[float]], size_key: str, prefix: int) -> list[dict[str, Any]]:
    """One record per size: median, min, max and the ratio to the smallest size's median."""
    base = statistics.median(times[min(times)])
    return [
        {
            size_key: size,
            "prefix": prefix,
            "median_s": statistics.median(seconds),
            "min_s": min(seconds),
            "max_s": max(seconds),
            "ratio": statistics.median(seconds) / base,
        }
        for size, seconds in sorted(times.items())
    ]


def _random_ids(length: int, vocab: int, device: torch.device, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (1, length), generator=gen).to(device)


@torch.inference_mode()
def verify_curve(
    target: Any, prefix: int, sizes: list[int], repeats: int, warmup: int, seed: int = 0
) -> list[dict[str, Any]]:
    """t(n) for every n in ``sizes`` over a target cache of ``prefix`` random tokens."""
    param = next(target.parameters())
    device, dtype = param.device, param.dtype
    vocab = target.get_input_embeddings().weight.shape[0]
    cache = target(input_ids=_random_ids(prefix, vocab, device, seed), use_cache=True)
    cache = cache.past_key_values
    nothing = torch.empty(0, dtype=torch.long, device=device)

    def verify(tree: TokenTree) -> Callable[[], None]:
        def call() -> None:
            score_tree(target, cache, tree, dtype)
            keep_entries(cache, prefix, nothing)

        return call

    calls = {
        n: verify(random_tree(n, vocab, device, seed + n, root_position=prefix)) for n in sizes
    }
    times = _round_robin(calls, device, repeats, warmup, f"verify t(n), prefix {prefix}")
    if cache_length(cache) != prefix:
        raise RuntimeError("the target cache was not rolled back to the prefix")
    return _points(times, "n", prefix)


@torch.inference_mode()
def draft_curve(
    draft: Any, prefix: int, widths: list[int], repeats: int, warmup: int, seed: int = 0
) -> list[dict[str, Any]]:
    """g(w) for every w in ``widths``: one level of w children of the root, after ``prefix``
    cached tokens (the last one is the root), as the first level of ``draft_tree``."""
    device = next(draft.parameters()).device
    vocab = draft.get_input_embeddings().weight.shape[0]
    ids = _random_ids(prefix, vocab, device, seed)
    drafter = TreeDrafter(draft, _TopK(max(widths)))
    drafter.prefill(ids)
    root = int(ids[0, -1])

    def level(width: int) -> Callable[[], None]:
        tree = TokenTree.with_root(root, width, device, root_position=prefix - 1)
        tokens = _random_ids(width, vocab, device, seed + width)[0].tolist()
        nodes = tree.add_level([0] * width, tokens, [0.5] * width)

        def call() -> None:
            drafter.feed_level(tree, nodes)
            drafter.commit([])  # drop the level again: the cache stays at the prefix

        return call

    calls = {w: level(w) for w in widths}
    times = _round_robin(calls, device, repeats, warmup, f"draft g(w), prefix {prefix}")
    if cache_length(drafter.cache) != prefix:
        raise RuntimeError("the draft cache was not rolled back to the prefix")
    return _points(times, "width", prefix)


@torch.inference_mode()
def ar_step_curve(
    target: Any, prefix: int, steps: int, repeats: int, warmup: int, seed: int = 0
) -> dict[str, Any]:
    """s(prefix): AR's one-token step over a cache of about ``prefix`` tokens, by AR's own code.

    Each round decodes ``steps`` tokens after a prefill of ``prefix`` random tokens with
    :class:`ARDecoder` and takes its decode phase (its clock: ``verify``) per step; the point's
    prefix is the mean cache length of those steps.
    """
    param = next(target.parameters())
    vocab = target.get_input_embeddings().weight.shape[0]
    ids = _random_ids(prefix, vocab, param.device, seed)
    decoder = ARDecoder(target)
    seconds = []
    rounds = tqdm(range(warmup + repeats), desc=f"AR s, prefix {prefix}", unit="round", leave=False)
    for round_ in rounds:
        stats = decoder.generate(ids, steps + 1).stats
        if round_ >= warmup:
            seconds.append(stats.verify_time_s / stats.iterations)
    return {
        "prefix": prefix + steps // 2,
        "steps": steps,
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
    }


@torch.inference_mode()
@torch.inference_mode()
def draft_phase_curve(
    target: Any,
    draft: Any,
    prefix: int,
    shapes: list[tuple[int, int]],
    repeats: int,
    warmup: int,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """d(shape) for every (branching, depth) in ``shapes``: one whole draft phase after ``prefix``
    cached tokens, as the decoder runs it between verifications.

    A phase rolls the draft cache back (the decoder's ``commit`` after a verification; here to
    one token before the root, so the next phase catches the root up again) and calls
    ``draft_tree``; it is timed right after an untimed target verification of a tree of its
    size, as in decoding, whose forward leaves the draft's weights and cache cold (measured on
    the embedded pair's CPU: a phase after a verification takes 20-30 % longer than the same
    phase repeated). Each point records the widths of the draft forwards it ran (``rounds``, the
    catch-up first), which g prices warm; the rest is what the phase pays around them.
    """
    device = next(draft.parameters()).device
    vocab = draft.get_input_embeddings().weight.shape[0]
    ids = _random_ids(prefix, vocab, device, seed)
    committed = ids[0].tolist()
    nothing = torch.empty(0, dtype=torch.long, device=device)
    target_cache = target(input_ids=ids, use_cache=True).past_key_values
    dtype = next(target.parameters()).dtype
    drawn: dict[tuple[int, int], tuple[list[int], int]] = {}  # shape → (rounds, nodes)

    def phase(shape: tuple[int, int]) -> Callable[[], None]:
        drafter = TreeDrafter(draft, _Shape(*shape))
        drafter.prefill(ids[:, :-1])

        def call() -> None:
            keep_entries(drafter.cache, prefix - 1, nothing)
            drafter.cached, drafter.fed = prefix - 1, []
            tree = drafter.draft_tree(committed, max_depth=shape[1])
            drawn[shape] = (tree.draft_widths, len(tree) - 1)

        return call

    def verification(shape: tuple[int, int]) -> Callable[[], None]:
        tree = random_tree(shape_nodes(*shape) + 1, vocab, device, seed, root_position=prefix)

        def call() -> None:
            score_tree(target, target_cache, tree, dtype)
            keep_entries(target_cache, prefix, nothing)

        return call

    calls = {shape: phase(shape) for shape in shapes}
    before = {shape: verification(shape) for shape in shapes}
    for call in calls.values():
        call()  # records each shape's rounds even with no timed round
    desc = f"draft phase d, prefix {prefix}"
    times = _round_robin(calls, device, repeats, warmup, desc, before)
    return [
        {
            "branching": shape[0],
            "depth": shape[1],
            "prefix": prefix,
            "rounds": drawn[shape][0],
            "nodes": drawn[shape][1],
            "median_s": statistics.median(seconds),
            "min_s": min(seconds),
            "max_s": max(seconds),
        }
        for shape, seconds in times.items()
    ]


def measure(
    target: Any,
    draft: Any,
    prefix_lengths: list[int],
    max_tree: int,
    repeats: int,
    warmup: int,
) -> dict[str, Any]:
    """The measured part of a cost profile: settings, ``verify``, ``draft_level``, ``ar_step``
    and ``draft_phase`` curves."""
    sizes = sizes_up_to(max_tree)
    shapes = [s for s in DRAFT_SHAPES if shape_nodes(*s) < max_tree] or [(1, 1)]
    steps = min(AR_STEPS, max_tree)
    verify: list[dict[str, Any]] = []
    draft_level: list[dict[str, Any]] = []
    ar_step: list[dict[str, Any]] = []
    draft_phase: list[dict[str, Any]] = []
    for prefix in prefix_lengths:
        verify += verify_curve(target, prefix, sizes, repeats, warmup)
        draft_level += draft_curve(draft, prefix, sizes, repeats, warmup)
        ar_step.append(ar_step_curve(target, prefix, steps, repeats, warmup))
        draft_phase += draft_phase_curve(target, draft, prefix, shapes, repeats, warmup)
    return {
        "settings": {
            "max_tree": max_tree,
            "sizes": sizes,
            "prefix_lengths": list(prefix_lengths),
            "repeats": repeats,
            "warmup": warmup,
            "statistic": "median",
            "tree_shape": TREE_SHAPE,
            "draft_top_k": DRAFT_TOP_K,
            "ar_steps": steps,
            "draft_shapes": [list(s) for s in shapes],
        },
        "verify": verify,
        "draft_level": draft_level,
        "ar_step": ar_step,
        "draft_phase": draft_phase,
    }


def in_process_profile(target: Any, draft: Any, max_tree: int) -> CostProfile:
    """A quick profile of the loaded pair, for a cost-aware decoder given no profile file.

    Two prefixes (short and long, within the models' position tables) and three repeats: enough
    to price trees when a user runs the decoder by hand; the pipeline measures a full profile
    once per machine instead (rule ``profile``).
    """
    positions = min(_positions(target), _positions(draft))
    max_tree = max(1, min(max_tree, positions - 2))
    prefixes = [p for p in (16, 256) if p + max_tree < positions] or [positions - max_tree - 1]
    measured = measure(target, draft, prefixes, max_tree, repeats=3, warmup=1)
    device = next(target.parameters()).device
    return CostProfile(
        {"schema": SCHEMA, "device": device.type, "threads": torch.get_num_threads(), **measured},
        "<measured in-process>",
    )


def _positions(model: Any) -> int:
    """Rows of the model's position table (a large number for rotary models without one)."""
    return config_positions(model.config.to_dict()) or 1 << 20
