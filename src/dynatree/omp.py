"""OpenMP threads that sleep when idle, so a busy machine slows torch in proportion, not 10-50x.

With spinning waits (libgomp's default, and ``OMP_WAIT_POLICY=ACTIVE``) each of torch's threads
burns its core between parallel regions; when another process wants one of those cores, every
region waits for the thread that was descheduled, and a training step or a decoded token takes
many times longer than the lost core share explains (``benchmarks/busy_machine.py`` measures
it). The variable is read once, when torch starts its OpenMP runtime, so this must run before
``import torch``.
"""

from __future__ import annotations

import os


def wait_passively() -> None:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless the user chose a policy."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
