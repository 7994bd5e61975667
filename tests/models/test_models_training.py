"""The one-pass distillation loss trains the draft exactly as KL-to-target plus cross-entropy."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dynatree.models.settings import EmbeddedSettings
from dynatree.models.training import distill_loss


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.8, 1.0])
def test_distill_loss_has_the_kl_plus_ce_gradient(alpha: float) -> None:
    torch.manual_seed(0)
    draft = torch.randn(2, 5, 11, requires_grad=True)
    target = torch.randn(2, 5, 11, dtype=torch.float64)
    labels = torch.randint(0, 11, (2, 5))
    settings = EmbeddedSettings(distill_alpha=alpha)

    (fast,) = torch.autograd.grad(distill_loss(draft, target, labels, settings), draft)
    logp = F.log_softmax(draft.reshape(-1, 11), dim=-1)
    target_logp = F.log_softmax(target.reshape(-1, 11), dim=-1)
    kl = F.kl_div(logp, target_logp, log_target=True, reduction="batchmean")
    reference = alpha * kl + (1 - alpha) * F.nll_loss(logp, labels.reshape(-1))
    (slow,) = torch.autograd.grad(reference, draft)
    torch.testing.assert_close(fast, slow)
