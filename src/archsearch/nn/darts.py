"""The DARTS evaluation network and its primitives (Liu, Simonyan & Yang, ICLR 2019, "DARTS:
Differentiable Architecture Search"; reference code quark0/darts ``operations.py`` and ``model.py``).

:class:`DartsNetwork` is the reference ``NetworkCIFAR``: a 3x3 conv stem with ``3 * C`` channels,
``layers`` cells with reduction cells (stride 2, channels doubled) at ``layers // 3`` and
``2 * layers // 3``, global average pooling and a linear classifier. Each cell preprocesses its two
inputs (``FactorizedReduce`` for the first one when the previous cell reduced, else a 1x1
``ReLUConvBN``), computes 4 nodes as the sum of two ops applied to earlier states, and concatenates
the 4 nodes. Ops on a cell input of a reduction cell have stride 2.

Differences from the reference, none of which changes a parameter count:

- ``forward`` returns the logits alone, except in training mode with ``auxiliary=True``, where it
  returns ``(logits, aux_logits)`` (the reference always returns a pair, ``None`` for no head).
- ``FactorizedReduce`` (from :mod:`archsearch.nn.ops`) pads before its shifted branch, so odd
  feature maps (e.g. 7x7 from 28x28 inputs) work; on even maps it computes the reference function.
- The auxiliary head pools 5x5 with stride 3 as the reference (8x8 -> 2x2 for 32x32 inputs) and
  then adapts to 2x2 when the map has another size, so any input of at least 8x8 works.
- Drop path (training mode, ``drop_path_prob > 0``, never on identity ops, as the reference) draws
  its masks from ``drop_path_generator`` when one is set (a ``torch.Generator`` on the module's device).

:class:`DartsSupernet` is the search network (reference ``model_search.py``) with the same cells' ops.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from archsearch.core.arch import Arch
from archsearch.nn.mixed import MixedOp, Paths, Supernet
from archsearch.nn.ops import FactorizedReduce, OpFactory, ReLUConvBN
from archsearch.nn.topology import DARTS_NODES, dim_name

STEM_MULTIPLIER = 3


class SepConv(nn.Module):
    """Two stacked (ReLU -> depthwise k x k -> pointwise 1x1 -> BN); only the first one strides."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, padding: int) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel_size, stride=stride, padding=padding, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_in, 1, bias=False),
            nn.BatchNorm2d(c_in),
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel_size, stride=1, padding=padding, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C_in, H, W) -> (B, C_out, H/stride, W/stride)
        return self.op(x)


class DilConv(nn.Module):
    """ReLU -> dilated depthwise k x k (dilation 2) -> pointwise 1x1 -> BN."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, padding: int, dilation: int) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel_size, stride=stride, padding=padding, dilation=dilation,
                      groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C_in, H, W) -> (B, C_out, H/stride, W/stride)
        return self.op(x)


class StridedZero(nn.Module):
    """The ``none`` op: zeros shaped like the (strided) input, no parameters."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C, H, W) -> (B, C, H/stride, W/stride), all zeros
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


# name -> factory(C, C, stride); every DARTS op keeps the channel count.
DARTS_OPS: dict[str, OpFactory] = {
    "none": lambda c_in, c_out, stride: StridedZero(stride),
    "max_pool_3x3": lambda c_in, c_out, stride: nn.MaxPool2d(3, stride=stride, padding=1),
    "avg_pool_3x3": lambda c_in, c_out, stride: nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False),
    "skip_connect": lambda c_in, c_out, stride: nn.Identity() if stride == 1 else FactorizedReduce(c_in, c_out, 2),
    "sep_conv_3x3": lambda c_in, c_out, stride: SepConv(c_in, c_out, 3, stride, 1),
    "sep_conv_5x5": lambda c_in, c_out, stride: SepConv(c_in, c_out, 5, stride, 2),
    "dil_conv_3x3": lambda c_in, c_out, stride: DilConv(c_in, c_out, 3, stride, 2, 2),
    "dil_conv_5x5": lambda c_in, c_out, stride: DilConv(c_in, c_out, 5, stride, 4, 2),
}


def drop_path(x: torch.Tensor, drop_prob: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero whole samples with probability ``drop_prob`` and rescale the rest by ``1 / keep``."""
    keep_prob = 1.0 - drop_prob
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep_prob, generator=generator)
    return x / keep_prob * mask


def preprocessors(c_prev_prev: int, c_prev: int, channels: int, reduction_prev: bool) -> tuple[nn.Module, nn.Module]:
    """A cell's input adapters to ``channels``: FactorizedReduce for s0 after a reduction, else 1x1 ReLUConvBN."""
    first = FactorizedReduce(c_prev_prev, channels, 2) if reduction_prev else ReLUConvBN(c_prev_prev, channels, 1, 1, 0)
    return first, ReLUConvBN(c_prev, channels, 1, 1, 0)


class DartsCell(nn.Module):
    """One normal or reduction cell of a genotype: ``edges`` lists (op, input) pairs, two per node."""

    def __init__(self, edges: Sequence[tuple[str, int]], c_prev_prev: int, c_prev: int, channels: int,
                 reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        self.preprocess0, self.preprocess1 = preprocessors(c_prev_prev, c_prev, channels, reduction_prev)
        self.reduction = reduction
        self.indices = tuple(index for _, index in edges)
        self.ops = nn.ModuleList(DARTS_OPS[name](channels, channels, 2 if reduction and index < 2 else 1)
                                 for name, index in edges)
        self.num_nodes = len(edges) // 2
        self.multiplier = self.num_nodes  # the cell output concatenates every node

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0,
                generator: torch.Generator | None = None) -> torch.Tensor:
        # (B, C_pp, H', W'), (B, C_p, H, W) -> (B, multiplier * C, H/stride, W/stride)
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(self.num_nodes):
            total = None
            for k in (2 * node, 2 * node + 1):
                op = self.ops[k]
                h = op(states[self.indices[k]])
                if self.training and drop_prob > 0.0 and not isinstance(op, nn.Identity):
                    h = drop_path(h, drop_prob, generator)
                total = h if total is None else total + h
            states.append(total)
        return torch.cat(states[2:], dim=1)


class AuxiliaryHeadCIFAR(nn.Module):
    """The reference auxiliary classifier, fed from the cell at 2/3 of the depth."""

    def __init__(self, c_in: int, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.Sequential(nn.ReLU(inplace=False), nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False))
        self.features = nn.Sequential(
            nn.Conv2d(c_in, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C, H, W) -> (B, num_classes)
        if x.shape[-2] >= 5 and x.shape[-1] >= 5:
            x = self.pool(x)
        else:
            x = F.relu(x)
        if tuple(x.shape[-2:]) != (2, 2):
            x = F.adaptive_avg_pool2d(x, 2)
        x = self.features(x)
        return self.classifier(x.flatten(1))


class DartsNetwork(nn.Module):
    """NetworkCIFAR of quark0/darts for a genotype given as normal and reduce (op, input) lists.

    ``drop_path_prob`` is a plain attribute (training scripts raise it linearly over epochs).
    ``forward`` returns logits, or ``(logits, aux_logits)`` in training mode when ``auxiliary``.
    """

    def __init__(self, normal: Sequence[tuple[str, int]], reduce: Sequence[tuple[str, int]], *,
                 channels: int = 16, layers: int = 8, auxiliary: bool = False, drop_path_prob: float = 0.0,
                 num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        if layers < 1 or channels < 1:
            raise ValueError(f"DARTS network needs layers >= 1 and channels >= 1, got {layers}, {channels}")
        self.layers, self.auxiliary, self.drop_path_prob = layers, auxiliary, drop_path_prob
        self.drop_path_generator: torch.Generator | None = None
        c_curr = STEM_MULTIPLIER * channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr))
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        c_to_auxiliary = c_prev
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            cell = DartsCell(reduce if reduction else normal, c_prev_prev, c_prev, c_curr, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_curr
            if i == 2 * layers // 3:
                c_to_auxiliary = c_prev
        self.auxiliary_head = AuxiliaryHeadCIFAR(c_to_auxiliary, num_classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        # (B, in_channels, H, W) with H, W >= 8 -> (B, num_classes) [, (B, num_classes)]
        logits_aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob, self.drop_path_generator)
            if i == 2 * self.layers // 3 and self.auxiliary_head is not None and self.training:
                logits_aux = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        if logits_aux is not None:
            return logits, logits_aux
        return logits


# -- the one-shot supernet (reference model_search.py ``Network``: every op on all 14 edges of a cell) --
def edge_choice_key(cell: str, source: int, node: int) -> str:
    """The choice key of edge ``source -> node`` in the ``normal`` or ``reduce`` cell."""
    return f"{cell}_edge_{source}_{node}"


class DartsSupernetCell(nn.Module):
    """A DARTS search cell: a :class:`MixedOp` on every edge ``i -> j`` (i < j, nodes 2..5)."""

    def __init__(self, c_prev_prev: int, c_prev: int, channels: int, reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        self.preprocess0, self.preprocess1 = preprocessors(c_prev_prev, c_prev, channels, reduction_prev)
        self.reduction, self.cell = reduction, "reduce" if reduction else "normal"
        self.edges = nn.ModuleDict({
            f"{i}_{j}": MixedOp({name: factory(channels, channels, 2 if reduction and i < 2 else 1)
                                 for name, factory in DARTS_OPS.items()})
            for j in DARTS_NODES for i in range(j)
        })
        self.multiplier = len(DARTS_NODES)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, paths: Paths) -> torch.Tensor:
        # (B, C_pp, H', W'), (B, C_p, H, W) -> (B, 4C, H/stride, W/stride)
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for j in DARTS_NODES:
            total = None
            for i in range(j):
                key = edge_choice_key(self.cell, i, j)
                if key in paths:
                    h = self.edges[f"{i}_{j}"](states[i], paths[key])
                    total = h if total is None else total + h
            if total is None:
                raise ValueError(f"node {j} of the {self.cell} cell has no input among the paths")
            states.append(total)
        return torch.cat(states[2:], dim=1)


class DartsSupernet(Supernet):
    """The DARTS search network (C=16, 8 cells in the paper): 2 x 14 logit vectors over 8 ops.

    The choice keys are the cells' edges (``normal_edge_0_2`` ...), as the paper's alphas; the space's
    dims (two inputs and two ops per node) follow from them by :meth:`derive`.
    """

    def __init__(self, *, channels: int = 16, layers: int = 8, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        if layers < 1 or channels < 1:
            raise ValueError(f"DARTS supernet needs layers >= 1 and channels >= 1, got {layers}, {channels}")
        self.net_options = {"channels": channels, "layers": layers, "num_classes": num_classes,
                            "in_channels": in_channels}
        ops = tuple(DARTS_OPS)
        self.choices = {edge_choice_key(c, i, j): ops for c in ("normal", "reduce") for j in DARTS_NODES
                        for i in range(j)}
        c_curr = STEM_MULTIPLIER * channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr))
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            c_curr = c_curr * 2 if reduction else c_curr
            cell = DartsSupernetCell(c_prev_prev, c_prev, c_curr, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_curr
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor, paths: Paths | Arch) -> torch.Tensor:
        # (B, in_channels, H, W) -> (B, 3C, H, W) -> cells -> (B, 16C, H/4, W/4) -> (B, num_classes)
        paths = self.resolve(paths)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, paths)
        return self.classifier(self.global_pooling(s1).flatten(1))

    def paths_of(self, arch: Arch) -> dict[str, int]:
        ops = tuple(DARTS_OPS)
        return {edge_choice_key(c, arch[dim_name(c, j, "input", s)], j): ops.index(arch[dim_name(c, j, "op", s)])
                for c in ("normal", "reduce") for j in DARTS_NODES for s in (0, 1)}

    def derive(self, logits: Mapping[str, torch.Tensor]) -> Arch:
        """DARTS's rule: per node the 2 incoming edges whose strongest non-``none`` op weighs most, each with
        that op (reference ``Network.genotype()``; ties to the earlier input)."""
        ops = tuple(DARTS_OPS)
        live = [k for k, name in enumerate(ops) if name != "none"]
        choices: dict[str, Any] = {}
        for c in ("normal", "reduce"):
            for j in DARTS_NODES:
                weights = {i: logits[edge_choice_key(c, i, j)].detach().float().softmax(-1)[live] for i in range(j)}
                strongest = sorted(range(j), key=lambda i: -float(weights[i].max()))[:2]
                for slot, i in enumerate(strongest):
                    choices[dim_name(c, j, "input", slot)] = i
                    choices[dim_name(c, j, "op", slot)] = ops[live[int(weights[i].argmax())]]
        return Arch(choices)

    def standalone_key(self, arch: Arch, key: str) -> str | None:
        parts = key.split(".")
        if parts[0] != "cells" or parts[2] != "edges":
            return key
        layer, (i, j), op = int(parts[1]), map(int, parts[3].split("_")), parts[5]
        cell = "reduce" if self.cells[layer].reduction else "normal"
        for slot in (0, 1):
            if arch[dim_name(cell, j, "input", slot)] == i and arch[dim_name(cell, j, "op", slot)] == op:
                return ".".join(["cells", parts[1], "ops", str(2 * (j - 2) + slot), *parts[6:]])
        return None
