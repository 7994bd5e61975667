"""The draft → verify → accept loop shared by every tree method (linear, fixed tree, DynaTree...).

Per iteration: the drafter grows a tree under the method's :class:`ExpansionPolicy`; the target
scores every node in ONE forward (explicit positions = prefix length + depth, additive tree
mask); the longest path matching the target's greedy choices is committed with one bonus token;
the target cache keeps only the accepted path's entries. The state after each iteration equals
that of sequential greedy decoding, so the output is token-identical to AR.
"""

from __future__ import annotations

from typing import Any

import torch

from dynatree.decoding.base import Clock, DecodeOutput, Decoder, DecodeStats
from dynatree.decoding.drafting import ExpansionPolicy, TreeDrafter
from dynatree.decoding.kv import cache_length, keep_entries
from dynatree.decoding.support import check_models
from dynatree.decoding.tree import TokenTree, additive_mask


class SpeculativeDecoder(Decoder):
    """Tree speculative decoding with a pluggable expansion policy (a chain is a linear draft)."""

    def __init__(self, target: Any, draft: Any, policy: ExpansionPolicy) -> None:
        # no decoder exists for a pair it would decode wrongly (dynatree.decoding.support)
        check_models(target, draft, policy.max_branching)
        self.target = target
        self.draft = draft
        self.policy = policy
        first = next(target.parameters())
        self.device, self.dtype = first.device, first.dtype
        self.clock = Clock(self.device)

    @torch.inference_mode()
    def generate(
        self, input_ids: torch.Tensor, max_new_tokens: int, eos_token_id: int | None = None
    ) -> DecodeOutput:
        stats = DecodeStats()
        self.policy.start()
        drafter = TreeDrafter(self.draft, self.policy)
        clock = self.clock
        clock.start()
        out = self.target(input_ids=input_ids, use_cache=True)
        cache = out.past_key_values
        new: list[int] = [int(out.logits[0, -1].argmax())]
        clock.lap("ttft")
        committed = input_ids[0].tolist() + new
        drafter.prefill(input_ids)

        while len(new) < max_new_tokens and new[-1] != eos_token_id:
            # one bonus token follows every accepted path: deeper nodes could never be committed
            tree = drafter.draft_tree(committed, max_depth=max_new_tokens - len(new) - 1)
            clock.lap("draft")  # since the last verification: commit, bookkeeping, drafting

            prefix = cache_length(cache)
            greedy = score_tree(self.target, cache, tree, self.dtype)
            path = tree.accept(greedy)
            keep_entries(cache, prefix, torch.tensor([0, *path], device=self.device))
            clock.lap("verify")

            drafter.commit(path)
            step = [tree.tokens[i] for i in path] + [greedy[path[-1] if path else 0]]
            step = _truncate(step, max_new_tokens - len(new), eos_token_id)
            new += step
            committed += step
            stats.iterations += 1
            stats.drafted_tokens += len(tree) - 1
            stats.drafted_depth += tree.max_depth
            accepted = min(len(path), len(step))
            stats.accepted_tokens += accepted
            stats.accepted_lengths.append(accepted)
            stats.verify_sizes.append(len(tree))
            stats.draft_widths.append(tree.draft_widths)
            self.policy.observe(tree, path)
        stats.set_phase_times(clock.totals())
        return DecodeOutput(tokens=new, stats=stats)


def score_tree(target: Any, cache: Any, tree: TokenTree, dtype: torch.dtype) -> list[int]:
    """The target's greedy token after every node, from ONE forward over the whole tree.

    Positions are the root's position + depth and the additive mask lets each node see the cached
    prefix and its own ancestors, so each row equals sequential decoding along its path. The
    cost profile (``dynatree.bench.profile``) times exactly this call.
    """
    n = len(tree)
    logits = target(
        input_ids=tree.token_tensor(),
        position_ids=tree.position_ids(),
        attention_mask=additive_mask(tree.ancestors[:n, :n], cache_length(cache), dtype),
        past_key_values=cache,
        use_cache=True,
    ).logits[0]
    return logits.argmax(-1).tolist()


def _truncate(step: list[int], room: int, eos_token_id: int | None) -> list[int]:
    """Cut an iteration's tokens at the length limit and right after an EOS."""
    step = step[:room]
    if eos_token_id is not None and eos_token_id in step:
        step = step[: step.index(eos_token_id) + 1]
    return step
