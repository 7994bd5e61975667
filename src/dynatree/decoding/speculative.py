"""The draft → verify → accept loop shared by linear, fixed-tree and DynaTree decoding.

Per iteration: the drafter grows a tree under the method's :class:`ExpansionPolicy`; the target
scores every node in ONE forward (explicit positions = prefix length + depth, additive tree
mask); the longest path matching the target's greedy choices is committed with one bonus token;
the target cache keeps only the accepted path's entries. The state after each iteration equals
that of sequential greedy decoding, so the output is token-identical to AR. Trees are never
deeper than the tokens still to generate minus the bonus, so no drafted token is wasted at the end
and no position goes past the last one AR reaches.
"""

from __future__ import annotations

from typing import Any

import torch

from dynatree.decoding.base import Clock, DecodeOutput, Decoder, DecodeStats
from dynatree.decoding.drafting import ExpansionPolicy, TreeDrafter
from dynatree.decoding.kv import cache_length, keep_entries
from dynatree.decoding.tree import additive_mask


class SpeculativeDecoder(Decoder):
    """Tree speculative decoding with a pluggable expansion policy (a chain is a linear draft)."""

    def __init__(self, target: Any, draft: Any, policy: ExpansionPolicy) -> None:
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
        start = self.clock.now()
        out = self.target(input_ids=input_ids, use_cache=True)
        cache = out.past_key_values
        new: list[int] = [int(out.logits[0, -1].argmax())]
        stats.ttft_s = self.clock.now() - start
        committed = input_ids[0].tolist() + new

        mark = self.clock.now()
        drafter.prefill(input_ids)
        stats.draft_time_s += self.clock.now() - mark

        while len(new) < max_new_tokens and new[-1] != eos_token_id:
            mark = self.clock.now()
            # one bonus token follows every accepted path: deeper nodes could never be committed
            tree = drafter.draft_tree(committed, max_depth=max_new_tokens - len(new) - 1)
            drafted = self.clock.now()
            stats.draft_time_s += drafted - mark

            prefix = cache_length(cache)
            n = len(tree)
            logits = self.target(
                input_ids=tree.token_tensor(),
                position_ids=tree.position_ids(),
                attention_mask=additive_mask(tree.ancestors[:n, :n], prefix, self.dtype),
                past_key_values=cache,
                use_cache=True,
            ).logits[0]
            greedy = logits.argmax(-1).tolist()
            path = tree.accept(greedy)
            keep_entries(cache, prefix, torch.tensor([0, *path], device=self.device))
            verified = self.clock.now()
            stats.verify_time_s += verified - drafted

            drafter.commit(path)
            stats.draft_time_s += self.clock.now() - verified

            step = [tree.tokens[i] for i in path] + [greedy[path[-1] if path else 0]]
            step = _truncate(step, max_new_tokens - len(new), eos_token_id)
            new += step
            committed += step
            stats.iterations += 1
            stats.drafted_tokens += n - 1
            stats.drafted_depth += tree.max_depth
            accepted = min(len(path), len(step))
            stats.accepted_tokens += accepted
            stats.accepted_lengths.append(accepted)
            stats.verify_sizes.append(n)
            stats.draft_widths.append(tree.draft_widths)
            self.policy.observe(tree, path)
        return DecodeOutput(tokens=new, stats=stats)


def _truncate(step: list[int], room: int, eos_token_id: int | None) -> list[int]:
    """Cut an iteration's tokens at the length limit and right after an EOS."""
    step = step[:room]
    if eos_token_id is not None and eos_token_id in step:
        step = step[: step.index(eos_token_id) + 1]
    return step
