"""The draft → verify → accept loop shared by every tree method (linear, fixed tree, DynaTree...).

Per iteration: the drafter grows a tree under the method's :class:`ExpansionPolicy`; the target
scores every node in ONE forward (explicit positions = prefix length + depth, additive tree
mask); the longest path matching the target's greedy choices is committed with one bonus token;
the target cache keeps only the accepted path's entries. The state after each iteration equals
that of sequential greedy decoding, so the output is token-identical to AR. Both models run
through a :class:`~dynatree.decoding.runner.ModelRunner` in the decoder's regime (eager or
compiled), on static caches.
"""

from __future__ import annotations

from typing import Any

import torch

from dynatree.decoding.base import Clock, DecodeOutput, Decoder, DecodeStats
from dynatree.decoding.drafting import ExpansionPolicy, TreeDrafter
from dynatree.decoding.regime import EAGER, Regime
from dynatree.decoding.runner import ModelRunner, greedy, host_rows
from dynatree.decoding.support import check_models
from dynatree.decoding.tree import TokenTree


class SpeculativeDecoder(Decoder):
    """Tree speculative decoding with a pluggable expansion policy (a chain is a linear draft)."""

    def __init__(
        self, target: Any, draft: Any, policy: ExpansionPolicy, regime: Regime = EAGER
    ) -> None:
        # no decoder exists for a pair it would decode wrongly (dynatree.decoding.support)
        check_models(target, draft, policy.max_branching)
        self.target = target
        self.draft = draft
        self.policy = policy
        # the root plus at most max_nodes drafted nodes per verification
        self.verifier = ModelRunner(target, greedy, policy.max_nodes + 1, regime)
        self.drafter = TreeDrafter(draft, policy, regime)
        self.runners = {"target": self.verifier, "draft": self.drafter.runner}
        self.device = self.verifier.device
        self.clock = Clock(self.device)

    @torch.inference_mode()
    def generate(
        self, input_ids: torch.Tensor, max_new_tokens: int, eos_token_id: int | None = None
    ) -> DecodeOutput:
        stats = DecodeStats()
        self.policy.start()
        drafter, verifier = self.drafter, self.verifier
        prompt = input_ids[0].tolist()
        verifier.start(len(prompt) + max_new_tokens)
        drafter.start(len(prompt) + max_new_tokens)
        clock = self.clock
        clock.start()
        new: list[int] = verifier.prefill(prompt)
        clock.lap("ttft")
        committed = prompt + new
        drafter.prefill(prompt)

        while len(new) < max_new_tokens and new[-1] != eos_token_id:
            # one bonus token follows every accepted path: deeper nodes could never be committed
            tree = drafter.draft_tree(committed, max_depth=max_new_tokens - len(new) - 1)
            clock.lap("draft")  # since the last verification: commit, bookkeeping, drafting

            choices = score_tree(verifier, tree)
            path = tree.accept(choices)
            verifier.keep([0, *path])
            clock.lap("verify")

            drafter.commit(path)
            step = [tree.tokens[i] for i in path] + [choices[path[-1] if path else 0]]
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


def score_tree(verifier: ModelRunner, tree: TokenTree) -> list[int]:
    """The target's greedy token after every node, from ONE forward over the whole tree.

    Positions are the root's position + depth and the mask lets each node see the cached
    prefix and its own ancestors, so each row equals sequential decoding along its path. The
    cost profile (``dynatree.decoding.profiling``) times exactly this call.
    """
    n = len(tree)
    out = verifier.forward(tree.tokens, tree.positions(), tree.ancestors[:n, :n])
    return host_rows(out, n)


def _truncate(step: list[int], room: int, eos_token_id: int | None) -> list[int]:
    """Cut an iteration's tokens at the length limit and right after an EOS."""
    step = step[:room]
    if eos_token_id is not None and eos_token_id in step:
        step = step[: step.index(eos_token_id) + 1]
    return step
