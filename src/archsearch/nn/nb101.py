"""The NAS-Bench-101 cell ("module") and network (Ying et al., ICML 2019, "NAS-Bench-101: Towards
Reproducible Neural Architecture Search"), ported from the reference TensorFlow code
(google-research/nasbench ``lib/model_builder.py`` and ``lib/base_ops.py``).

Settings (paper defaults): CIFAR-10 input (3x32x32, 10 classes); stem conv3x3-BN-ReLU with 128 channels;
3 stacks of 3 cells; before stacks 2 and 3 a 2x2 max-pool (stride 2) halves the resolution and the
channels double (128, 256, 512); global average pooling; a dense layer with bias.
Ops are conv-BN-ReLU (conv without bias, BatchNorm with scale and shift, eps 1e-5, momentum 0.997 in
TF = 0.003 in PyTorch) or a 3x3 max-pool (stride 1, same padding), so the parameter counts equal the
dataset's ``trainable_parameters`` (e.g. 2,694,282 for the README's Inception-like cell).

Inside a cell (pruned matrix over V vertices): the output's channels are split among the vertices
feeding it (``compute_vertex_channels``); other vertices take the largest width of their successors.
A vertex sums its inputs: earlier vertices truncated to its width, the cell input through a 1x1
conv-BN-ReLU projection. The output concatenates the vertices feeding it, plus a projection of the
input when the input feeds the output directly (or is its only input).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

BN_EPSILON = 1e-5
BN_MOMENTUM = 1.0 - 0.997  # TF's decay 0.997 as a PyTorch momentum


class ConvBNReLU(nn.Module):
    """``base_ops.conv_bn_relu``: Conv2d (same padding, no bias) -> BatchNorm2d -> ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=BN_EPSILON, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C_in, H, W) -> (B, C_out, H, W)
        return self.relu(self.bn(self.conv(x)))


def vertex_op(op: str, channels: int) -> nn.Module:
    """The op of an interior vertex at ``channels`` (its input has that width already)."""
    if op == "conv3x3-bn-relu":
        return ConvBNReLU(channels, channels, 3)
    if op == "conv1x1-bn-relu":
        return ConvBNReLU(channels, channels, 1)
    if op == "maxpool3x3":
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"unknown NB101 op {op!r}")


def compute_vertex_channels(input_channels: int, output_channels: int,
                            matrix: Sequence[Sequence[int]]) -> list[int]:
    """``model_builder.compute_vertex_channels`` for a pruned matrix: the width of every vertex."""
    vertices = len(matrix)
    channels = [0] * vertices
    channels[0], channels[-1] = input_channels, output_channels
    if vertices == 2:  # input wired straight to output
        return channels
    out = vertices - 1
    fan_in = sum(matrix[v][out] for v in range(1, out))
    interior, correction = divmod(output_channels, fan_in)
    for v in range(1, out):  # vertices feeding the output share its channels, the first ones get the remainder
        if matrix[v][out]:
            channels[v] = interior + (1 if correction > 0 else 0)
            correction -= 1 if correction > 0 else 0
    for v in range(vertices - 3, 0, -1):  # the others: the widest of their successors, going backwards
        if not matrix[v][out]:
            channels[v] = max([channels[d] for d in range(v + 1, out) if matrix[v][d]], default=0)
    if min(channels[1:out]) < 1:
        raise ValueError(f"{output_channels} output channels cannot be split among {fan_in} vertices")
    return channels


class NB101Cell(nn.Module):
    """One NB101 module from a pruned ``matrix`` (V x V) and the V-2 interior ``ops``."""

    def __init__(self, matrix: Sequence[Sequence[int]], ops: Sequence[str], c_in: int, c_out: int) -> None:
        super().__init__()
        self.matrix = tuple(tuple(int(x) for x in row) for row in matrix)
        vertices = len(self.matrix)
        if len(ops) != vertices - 2:
            raise ValueError(f"an NB101 cell on {vertices} vertices needs {vertices - 2} ops, got {len(ops)}")
        self.vertex_channels = compute_vertex_channels(c_in, c_out, self.matrix)
        interior = range(1, vertices - 1)
        self.projections = nn.ModuleDict({str(t): ConvBNReLU(c_in, self.vertex_channels[t], 1)
                                          for t in interior if self.matrix[0][t]})
        self.ops = nn.ModuleList(vertex_op(ops[t - 1], self.vertex_channels[t]) for t in interior)
        feeds_output = self.matrix[0][-1] or not any(self.matrix[t][-1] for t in interior)
        self.output_projection = ConvBNReLU(c_in, c_out, 1) if feeds_output else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C_in, H, W) -> (B, C_out, H, W)
        out = len(self.matrix) - 1
        tensors = [x]
        concat: list[torch.Tensor] = []
        for t in range(1, out):
            width = self.vertex_channels[t]
            terms = [tensors[s][:, :width] for s in range(1, t) if self.matrix[s][t]]
            if self.matrix[0][t]:
                terms.append(self.projections[str(t)](x))
            total = terms[0]
            for term in terms[1:]:
                total = total + term
            tensors.append(self.ops[t - 1](total))  # (B, width, H, W)
            if self.matrix[t][out]:
                concat.append(tensors[t])
        if not concat:  # only input -> output
            assert self.output_projection is not None
            return self.output_projection(x)
        output = concat[0] if len(concat) == 1 else torch.cat(concat, dim=1)
        if self.output_projection is not None:
            output = output + self.output_projection(x)
        return output


class NB101Network(nn.Module):
    """The NB101 network: stem, stacks of cells with max-pool downsampling and channel doubling, head."""

    def __init__(self, matrix: Sequence[Sequence[int]], ops: Sequence[str], *, stem_channels: int = 128,
                 num_stacks: int = 3, cells_per_stack: int = 3, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        if min(stem_channels, num_stacks, num_classes, in_channels) < 1 or cells_per_stack < 0:
            raise ValueError("stem_channels, num_stacks, num_classes and in_channels must be >= 1, "
                             "cells_per_stack >= 0")
        self.stem = ConvBNReLU(in_channels, stem_channels, 3)
        layers: list[nn.Module] = []
        channels = stem_channels
        for stack in range(num_stacks):
            width = channels
            if stack > 0:  # TF max_pooling2d(2, 2, 'same') = ceil(H/2): ceil_mode
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
                width = channels * 2
            for _ in range(cells_per_stack):
                layers.append(NB101Cell(matrix, ops, channels, width))
                channels = width
        self.cells = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, in_channels, H, W) -> (B, stem, H, W) -> (B, stem * 2^(stacks-1), H / 2^(stacks-1), ...)
        features = self.cells(self.stem(x))
        # -> (B, C) -> (B, num_classes)
        return self.classifier(features.mean(dim=(2, 3)))
