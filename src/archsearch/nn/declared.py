"""Networks of declared spaces (:mod:`archsearch.spaces.declared`), made of the project's named primitives.

- :func:`make_op` builds an op by name, ``(c_in, c_out, stride)``: NB201's (``none``, ``skip_connect``,
  ``nor_conv_1x1``, ``nor_conv_3x3``, ``avg_pool_3x3``; :mod:`archsearch.nn.ops`), DARTS's separable and
  dilated convs and max pooling (:mod:`archsearch.nn.darts`; a channel change puts a 1x1 ReLUConvBN before the
  pool, as NB201's pooling) and MBConv (``mbconv_k5_e6_se_hs``; :mod:`archsearch.nn.mobile`).
- :class:`ChainNetwork`: stem (conv3x3, BN, ReLU) -> one op per planned layer -> BN, ReLU, global average
  pooling, dropout, linear.
- :class:`CellNetwork`: NB201's network (Dong & Yang, ICLR 2020; :class:`archsearch.nn.cells.NB201Network`)
  with a cell of any number of nodes: stem, ``stages`` stages of ``cells_per_stage`` cells joined by
  ``ResNetBasicBlock`` reductions (channels double), BN + ReLU, pooling, dropout, linear. Module names are
  NB201's, so a 4-node cell over NB201's ops has the NB201 network's parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from archsearch.nn.darts import DARTS_OPS
from archsearch.nn.mobile import MBConv, BlockSpec, conv_bn
from archsearch.nn.ops import NB201_OPS, ReLUConvBN, ResNetBasicBlock, Zero
from archsearch.nn.topology import MBCONV, canonical_op


def make_op(name: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    """The named primitive mapping ``(B, c_in, H, W)`` to ``(B, c_out, ceil(H / stride), ceil(W / stride))``."""
    op = canonical_op(name)
    if op is None:
        raise ValueError(f"unknown op {name!r}")
    if op in NB201_OPS:  # NB201's ops handle a change of channels themselves
        return NB201_OPS[op](c_in, c_out, stride)
    if op == "max_pool_3x3":
        pool = DARTS_OPS[op](c_out, c_out, stride)
        return pool if c_in == c_out else nn.Sequential(ReLUConvBN(c_in, c_out, 1, 1, 0), pool)
    if op in DARTS_OPS:  # separable and dilated convs
        return DARTS_OPS[op](c_in, c_out, stride)
    match = MBCONV.match(op)
    assert match is not None  # canonical_op accepted it
    return MBConv(BlockSpec(int(match["expansion"]), int(match["kernel"]), stride, match["se"] is not None,
                            "hswish" if match["hs"] else "relu", c_in, c_out))


def _head(channels: int, num_classes: int, dropout: float) -> dict[str, nn.Module]:
    return {"lastact": nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=False)),
            "global_pooling": nn.AdaptiveAvgPool2d(1), "dropout": nn.Dropout(dropout),
            "classifier": nn.Linear(channels, num_classes)}


class ChainNetwork(nn.Module):
    """Stem -> layers (each ``make_op(op, c_in, c_out, stride)``) -> head."""

    def __init__(self, plan: Sequence[Any], *, in_channels: int = 3, num_classes: int = 10, stem_channels: int = 16,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if not plan or plan[0].c_in != stem_channels or any(a.c_out != b.c_in for a, b in zip(plan, plan[1:])):
            raise ValueError("a chain network needs layers that chain from the stem's channels")
        self.stem = conv_bn(in_channels, stem_channels, 3, 1, act="relu")
        self.layers = nn.Sequential(*(make_op(p.op, p.c_in, p.c_out, p.stride) for p in plan))
        for name, module in _head(plan[-1].c_out, num_classes, dropout).items():
            self.add_module(name, module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, in_channels, H, W) -> (B, stem, H, W) -> (B, C_last, H', W') -> (B, C_last) -> (B, num_classes)
        feature = self.layers(self.stem(x))
        pooled = self.global_pooling(self.lastact(feature)).flatten(1)
        return self.classifier(self.dropout(pooled))


class DeclaredCell(nn.Module):
    """A cell DAG of ``nodes`` nodes at a fixed width: node j sums ``op_ij(node i)`` over i < j."""

    def __init__(self, edge_ops: Mapping[tuple[int, int], str], nodes: int, channels: int) -> None:
        super().__init__()
        self.nodes = nodes
        self.edges = nn.ModuleDict({f"edge_{i}_{j}": make_op(edge_ops[(i, j)], channels, channels, 1)
                                    for j in range(1, nodes) for i in range(j)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C, H, W) -> (B, C, H, W)
        states = [x]
        for j in range(1, self.nodes):
            total: torch.Tensor | None = None
            for i in range(j):
                op = self.edges[f"edge_{i}_{j}"]
                if isinstance(op, Zero):  # exact zeros: skipped, as NB201's cell
                    continue
                out = op(states[i])
                total = out if total is None else total + out
            states.append(total if total is not None else x.mul(0.0))
        return states[-1]


class CellNetwork(nn.Module):
    """NB201's network around a :class:`DeclaredCell`."""

    def __init__(self, edge_ops: Mapping[tuple[int, int], str], *, nodes: int = 4, channels: int = 16,
                 cells_per_stage: int = 2, stages: int = 3, num_classes: int = 10, in_channels: int = 3,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if min(nodes - 1, channels, cells_per_stage, stages, num_classes, in_channels) < 1:
            raise ValueError("a cell network needs nodes >= 2 and positive channels, cells, stages and classes")
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, kernel_size=3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels))
        cells: list[nn.Module] = []
        for stage in range(stages):
            width = channels * 2**stage
            if stage > 0:
                cells.append(ResNetBasicBlock(width // 2, width, stride=2))
            cells.extend(DeclaredCell(edge_ops, nodes, width) for _ in range(cells_per_stage))
        self.cells = nn.ModuleList(cells)
        for name, module in _head(channels * 2 ** (stages - 1), num_classes, dropout).items():
            self.add_module(name, module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, in_channels, H, W) -> (B, C, H, W) -> ... -> (B, C * 2^(stages-1), H', W') -> (B, num_classes)
        feature = self.stem(x)
        for cell in self.cells:
            feature = cell(feature)
        pooled = self.global_pooling(self.lastact(feature)).flatten(1)
        return self.classifier(self.dropout(pooled))
