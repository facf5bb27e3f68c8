"""The NAS-Bench-201 cell and network (Dong & Yang, ICLR 2020, "NAS-Bench-201: Extending the Scope of
Reproducible Neural Architecture Search"), as in the reference implementation (D-X-Y/AutoDL-Projects,
``xautodl/models/cell_infers/tiny_network.py`` ``TinyNetwork`` and ``cells.py`` ``InferCell``).

Settings (paper defaults): ``channels`` C = 16, ``cells_per_stage`` N = 5, CIFAR-10 (10 classes, 3x32x32).

- stem: Conv2d 3x3 (in_channels -> C, bias=False) + BatchNorm2d
- stage 1: N cells at C; ResNetBasicBlock (C -> 2C, stride 2); stage 2: N cells at 2C;
  ResNetBasicBlock (2C -> 4C, stride 2); stage 3: N cells at 4C
- head: BatchNorm2d + ReLU, global average pooling, Linear(4C -> num_classes)

The one-shot :class:`NB201Supernet` (below) has a mixed op on every edge.

Each cell is a DAG of 4 nodes; node j = sum over i < j of op_{i,j}(node i); node 3 is the output.
Every edge op is instantiated (``none`` included, it has no parameters) so parameter counts match the
benchmark's at the defaults (1.531546 M when every edge is ``nor_conv_3x3``, 0.073306 M when every
edge is ``none``; counts include the stem, the reductions, BatchNorm affine weights and the classifier).
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from archsearch.core.arch import Arch
from archsearch.nn.mixed import MixedOp, Paths, Supernet, op_key_rewrite
from archsearch.nn.ops import NB201_OPS, ResNetBasicBlock, Zero
from archsearch.nn.topology import EDGE_DIMS, EDGES, NUM_NODES
from archsearch.nn.topology import NB201_OP_NAMES as OPS


def _edge_key(i: int, j: int) -> str:
    return f"edge_{i}_{j}"


class NB201Cell(nn.Module):
    """One NB201 cell at a fixed width: every edge maps ``channels`` -> ``channels`` at stride 1."""

    def __init__(self, edge_ops: Mapping[tuple[int, int], str], channels: int) -> None:
        super().__init__()
        missing = [edge for edge in EDGES if edge not in edge_ops]
        if missing:
            raise ValueError(f"NB201 cell needs an op on every edge; missing {missing}")
        unknown = sorted({op for op in edge_ops.values() if op not in NB201_OPS})
        if unknown:
            raise ValueError(f"unknown NB201 op(s) {unknown}; ops are {', '.join(NB201_OPS)}")
        self.edge_ops = {edge: edge_ops[edge] for edge in EDGES}
        # Edges in the NB201 string order (node 1's inputs, then node 2's, then node 3's), as the reference.
        self.edges = nn.ModuleDict(
            {_edge_key(i, j): NB201_OPS[edge_ops[(i, j)]](channels, channels, 1) for i, j in EDGES}
        )
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C, H, W) -> (B, C, H, W)
        nodes = [x]
        for j in range(1, NUM_NODES):
            nodes.append(self._node(j, nodes))
        return nodes[-1]

    def _node(self, j: int, nodes: list[torch.Tensor]) -> torch.Tensor:
        """Sum of the incoming edges of node j; ``none`` edges (exact zeros) are skipped."""
        total: torch.Tensor | None = None
        for i in range(j):
            op = self.edges[_edge_key(i, j)]
            if isinstance(op, Zero):
                continue
            out = op(nodes[i])
            total = out if total is None else total + out
        return total if total is not None else nodes[0].mul(0.0)


class NB201Network(nn.Module):
    """The NB201 network ("infer.tiny"): stem, 3 stages of cells joined by residual reductions, head."""

    def __init__(self, edge_ops: Mapping[tuple[int, int], str], *, channels: int = 16, cells_per_stage: int = 5,
                 num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        if channels < 1 or cells_per_stage < 0 or num_classes < 1 or in_channels < 1:
            raise ValueError("channels, num_classes and in_channels must be >= 1 and cells_per_stage >= 0")
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        self.cells = nn.ModuleList(_body(edge_ops, channels, cells_per_stage))
        width = 4 * channels
        self.lastact = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, in_channels, H, W) -> (B, C, H, W)
        feature = self.stem(x)
        # -> (B, 4C, H/4, W/4)
        for cell in self.cells:
            feature = cell(feature)
        # -> (B, 4C, 1, 1) -> (B, 4C)
        pooled = self.global_pooling(self.lastact(feature)).flatten(1)
        # -> (B, num_classes)
        return self.classifier(pooled)


def _body(edge_ops: Mapping[tuple[int, int], str], channels: int, cells_per_stage: int) -> list[nn.Module]:
    """Stages of ``cells_per_stage`` cells at C, 2C, 4C with a stride-2 ResNetBasicBlock between stages."""
    layers: list[nn.Module] = []
    for stage in range(3):
        width = channels * 2**stage
        if stage > 0:
            layers.append(ResNetBasicBlock(width // 2, width, stride=2))
        layers.extend(NB201Cell(edge_ops, width) for _ in range(cells_per_stage))
    return layers


# -- the one-shot supernet (every op on every edge; Dong & Yang's NB201 weight-sharing baselines) -----
class NB201SupernetCell(nn.Module):
    """An NB201 cell with a :class:`MixedOp` on each edge; the choice key of an edge is its dim name."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleDict({
            _edge_key(i, j): MixedOp({name: NB201_OPS[name](channels, channels, 1) for name in OPS})
            for i, j in EDGES
        })

    def forward(self, x: torch.Tensor, paths: Paths) -> torch.Tensor:
        # (B, C, H, W) -> (B, C, H, W)
        nodes = [x]
        for j in range(1, NUM_NODES):
            edges = [(i, self.edges[key], paths[key]) for i in range(j) if (key := _edge_key(i, j)) in paths]
            terms = [edge(nodes[i], choice) for i, edge, choice in edges if not edge.is_zero(choice)]
            nodes.append(_sum(terms) if terms else nodes[0].mul(0.0))  # as NB201Cell: none edges skipped
        return nodes[-1]


class NB201Supernet(Supernet):
    """The NB201 network with supernet cells: one logit vector (5 ops) per edge, shared by all cells."""

    def __init__(self, *, channels: int = 16, cells_per_stage: int = 5, num_classes: int = 10,
                 in_channels: int = 3) -> None:
        super().__init__()
        self.net_options = {"channels": channels, "cells_per_stage": cells_per_stage, "num_classes": num_classes,
                            "in_channels": in_channels}
        self.choices = {_edge_key(i, j): OPS for i, j in EDGES}
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, kernel_size=3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels))
        self.cells = nn.ModuleList()
        for stage in range(3):
            width = channels * 2**stage
            if stage > 0:
                self.cells.append(ResNetBasicBlock(width // 2, width, stride=2))
            self.cells.extend(NB201SupernetCell(width) for _ in range(cells_per_stage))
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * channels), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4 * channels, num_classes)

    def forward(self, x: torch.Tensor, paths: Paths | Arch) -> torch.Tensor:
        # (B, in_channels, H, W) -> (B, C, H, W) -> ... -> (B, 4C, H/4, W/4) -> (B, num_classes)
        paths = self.resolve(paths)
        feature = self.stem(x)
        for cell in self.cells:
            feature = cell(feature, paths) if isinstance(cell, NB201SupernetCell) else cell(feature)
        return self.classifier(self.global_pooling(self.lastact(feature)).flatten(1))

    def paths_of(self, arch: Arch) -> dict[str, int]:
        return {key: OPS.index(arch[key]) for key in self.choices}

    def derive(self, logits: Mapping[str, torch.Tensor]) -> Arch:
        """The strongest op of every edge, ``none`` included (NB201's DARTS/GDAS ``genotype()``)."""
        return Arch({key: OPS[int(logits[key].argmax())] for key in EDGE_DIMS})

    def standalone_key(self, arch: Arch, key: str) -> str | None:
        return op_key_rewrite(key, ".ops.", {name: arch[name] for name in EDGE_DIMS})


def _sum(terms: list[torch.Tensor]) -> torch.Tensor:
    """Left-to-right sum (the stand-alone cells' order, so one-hot paths give the very same floats)."""
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total
