"""A few-shot backbone made of NB201 supernet cells, with its architecture logits as a parameter.

The layout of the 4-conv few-shot backbone (Vinyals et al. 2016; MAML, Finn et al. 2017; ProtoNet, Snell et
al. 2017: four stages at 28x28 -> 14 -> 7 -> 3 -> 1) with each conv block replaced by one NB201 cell whose
6 edges are :class:`~archsearch.nn.mixed.MixedOp`s over the 5 NB201 ops, all cells sharing one (6, 5)
logit matrix (DARTS's shared normal cell). ``arch_logits`` is an ``nn.Parameter`` of the module, so a
meta-learner that adapts "all parameters" (MAML's inner loop through ``torch.func.functional_call``,
Reptile's interpolation) adapts the architecture with the weights: the meta-architecture search of T-NAS
(Lian et al., ICLR 2020) and MetaNAS (Elsken et al., CVPR 2020). ``fix(arch)`` makes the network discrete
(only the chosen op of every edge runs).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from archsearch.core.arch import Arch
from archsearch.nn.cells import NB201SupernetCell, _edge_key
from archsearch.nn.mixed import Scaled, prune_to_fixed
from archsearch.nn.topology import EDGE_DIMS, EDGES
from archsearch.nn.topology import NB201_OP_NAMES as OPS

# -- defaults (CPU-sized; the papers' backbones use 48-64 channels) ---------------------------------------
CHANNELS = 16
STAGES = 4
LOGIT_INIT_STD = 1e-3  # DARTS: alphas ~ 1e-3 * N(0, 1)
ARCH_PARAMETER = "arch_logits"


class FewShotCellNetwork(nn.Module):
    """``(B, in_channels, H, W) -> (B, ways)``: stem conv3x3 + BN, ``stages`` x (NB201 cell, maxpool 2),
    BN-ReLU, global average pool, linear (none when ``ways`` is None: ``(B, channels)`` embeddings)."""

    def __init__(self, ways: int | None, *, channels: int = CHANNELS, stages: int = STAGES, in_channels: int = 1,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.options = {"ways": ways, "channels": channels, "stages": stages, "in_channels": in_channels}
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        self.cells = nn.ModuleList(NB201SupernetCell(channels) for _ in range(stages))
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.lastact = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU())
        self.classifier = nn.Linear(channels, ways) if ways is not None else nn.Identity()
        logits = torch.randn(len(EDGES), len(OPS), generator=generator) * LOGIT_INIT_STD     # (edges, ops)
        self.arch_logits = nn.Parameter(logits)
        self.fixed: Arch | None = None
        self.fixed_scales: list[float] | None = None
        self.temperature = 1.0  # softmax(logits / T); MetaNAS's soft pruning anneals it towards 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, in, 28, 28) -> (B, C, 28, 28) -> cells/pools -> (B, C, 1, 1) -> (B, ways)
        paths = self.paths()
        feature = self.stem(x)
        for cell in self.cells:
            feature = self.pool(cell(feature, paths))
        return self.classifier(self.lastact(feature).mean(dim=(2, 3)))

    def paths(self) -> dict[str, object]:
        """Softmax weights per edge, or the fixed arch's op index per edge."""
        if self.fixed is not None:  # "none" edges run the zero op: a node may have no other input
            indices = [OPS.index(self.fixed[name]) for name in EDGE_DIMS]
            if self.fixed_scales is None:
                return {_edge_key(i, j): k for (i, j), k in zip(EDGES, indices)}
            return {_edge_key(i, j): Scaled(k, float(scale))
                    for (i, j), k, scale in zip(EDGES, indices, self.fixed_scales)}
        weights = torch.softmax(self.arch_logits / self.temperature, dim=-1)                # (edges, ops)
        return {_edge_key(i, j): weights[k] for k, (i, j) in enumerate(EDGES)}

    def derive(self, logits: torch.Tensor | None = None) -> Arch:
        """The strongest op of every edge (NB201's ``genotype()``, ``none`` included)."""
        logits = self.arch_logits if logits is None else logits
        return Arch({name: OPS[int(row.argmax())] for name, row in zip(EDGE_DIMS, logits)})

    def fix(self, arch: Arch | None, logits: torch.Tensor | None = None) -> "FewShotCellNetwork":
        """Run only ``arch``'s ops from now on (None: the relaxed supernet again); with ``logits``, each chosen
        op keeps its softmax weight as a constant factor (foldable into the op's BatchNorm affine / a fixed
        multiplier of a parameter-free op), so the discrete net starts where the relaxed one was."""
        self.fixed = arch
        self.fixed_scales = None
        if arch is not None and logits is not None:
            weights = torch.softmax(logits.detach() / self.temperature, dim=-1)              # (edges, ops)
            self.fixed_scales = [float(weights[k, OPS.index(arch[name])]) for k, name in enumerate(EDGE_DIMS)]
        return self

    def uses(self, name: str, arch: Arch) -> bool:
        """Whether weight ``name`` is in ``arch``'s discrete network (stem, head, chosen ops)."""
        return name != ARCH_PARAMETER and uses(name, arch)

    def prune(self) -> "FewShotCellNetwork":
        """Drop every op the fixed arch does not run (the module becomes that arch's stand-alone network)."""
        prune_to_fixed(self)
        return self

    def weight_names(self) -> list[str]:
        return [name for name, _ in self.named_parameters() if name != ARCH_PARAMETER]

    def discrete_parameters(self, arch: Arch) -> int:
        """Parameters of the stand-alone network of ``arch``: stem, head and the chosen op of each edge."""
        return sum(p.numel() for name, p in self.named_parameters() if name != ARCH_PARAMETER and uses(name, arch))


def uses(name: str, arch: Arch) -> bool:
    """Whether weight ``name`` of the network is in ``arch``'s discrete network (stem, head, chosen ops)."""
    if ".edges." not in name:
        return True
    edge, op = name.split(".edges.")[1].split(".ops.")
    chosen = {_edge_key(i, j): arch[dim] for (i, j), dim in zip(EDGES, EDGE_DIMS)}
    return op.split(".")[0] == chosen[edge]


def count_ops(arch: Mapping[str, str]) -> dict[str, int]:
    """How many edges use each op."""
    return {op: sum(arch[name] == op for name in EDGE_DIMS) for op in OPS}
