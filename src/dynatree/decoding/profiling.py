"""Measure what verification and drafting cost on this device: the cost profile (issue 10).

t(n): the target verifies a tree of n tokens (root included; n = 1 is an AR step) through
:func:`dynatree.decoding.speculative.score_tree`, then keeps the root and one root-to-leaf path, as
the decoder does per iteration (mask build, forward, greedy tokens to the host, the accepted entries
moved into place), over a cache holding ``prefix`` tokens, right after a draft forward (the draft
phase comes between two verifications). Both models run through the decoders' runners in the
profiled regime (``--compile``; decoding.regime), on caches as large as a decoder's: compiled, a
call costs what its bucket costs, and the buckets are compiled before anything is timed. Under eager
attention with a dense additive mask the cost depends on the number of tree tokens, not on the
tree's shape, so one shape serves: a random recursive tree (each node's parent uniform among the
earlier nodes), whose depth grows like log n as drafted trees do.
g(w): the draft feeds one tree level of w nodes through :meth:`TreeDrafter.feed_level` (forward
under the tree mask, top-k, host transfer), exactly as ``draft_tree`` does per level.
s(prefix): AR's own cached one-token step, timed by :class:`ARDecoder`'s clock (its decode phase
over :data:`AR_STEPS` steps, per step). AR is not a tree of one token: its step skips the tree
mask and the cache roll-back that t(1) pays (about 13 % of t(1) on the embedded pair's CPU), so
pricing AR as t(1) inflated every predicted speedup alike. It is timed in t(n)'s rounds, one
call more per round, so a slow spell of the machine hits it as it hits the verifications: every
predicted speedup divides by it. (Its 16-step calls still price AR 5-15 % above the AR the
benchmarks time over a whole decode: docs/measurements.md, issue 22.)
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
runs on caches that call evicted and came out up to twice as dear on CPU. What the decoder runs
in between is replayed too: a draft forward before each timed verification, a verification
before each timed draft phase. CUDA calls are timed
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
from dynatree.decoding.regime import EAGER, Regime, sizes_up_to
from dynatree.decoding.runner import ModelRunner, greedy
from dynatree.decoding.speculative import score_tree
from dynatree.decoding.tree import TokenTree
from dynatree.locate import config_positions

#: top-k the draft computes per level (the paper's widest branching, B_max = 3)
DRAFT_TOP_K = 3
#: AR steps per timed AR call (the step's median over a stretch of decoding, as AR runs it)
AR_STEPS = 16
#: (branching, depth) of the draft phases timed for d(shape): chains as linear drafts, and
#: bushier trees; shapes with more nodes than the profile's largest tree are left out
DRAFT_SHAPES = ((1, 2), (1, 4), (1, 8), (2, 2), (2, 4), (2, 5), (3, 2), (3, 3), (3, 4))
TREE_SHAPE = "random recursive tree (parent of node i uniform in 0..i-1), breadth-first"


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


#: A profiled call: returns None to be timed from outside, or the seconds it timed itself (a
#: decoder's own clock around the part of the call that is priced).
Call = Callable[[], float | None]


def _timed(clock: Clock, call: Call) -> float:
    """Seconds one call takes, by the decoders' own clock (CUDA events on a GPU), or what it
    timed itself."""
    clock.start()
    own = call()
    clock.lap("call")
    return clock.totals()["call"] if own is None else own


def _round_robin(
    calls: dict[Any, Call],
    device: torch.device,
    repeats: int,
    warmup: int,
    desc: str,
    before: dict[Any, Call] | None = None,
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


def _deepest_path(tree: TokenTree) -> list[int]:
    """The nodes from the root's child to the tree's last node: the path a verification keeps."""
    path, node = [], len(tree) - 1
    while node > 0:
        path.append(node)
        node = tree.parents[node]
    return path[::-1]


@torch.inference_mode()
def verify_curve(
    verifier: ModelRunner,
    prefix: int,
    sizes: list[int],
    repeats: int,
    warmup: int,
    seed: int = 0,
    drafter: TreeDrafter | None = None,
    beside: dict[str, Call] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    """t(n) for every n in ``sizes`` over a target cache of ``prefix`` random tokens, and the
    times of the ``beside`` calls, timed in the same rounds (AR's step: module docstring).

    A verification keeps the root and one root-to-leaf path (its entries moved into place, as
    an accepted path's are), then the cache is rewound to the prefix. With ``drafter``, each
    timed verification follows a draft forward, as in decoding, where the draft phase runs
    between two verifications and leaves the target's weights partly evicted (measured on the
    embedded pair's CPU: verifications timed warm were priced 6-19 % below what the decoders'
    verify phase took).
    """
    vocab = verifier.model.get_input_embeddings().weight.shape[0]
    device = verifier.device
    ids = _random_ids(prefix, vocab, device, seed)[0].tolist()
    verifier.prefill(ids)

    def verify(tree: TokenTree) -> Callable[[], None]:
        kept = [0, *_deepest_path(tree)]

        def call() -> None:
            score_tree(verifier, tree)
            verifier.keep(kept)
            verifier.rewind(prefix)

        return call

    calls = {
        n: verify(random_tree(n, vocab, device, seed + n, root_position=prefix)) for n in sizes
    }
    before: dict[Any, Call] = dict(calls)
    if drafter is not None:
        drafter.prefill(ids)
        drafting = _draft_forward(drafter, ids[-1], prefix)
        before = {n: _then(call, drafting) for n, call in calls.items()}
    extra = beside or {}
    times = _round_robin(
        {**calls, **extra},
        device,
        repeats,
        warmup,
        f"verify t(n), prefix {prefix}",
        {**before, **extra},
    )
    if verifier.cache.length != prefix:
        raise RuntimeError("the target cache was not rolled back to the prefix")
    besides = {key: times.pop(key) for key in extra}
    return _points(times, "n", prefix), besides


def _draft_forward(drafter: TreeDrafter, token: int, position: int) -> Callable[[], None]:
    """One draft forward of one token after the draft's cache, dropped again (the cache keeps
    its length): the last thing a draft phase runs before the verification."""
    allowed = torch.ones(1, 1, dtype=torch.bool, device=drafter.device)

    def call() -> None:
        drafter.runner.forward([token], [position], allowed)
        drafter.runner.keep([])

    return call


def _then(first: Callable[[], None], second: Callable[[], None]) -> Callable[[], None]:
    def call() -> None:
        first()
        second()

    return call


@torch.inference_mode()
def draft_curve(
    drafter: TreeDrafter, prefix: int, widths: list[int], repeats: int, warmup: int, seed: int = 0
) -> list[dict[str, Any]]:
    """g(w) for every w in ``widths``: one level of w children of the root, after ``prefix``
    cached tokens (the last one is the root), as the first level of ``draft_tree``."""
    device = drafter.device
    vocab = drafter.runner.model.get_input_embeddings().weight.shape[0]
    ids = _random_ids(prefix, vocab, device, seed)
    drafter.prefill(ids[0].tolist())
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
    if drafter.runner.cache.length != prefix:
        raise RuntimeError("the draft cache was not rolled back to the prefix")
    return _points(times, "width", prefix)


def ar_step_call(decoder: ARDecoder, prefix: int, steps: int, seed: int = 0) -> Call:
    """One call of s(prefix): ``decoder`` (in the profiled regime) decodes ``steps`` tokens after
    a prefill of ``prefix`` random tokens and returns its decode phase (its clock: ``verify``)
    per step, the prefill left out."""
    target = decoder.target
    vocab = target.get_input_embeddings().weight.shape[0]
    ids = _random_ids(prefix, vocab, next(target.parameters()).device, seed)

    def call() -> float:
        stats = decoder.generate(ids, steps + 1).stats
        return stats.verify_time_s / stats.iterations

    return call


def ar_step_point(seconds: list[float], prefix: int, steps: int) -> dict[str, Any]:
    """The s(prefix) record of ``steps``-step AR calls after ``prefix`` tokens: its prefix is the
    mean cache length of the steps."""
    return {
        "prefix": prefix + steps // 2,
        "steps": steps,
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
    }


@torch.inference_mode()
def draft_phase_curve(
    verifier: ModelRunner,
    drafter: TreeDrafter,
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
    catch-up first), which g prices warm; the rest is what the phase pays around them. The
    runners are the ones the curves above use (sized for the largest tree; compiled once).
    """
    device = drafter.device
    vocab = drafter.runner.model.get_input_embeddings().weight.shape[0]
    committed = _random_ids(prefix, vocab, device, seed)[0].tolist()
    verifier.prefill(committed)
    if prefix > 1:  # the root (the last committed token) is caught up by each phase
        drafter.prefill(committed[:-1])
    sizing = drafter.policy
    drawn: dict[tuple[int, int], tuple[list[int], int]] = {}  # shape → (rounds, nodes)

    def phase(shape: tuple[int, int]) -> Callable[[], None]:
        policy = _Shape(*shape)

        def call() -> None:
            drafter.commit([])
            drafter.runner.rewind(prefix - 1)
            drafter.cached = prefix - 1
            drafter.policy = policy
            tree = drafter.draft_tree(committed, max_depth=shape[1])
            drawn[shape] = (tree.draft_widths, len(tree) - 1)

        return call

    def verification(shape: tuple[int, int]) -> Callable[[], None]:
        tree = random_tree(shape_nodes(*shape) + 1, vocab, device, seed, root_position=prefix)

        def call() -> None:
            score_tree(verifier, tree)
            verifier.keep([])

        return call

    calls = {shape: phase(shape) for shape in shapes}
    before = {shape: verification(shape) for shape in shapes}
    for call in calls.values():
        call()  # records each shape's rounds even with no timed round
    desc = f"draft phase d, prefix {prefix}"
    times = _round_robin(calls, device, repeats, warmup, desc, before)
    drafter.commit([])
    drafter.policy = sizing
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
    regime: Regime = EAGER,
) -> dict[str, Any]:
    """The measured part of a cost profile: settings, the regime and its compile time, and
    the ``verify``, ``draft_level``, ``ar_step`` and ``draft_phase`` curves.

    The runners are sized for the deepest prefix plus a tree, as a decoder's are for its
    longest prompt plus T (with CUDA graphs, attention spans the whole cache).
    """
    sizes = sizes_up_to(max_tree)
    shapes = [s for s in DRAFT_SHAPES if shape_nodes(*s) < max_tree] or [(1, 1)]
    steps = min(AR_STEPS, max_tree)
    verifier = ModelRunner(target, greedy, max_tree, regime)
    drafter = TreeDrafter(draft, _TopK(max_tree), regime)
    ar = ARDecoder(target, regime=regime)
    committed = max(prefix_lengths) + 1
    compile_s = verifier.warm_up(committed) + drafter.runner.warm_up(committed)
    compile_s += ar.runner.warm_up(max(prefix_lengths) + steps + 1) if ar.own is None else 0.0
    verify: list[dict[str, Any]] = []
    draft_level: list[dict[str, Any]] = []
    ar_step: list[dict[str, Any]] = []
    draft_phase: list[dict[str, Any]] = []
    for prefix in prefix_lengths:
        verifier.start(committed)
        drafter.start(committed)
        beside = {"ar": ar_step_call(ar, prefix, steps)}
        points, besides = verify_curve(
            verifier, prefix, sizes, repeats, warmup, drafter=drafter, beside=beside
        )
        verify += points
        ar_step.append(ar_step_point(besides["ar"], prefix, steps))
        drafter.start(committed)
        draft_level += draft_curve(drafter, prefix, sizes, repeats, warmup)
        verifier.start(committed)
        drafter.start(committed)
        draft_phase += draft_phase_curve(verifier, drafter, prefix, shapes, repeats, warmup)
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
        "compile": {**regime.describe(), "buckets": verifier.buckets, "compile_s": compile_s},
        "verify": verify,
        "draft_level": draft_level,
        "ar_step": ar_step,
        "draft_phase": draft_phase,
    }


def in_process_profile(
    target: Any, draft: Any, max_tree: int, regime: Regime = EAGER
) -> CostProfile:
    """A quick profile of the loaded pair, for a cost-aware decoder given no profile file.

    Two prefixes (short and long, within the models' position tables) and three repeats: enough
    to price trees when a user runs the decoder by hand; the pipeline measures a full profile
    once per machine instead (rule ``profile``).
    """
    positions = min(_positions(target), _positions(draft))
    max_tree = max(1, min(max_tree, positions - 2))
    prefixes = [p for p in (16, 256) if p + max_tree < positions] or [positions - max_tree - 1]
    measured = measure(target, draft, prefixes, max_tree, repeats=3, warmup=1, regime=regime)
    device = next(target.parameters()).device
    return CostProfile(
        {"schema": SCHEMA, "device": device.type, "threads": torch.get_num_threads(), **measured},
        "<measured in-process>",
    )


def _positions(model: Any) -> int:
    """Rows of the model's position table (a large number for rotary models without one)."""
    return config_positions(model.config.to_dict()) or 1 << 20
