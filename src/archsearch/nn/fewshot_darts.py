"""A few-shot network of DARTS search cells, with its architecture logits as one parameter.

The search network of T-NAS (Lian et al., "Towards Fast Adaptation of Neural Architectures with Meta
Learning", ICLR 2020) and MetaNAS (Elsken et al., CVPR 2020) on Omniglot: the DARTS search space (Liu et al.
2019: cells of 4 nodes, each node summing two of its earlier states through one of 8 ops, a normal and a
reduction cell type) in a small :class:`~archsearch.nn.darts.DartsSupernet` for 1x28x28 images. MetaNAS's
Omniglot network is 4 cells of 28 channels; ours defaults to a stem that max-pools 28 -> 14 and 3 cells of 8
channels (normal, reduce, reduce: 14 -> 7 -> 4), so that meta-training fits a CPU hour (measured on one
thread: 0.62 s for the forward and backward of a 30-image 5-way task, 1.7 s without the pooling stem;
convolution backward is half of it).

``arch_logits`` is one ``nn.Parameter`` (28 edges x 8 ops: the 14 edges of the normal cell, then the reduce
cell's, in :attr:`DartsSupernet.choices` order), so a MAML inner loop through ``torch.func.functional_call``
or Reptile's interpolation adapts the architecture with the weights, as for the NB201-cell network of
:mod:`archsearch.nn.fewshot_cells`, whose interface this one shares (``paths``, ``derive``, ``fix``, ``uses``,
``discrete_parameters``, ``prune``). The derived arch is DARTS's: per node the two strongest incoming edges,
each with its strongest op other than ``none``.
"""

from __future__ import annotations

import torch
from torch import nn

from archsearch.core.arch import Arch
from archsearch.nn.darts import DartsSupernet
from archsearch.nn.mixed import Paths, Scaled, prune_to_fixed

# -- defaults (CPU-sized; MetaNAS: 4 cells of 28 channels) ---------------------------------------------
CHANNELS = 8
CELLS = 3
STEM_POOL = True  # max-pool 2x2 after the stem: the cells start at 14x14
LOGIT_INIT_STD = 1e-3  # DARTS: alphas ~ 1e-3 * N(0, 1)
ARCH_PARAMETER = "arch_logits"
PREFIX = "supernet."


class FewShotDartsNetwork(nn.Module):
    """``(B, in_channels, H, W) -> (B, ways)`` (or ``(B, features)`` embeddings when ``ways`` is None): the
    DARTS supernet's stem (3C), ``stages`` search cells, global average pooling and a linear head."""

    def __init__(self, ways: int | None, *, channels: int = CHANNELS, stages: int = CELLS, in_channels: int = 1,
                 stem_pool: bool = STEM_POOL, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.options = {"ways": ways, "channels": channels, "stages": stages, "in_channels": in_channels,
                        "stem_pool": stem_pool}
        self.supernet = DartsSupernet(channels=channels, layers=stages, num_classes=ways or 1,
                                      in_channels=in_channels)
        if stem_pool:
            self.supernet.stem.append(nn.MaxPool2d(2, ceil_mode=True))  # (B, 3C, 28, 28) -> (B, 3C, 14, 14)
        if ways is None:
            self.supernet.classifier = nn.Identity()
        self.keys = tuple(self.supernet.choices)
        options = len(next(iter(self.supernet.choices.values())))
        logits = torch.randn(len(self.keys), options, generator=generator) * LOGIT_INIT_STD   # (edges, ops)
        self.arch_logits = nn.Parameter(logits)
        self.fixed: Arch | None = None
        self.fixed_scales: dict[str, float] | None = None
        self.temperature = 1.0  # softmax(logits / T); MetaNAS's soft pruning anneals it towards 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, in, 28, 28) -> stem (B, 3C, 14, 14) -> cells -> (B, 4 * 4C, 4, 4) -> pool -> (B, ways)
        return self.supernet(x, self.paths())

    def paths(self) -> Paths:
        """Softmax weights per edge, or the fixed arch's op per chosen edge (optionally scaled)."""
        if self.fixed is not None:
            indices = self.supernet.paths_of(self.fixed)
            if self.fixed_scales is None:
                return indices
            return {key: Scaled(index, self.fixed_scales[key]) for key, index in indices.items()}
        weights = torch.softmax(self.arch_logits / self.temperature, dim=-1)                # (edges, ops)
        return {key: weights[k] for k, key in enumerate(self.keys)}

    def derive(self, logits: torch.Tensor | None = None) -> Arch:
        """DARTS's genotype of the (given or own) logits."""
        logits = self.arch_logits if logits is None else logits
        return self.supernet.derive({key: row for key, row in zip(self.keys, logits)})

    def fix(self, arch: Arch | None, logits: torch.Tensor | None = None) -> "FewShotDartsNetwork":
        """Run only ``arch``'s edges and ops (None: the relaxed supernet); with ``logits``, each chosen op
        keeps its softmax weight as a constant factor (the discrete net starts where the relaxed one was)."""
        self.fixed, self.fixed_scales = arch, None
        if arch is not None and logits is not None:
            weights = torch.softmax(logits.detach() / self.temperature, dim=-1)              # (edges, ops)
            self.fixed_scales = {key: float(weights[self.keys.index(key), index])
                                 for key, index in self.supernet.paths_of(arch).items()}
        return self

    def uses(self, name: str, arch: Arch) -> bool:
        """Whether weight ``name`` is in ``arch``'s discrete network (stem, preprocessing, chosen ops, head)."""
        if not name.startswith(PREFIX):
            return name != ARCH_PARAMETER
        return self.supernet.standalone_key(arch, name[len(PREFIX):]) is not None

    def weight_names(self) -> list[str]:
        return [name for name, _ in self.named_parameters() if name != ARCH_PARAMETER]

    def discrete_parameters(self, arch: Arch) -> int:
        """Parameters of the stand-alone network of ``arch``."""
        return sum(p.numel() for name, p in self.named_parameters() if name != ARCH_PARAMETER and self.uses(name, arch))

    def prune(self) -> "FewShotDartsNetwork":
        """Drop every op the fixed arch does not run (the module becomes that arch's stand-alone network)."""
        prune_to_fixed(self)
        return self
