"""Measured latency of a forward pass: median wall-clock milliseconds over repeated timed runs after a
warm-up (eval mode, ``no_grad``, ``time.perf_counter``, CUDA synchronised around each run), the
protocol of hardware-aware NAS papers that measure rather than model latency (e.g. MnasNet, Tan et al.,
CVPR 2019; the latencies of NAS-Bench-201, Dong & Yang, ICLR 2020)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

import torch
from torch import nn

from archsearch.core.errors import UserError
from archsearch.metrics._runtime import dummy_input, evaluating


def measure_latency(model: nn.Module, input_shape: Sequence[int], *, batch_size: int = 1, warmup: int = 3,
                    repeats: int = 10, device: torch.device | str | None = None) -> float:
    """Median milliseconds per forward pass of a batch of ``batch_size`` inputs of ``input_shape``.

    ``warmup`` untimed passes come first; the model's train/eval flags and device are restored afterwards.
    """
    if batch_size < 1 or warmup < 0 or repeats < 1:
        raise UserError(f"latency needs batch_size >= 1, warmup >= 0 and repeats >= 1; "
                        f"got {batch_size}, {warmup}, {repeats}")
    with evaluating(model, device) as used:
        x = dummy_input(input_shape, batch_size=batch_size, device=used)
        for _ in range(warmup):
            model(x)
        times = [_timed_pass(model, x, used) for _ in range(repeats)]
    return statistics.median(times)


def _timed_pass(model: nn.Module, x: torch.Tensor, device: torch.device) -> float:
    """Milliseconds of one forward pass (waits for queued CUDA work before starting and before stopping)."""
    _synchronize(device)
    start = time.perf_counter()
    model(x)
    _synchronize(device)
    return (time.perf_counter() - start) * 1000.0


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
