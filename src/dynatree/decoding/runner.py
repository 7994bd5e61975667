"""One model, its static KV cache, and its forward over tokens at explicit slots, in one regime.

Every model call a decoder makes goes through :meth:`ModelRunner.forward`: the prompt (prefill),
an AR step, a tree verification, the draft's catch-up and each draft level. A call feeds tokens
at explicit positions, writes their entries at the next free slots after the committed ones
(``decoding.kv``) and lets each token see the committed prefix plus the entries written since
that ``allowed`` names (its tree ancestors and itself), through a 4D additive mask over the
attention window. :meth:`ModelRunner.keep` then commits the entries a decoder accepts, moving
them into place, and forgets the rest.

Compiled (``decoding.regime``), a call runs the compiled head. On a CPU that is the head
compiled ahead of time (``decoding.aot``): one program for one-token calls, one for all larger
ones, the token count and the window symbolic, nothing padded. With bucketed sizes (CUDA
graphs) a call is padded to its bucket: padding tokens repeat the last real token at its
position, are written at slots no real token sees, see only themselves, and their outputs are
dropped, so the real rows are those of the unpadded call. Either way a compiled kernel may
round differently from the eager one (the exactness verdicts diagnose such ties). Attention
spans the written slots (a symbolic size when compiled), or the whole cache with bucketed
shapes. The prefill runs eager in both regimes: it happens once per prompt, at any length.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import torch

from dynatree.decoding.aot import AotHead
from dynatree.decoding.kv import SlotCache
from dynatree.decoding.regime import EAGER, Regime

# A compiled program is made for one cache capacity. Where attention reads only the written
# slots (eager, symbolic window), spare slots cost memory, not time: capacities are powers of two
# of at least MIN_CAPACITY, so the runners of different decoders, prompt sets and jobs share
# programs (and their on-disk caches: every runner of the embedded configs has one capacity),
# and above every window (a symbolic window stays below its capacity). CUDA graphs attend over
# the whole cache: there it is the next multiple of CAPACITY_STEP.
CAPACITY_STEP = 128
MIN_CAPACITY = 1024
# Candidates the draft's head returns per row (see top_k_head).
TOP_K = 8


def capacity_for(need: int, bucketed: bool) -> int:
    """The cache capacity for ``need`` slots (module comment above)."""
    if bucketed:
        return -(-need // CAPACITY_STEP) * CAPACITY_STEP
    return max(MIN_CAPACITY, 1 << need.bit_length())


def _logits(
    model: Any, cache: SlotCache, ids: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    return model(
        input_ids=ids,
        position_ids=positions,
        attention_mask=mask,
        past_key_values=cache,
        use_cache=True,
    ).logits[0]


def greedy(
    model: Any, cache: SlotCache, ids: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """The model's greedy token after every fed token (the target's head)."""
    return _logits(model, cache, ids, positions, mask).argmax(-1)


def top_k(
    model: Any,
    cache: SlotCache,
    ids: torch.Tensor,
    positions: torch.Tensor,
    mask: torch.Tensor,
    k: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` likeliest next tokens after every fed token and their probabilities (the
    draft's head)."""
    logits = _logits(model, cache, ids, positions, mask)
    probs, tokens = torch.softmax(logits.float(), dim=-1).topk(min(k, logits.shape[-1]), dim=-1)
    return probs, tokens


def compile_head(head: Callable[..., Any], regime: Regime) -> Callable[..., Any]:
    """``head`` compiled for ``regime``'s CUDA graphs: static shapes, one graph per bucket."""
    import torch._dynamo.config as dynamo

    # one graph per bucket of every runner in the process (dynamo gives up after 8 by default)
    dynamo.recompile_limit = max(dynamo.recompile_limit, 64)
    dynamo.accumulated_recompile_limit = max(dynamo.accumulated_recompile_limit, 256)
    return torch.compile(head, mode=regime.mode, dynamic=False, fullgraph=True)


class ModelRunner:
    """Runs one model for a decoder: ``head(model, cache, ids, positions, mask)`` per call.

    ``largest`` is the most tokens one call feeds (the prefill aside); with ``levels``, several
    calls write before the next :meth:`keep`, ``largest`` tokens in all (the draft's levels of
    one tree), else one (a verification): the cache leaves room for them, padding included.
    """

    def __init__(
        self,
        model: Any,
        head: Callable[..., Any],
        largest: int,
        regime: Regime = EAGER,
        levels: bool = False,
    ) -> None:
        self.model = model
        param = next(model.parameters())
        self.device, self.dtype = param.device, param.dtype
        self.regime = regime
        self.largest = largest
        self.buckets = regime.buckets(largest)
        # a call is padded to its bucket, less than twice its size: several calls to less than
        # twice their sum
        self.room = 2 * largest if levels and self.buckets else self.bucket(largest)
        self.head = head
        self.step: Callable[..., Any] = head
        if regime.bucketed:
            self.step = compile_head(head, regime)
        elif regime.compiled:
            self.step = AotHead(head)
        self.cache = SlotCache(0)
        self.written: list[int] = []  # slots of the real entries written since the last keep
        self.end = 0  # first slot after everything written since the last keep (padding too)
        self.warm = 0  # the capacity every shape last ran on (0: never)

    # --- sizes -------------------------------------------------------------------------------
    def bucket(self, size: int) -> int:
        """The padded size of a call of ``size`` tokens (``size`` itself in eager mode)."""
        for bucket in self.buckets:
            if bucket >= size:
                return bucket
        return size

    def start(self, committed: int) -> None:
        """Empty the cache for a prompt whose decoding commits at most ``committed`` tokens.

        The buffers are kept when they are large enough (their addresses stay the same for
        compiled graphs); otherwise they are replaced by larger ones.
        """
        need = committed + self.room
        if self.cache.capacity < need:
            self.cache = SlotCache(capacity_for(need, bool(self.buckets)))
        self.cache.length = 0
        self.written, self.end = [], 0

    # --- calls -------------------------------------------------------------------------------
    def prefill(self, tokens: list[int]) -> Any:
        """Feed a prompt (eager in both regimes) and commit it; the head's last row."""
        n = len(tokens)
        causal = torch.ones(n, n, dtype=torch.bool, device=self.device).tril_()
        out = self.forward(tokens, list(range(n)), causal, eager=True)
        self.keep(list(range(n)))
        return _rows(out, slice(n - 1, n))

    def forward(
        self,
        tokens: list[int],
        positions: list[int],
        allowed: torch.Tensor,
        eager: bool = False,
    ) -> Any:
        """Feed ``tokens`` at ``positions``; the head's output for them (device tensors).

        ``allowed[i, j]`` (bool, on the device): token i sees the j-th real entry written since
        the last :meth:`keep`, counting the earlier calls' entries first, then these tokens.
        """
        q = len(tokens)
        size = q if eager else self.bucket(q)
        cache = self.cache
        if self.end + size > cache.capacity:
            raise RuntimeError(f"KV cache of {cache.capacity} slots is full; call start() first")
        first = self.end
        window = cache.capacity if self.buckets and not eager else first + size
        pad = size - q
        ids = torch.tensor([tokens + tokens[-1:] * pad], dtype=torch.long, device=self.device)
        pos = torch.tensor([positions + positions[-1:] * pad], device=self.device)
        mask = self._mask(q, size, window, first, allowed)
        cache.slots = torch.arange(first, first + size, device=self.device)
        cache.mask = mask
        if eager or not self.regime.compiled:
            out = self.head(self.model, cache, ids, pos, mask)
        else:
            out = self._compiled(ids, pos, mask)
        self.written += range(first, first + q)
        self.end = first + size
        return out

    @torch.inference_mode()
    def _compiled(self, ids: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor) -> Any:
        """The compiled head on one call's inputs (see the module docstring), in inference
        mode as every program was compiled."""
        if self.regime.bucketed:
            torch.compiler.cudagraph_mark_step_begin()  # the last call's outputs are consumed
        return self.step(self.model, self.cache, ids, pos, mask)

    def _mask(
        self, q: int, size: int, window: int, first: int, allowed: torch.Tensor
    ) -> torch.Tensor:
        """``(1, 1, size, window)``: the committed prefix and the ``allowed`` entries for real
        rows; only itself for a padding row; nothing beyond."""
        blocked = torch.finfo(self.dtype).min
        mask = torch.full((size, window), blocked, dtype=self.dtype, device=self.device)
        mask[:q, : self.cache.length] = 0.0
        columns = self.written + list(range(first, first + q))
        if columns and columns[-1] - columns[0] == len(columns) - 1:  # contiguous: a slice
            mask[:q, columns[0] : columns[-1] + 1].masked_fill_(allowed, 0.0)
        else:
            seen = torch.where(allowed, 0.0, blocked).to(self.dtype)
            mask[:q, torch.tensor(columns, device=self.device)] = seen
        if size > q:
            pads = torch.arange(q, size, device=self.device)
            mask[pads, pads + first] = 0.0
        return mask[None, None]

    def keep(self, entries: list[int]) -> None:
        """Commit the real entries written since the last keep at indices ``entries`` (in
        order) right after the committed ones; forget the others."""
        cache = self.cache
        source = [self.written[e] for e in entries]
        target = list(range(cache.length, cache.length + len(source)))
        if source != target:
            cache.move(
                torch.tensor(source, device=self.device), torch.tensor(target, device=self.device)
            )
        cache.length += len(source)
        self.written, self.end = [], cache.length

    def rewind(self, length: int) -> None:
        """Forget everything after the first ``length`` committed entries (the cost profile
        replays one draft phase from the same cache; decoders only ever :meth:`keep`)."""
        if not 0 <= length <= self.cache.length:
            raise ValueError(f"rewind({length}): the cache holds {self.cache.length} entries")
        self.cache.length = length
        self.written, self.end = [], length

    # --- warm-up -----------------------------------------------------------------------------
    @torch.inference_mode()
    def warm_up(self, committed: int) -> float:
        """Run every shape on a dummy prompt (compiling it, in the compiled regime), so nothing
        compiles while a decode is timed; returns the seconds it took (0 when the shapes
        already ran on a cache this large). CUDA graph trees warm a graph up on its first call
        and record it on the second: bucketed shapes run three times (recorded, then replayed).
        """
        started = time.perf_counter()
        self.start(committed)
        if self.warm == self.cache.capacity:
            return 0.0
        self.warm = 0
        self.prefill([0])
        for size in self.regime.shapes(self.largest):
            allowed = torch.ones(size, size, dtype=torch.bool, device=self.device).tril_()
            for _ in range(3 if self.regime.bucketed else 1):
                self.forward([0] * size, [0] * size, allowed)
                self.keep([])
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.warm = self.cache.capacity
        return time.perf_counter() - started


def _rows(out: Any, rows: slice) -> Any:
    """The head's output for ``rows``, on the host (one transfer per tensor)."""
    if isinstance(out, tuple):
        return tuple(t[rows].tolist() for t in out)
    return out[rows].tolist()


def host_rows(out: Any, n: int) -> Any:
    """The head's output for the first ``n`` (real) rows, on the host."""
    return _rows(out, slice(0, n))


def top_k_head(k: int) -> Callable[..., Any]:
    """The draft's head for policies that branch up to ``k`` ways: the top :data:`TOP_K` (or
    ``k``, if more), so that the drafts of every decoder share one compiled graph (a different
    k would be another); the drafter keeps the first ``k`` of each row."""
    return functools.partial(top_k, k=max(k, TOP_K))
