"""Multiply-adds (MACs) of one forward pass, counted by PyTorch's ``torch.utils.flop_counter.FlopCounterMode``
on a real forward pass (so any module the network calls is seen, not only those a hook knows).

The counter reports FLOPs = 2 x MACs for matrix multiplications and convolutions (and attention); it does not
count element-wise work (BatchNorm, activations, pooling, additions). Halving it gives multiply-adds, the
"FLOPs" convention of NAS papers: NAS-Bench-201 (Dong & Yang, ICLR 2020) counts the MACs of Conv2d and
Linear layers (plus the Linear bias additions), e.g. 220.11969 M for the all-``nor_conv_3x3`` cell on
CIFAR-10 at C=16, N=5 — this function gives 220.11968 M (the 10 bias additions apart).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from archsearch.metrics._runtime import dummy_input, evaluating


def count_flops(model: nn.Module, input_shape: Sequence[int], device: torch.device | str | None = None) -> int:
    """Multiply-adds of ``model`` on ONE input of ``input_shape`` (no batch axis, e.g. ``(3, 32, 32)``).

    Runs one forward pass in eval mode under ``no_grad`` on ``device`` (default: where the model is);
    the model's train/eval flags and device are restored afterwards.
    """
    with evaluating(model, device) as used:
        x = dummy_input(input_shape, batch_size=1, device=used)
        with FlopCounterMode(display=False) as counter:
            model(x)
    return int(counter.get_total_flops()) // 2
