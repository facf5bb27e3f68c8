"""The backbones of the few-shot papers, for 1x28x28 Omniglot images.

- :func:`conv4`: the 4-conv network of Vinyals et al. 2016, used by MAML (Finn et al. 2017), Reptile
  (Nichol et al. 2018) and Prototypical Networks (Snell et al. 2017): 4 x [conv 3x3, ``hidden`` = 64
  filters, BatchNorm, ReLU, 2x2 max-pool] (28 -> 14 -> 7 -> 3 -> 1), flattened; with ``ways`` a linear head
  maps it to logits (MAML/Reptile), without it the 64-d vector is the embedding (ProtoNet). MAML's Omniglot
  code replaced the pooling by stride-2 convolutions: ``pool="stride"``.
- :func:`relation_encoder` and :class:`RelationModule`: the Relation Network's (Sung et al. 2018, Omniglot
  code ``LearningToCompare_FSL/omniglot``): 4 conv blocks (the first two unpadded with max-pooling, the last
  two padded without; 28 -> 26 -> 13 -> 11 -> 5, 64x5x5 features) and a relation module of 2 conv blocks
  (conv 3x3 padded, BN, ReLU, max-pool) on the concatenated (2C) feature pair, FC 8, ReLU, FC 1, sigmoid.

PyTorch's default initialisation everywhere (the papers' TF/Torch initialisations differ in detail).
"""

from __future__ import annotations

import torch
from torch import nn

# ---- defaults -----------------------------------------------------------------------------------------
HIDDEN = 64  # filters per conv (all four papers, Omniglot)
IMAGE_SIZE = 28
IN_CHANNELS = 1
RELATION_FC = 8  # Relation Network's hidden FC width
POOLS = ("max", "stride")


def _block(cin: int, cout: int, pool: str, track_running_stats: bool, padding: int = 1) -> list[nn.Module]:
    stride = 2 if pool == "stride" else 1
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, stride=stride, padding=padding),
                               nn.BatchNorm2d(cout, track_running_stats=track_running_stats), nn.ReLU()]
    if pool == "max":
        layers.append(nn.MaxPool2d(2))
    return layers


def _side(size: int, pool: str, blocks: int) -> int:
    for _ in range(blocks):
        size = size // 2 if pool == "max" else (size + 1) // 2
    return size


def conv4(ways: int | None = None, hidden: int = HIDDEN, *, in_channels: int = IN_CHANNELS,
          image_size: int = IMAGE_SIZE, pool: str = "max", track_running_stats: bool = True) -> nn.Sequential:
    """(B, in_channels, S, S) -> (B, ways) logits, or (B, hidden * s * s) embeddings when ``ways`` is None.

    ``track_running_stats=False`` makes BatchNorm use the statistics of every batch, also in eval mode
    (MAML's transductive setting).
    """
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
    layers: list[nn.Module] = []
    for i in range(4):
        layers += _block(in_channels if i == 0 else hidden, hidden, pool, track_running_stats)
    layers.append(nn.Flatten())  # (B, hidden, s, s) -> (B, hidden * s * s)
    if ways is not None:
        side = _side(image_size, pool, 4)
        layers.append(nn.Linear(hidden * side * side, ways))
    return nn.Sequential(*layers)


def relation_encoder(hidden: int = HIDDEN, *, in_channels: int = IN_CHANNELS) -> nn.Sequential:
    """Relation Network's embedding: (B, 1, 28, 28) -> (B, hidden, 5, 5)."""
    layers = _block(in_channels, hidden, "max", True, padding=0) + _block(hidden, hidden, "max", True, padding=0)
    layers += _block(hidden, hidden, "none", True) + _block(hidden, hidden, "none", True)
    return nn.Sequential(*layers)


class RelationModule(nn.Module):
    """Scores a concatenated (query, class) feature pair: (P, 2C, h, w) -> (P,) in (0, 1)."""

    def __init__(self, channels: int = HIDDEN, feature_side: int = 5, fc: int = RELATION_FC) -> None:
        super().__init__()
        self.convs = nn.Sequential(*_block(2 * channels, channels, "max", True),
                                   *_block(channels, channels, "max", True))
        side = feature_side // 4
        if side < 1:
            raise ValueError(f"relation module needs feature maps of side >= 4, got {feature_side}")
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(channels * side * side, fc), nn.ReLU(), nn.Linear(fc, 1))

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        # (P, 2C, h, w) -> (P, C, h/4, w/4) -> (P,)
        return torch.sigmoid(self.fc(self.convs(pairs))).squeeze(-1)


def count_parameters(module: nn.Module) -> int:
    """Trainable and frozen parameters, each shared tensor once."""
    return sum(p.numel() for p in {id(p): p for p in module.parameters()}.values())
