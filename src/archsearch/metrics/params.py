"""Parameter count of a network, as NAS papers and benchmarks report it (e.g. NAS-Bench-201,
Dong & Yang, ICLR 2020: 1.531546 M for the all-``nor_conv_3x3`` cell at C=16, N=5)."""

from __future__ import annotations

from torch import nn


def count_parameters(model: nn.Module) -> int:
    """Elements of every parameter, trainable or frozen (``requires_grad`` is ignored); buffers are not
    counted (BatchNorm running statistics are state, not parameters). A parameter shared between modules
    counts once."""
    return sum(parameter.numel() for parameter in model.parameters())
