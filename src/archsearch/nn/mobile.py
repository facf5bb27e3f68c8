"""Mobile building blocks: the inverted-residual MBConv of MobileNetV2 (Sandler et al., CVPR 2018) as searched
by MnasNet (Tan et al., CVPR 2019, "MnasNet: Platform-Aware Neural Architecture Search for Mobile"), with the
squeeze-and-excitation and h-swish of MobileNetV3 (Howard et al., ICCV 2019, "Searching for MobileNetV3").

- :class:`MBConv`: 1x1 expansion conv (left out when the expansion is 1, as MobileNetV2's first block)
  -> BN -> act -> depthwise kxk conv (stride s, padding k // 2) -> BN -> act -> optional SE -> 1x1 linear
  projection -> BN; identity residual when ``stride == 1`` and ``c_in == c_out``.
- :class:`SqueezeExcite`: MobileNetV3's convention (Sec. 5.3 and the reference ``_make_divisible``): on the
  expanded channels, global average pool -> 1x1 conv to ``make_divisible(expanded / 4, 8)`` -> ReLU -> 1x1
  conv back -> hard-sigmoid gate.
- activations ``relu`` or ``hswish`` (x * ReLU6(x + 3) / 6, MobileNetV3 Sec. 5.2).
- :class:`Stem` conv3x3 stride 2 -> BN -> ReLU; :class:`Head` conv1x1 -> BN -> ReLU -> global average
  pool -> dropout -> linear (MobileNetV2 / MnasNet); optional :class:`Resize` (bilinear) in front, the
  resolution knob of EfficientNet's compound scaling on fixed-size datasets.

:class:`MobileNetwork` runs its *units* (resize?, stem, each block, head) in sequence; ``latency_units``
lists them with a canonical key and the input shape each one sees, computed without a forward pass: the
unit list of a latency lookup table (:mod:`archsearch.metrics.latency_table`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from archsearch.nn.conv import conv2d

# -- defaults (MobileNetV3 / MnasNet conventions) -------------------------------------------------------------
CHANNEL_DIVISOR = 8  # channel counts are multiples of 8 (MobileNetV2 / EfficientNet round_filters)
SE_REDUCTION = 4  # SE squeezes the expanded channels to 1/4 (MobileNetV3; MnasNet's se_ratio 0.25)
STEM_KERNEL, STEM_STRIDE = 3, 2
ACTIVATIONS = ("relu", "hswish")
ACTIVATION_TAGS = {"relu": "re", "hswish": "hs"}  # short forms of the arch strings and unit keys

UnitEntry = tuple[str, nn.Module, tuple[int, ...]]


def make_divisible(value: float, divisor: int = CHANNEL_DIVISOR) -> int:
    """``value`` rounded to the nearest multiple of ``divisor``, never below ``divisor`` nor 10 % below ``value``
    (MobileNetV2's ``_make_divisible``, EfficientNet's ``round_filters``)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def conv_output_size(size: int, kernel: int, stride: int) -> int:
    """Spatial size after a conv with padding ``kernel // 2`` (odd kernels): ``ceil(size / stride)``."""
    return (size + 2 * (kernel // 2) - kernel) // stride + 1


def activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "hswish":
        return nn.Hardswish(inplace=True)
    raise ValueError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}")


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1, act: str | None = None
            ) -> nn.Sequential:
    """Conv2d(bias=False, padding kernel // 2) -> BatchNorm2d -> optional activation."""
    layers: list[nn.Module] = [conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(c_out)]
    if act is not None:
        layers.append(activation(act))
    return nn.Sequential(*layers)


def _shape_key(shape: Sequence[int]) -> str:
    return "x".join(str(int(s)) for s in shape)


class SqueezeExcite(nn.Module):
    """MobileNetV3's SE: pool -> 1x1 conv (bias) -> ReLU -> 1x1 conv (bias) -> hard-sigmoid, scaling ``x``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        squeezed = make_divisible(channels / SE_REDUCTION)
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C, H, W) -> (B, C, 1, 1) gate in [0, 1] -> (B, C, H, W)
        gate = F.adaptive_avg_pool2d(x, 1)
        gate = F.hardsigmoid(self.expand(F.relu(self.reduce(gate))))
        return x * gate


@dataclass(frozen=True)
class BlockSpec:
    """One MBConv layer: expansion, kernel, stride, SE, activation, channels in and out."""

    expansion: int
    kernel: int
    stride: int
    se: bool
    act: str
    c_in: int
    c_out: int

    def key(self) -> str:
        """E.g. ``mbconv(e6,k5,se,hswish,24->40,s2)``."""
        se = ",se" if self.se else ""
        return f"mbconv(e{self.expansion},k{self.kernel}{se},{self.act},{self.c_in}->{self.c_out},s{self.stride})"


class MBConv(nn.Module):
    """The inverted residual block (MobileNetV2 Fig. 3) with MnasNet's SE option and MobileNetV3's h-swish."""

    def __init__(self, spec: BlockSpec) -> None:
        super().__init__()
        if spec.act not in ACTIVATIONS or spec.expansion < 1 or spec.kernel % 2 == 0 or spec.stride < 1:
            raise ValueError(f"bad MBConv spec {spec}")
        self.spec = spec
        hidden = spec.c_in * spec.expansion
        layers: list[nn.Module] = []
        if spec.expansion != 1:
            layers.append(conv_bn(spec.c_in, hidden, 1, act=spec.act))
        layers.append(conv_bn(hidden, hidden, spec.kernel, spec.stride, groups=hidden, act=spec.act))
        if spec.se:
            layers.append(SqueezeExcite(hidden))
        layers.append(conv_bn(hidden, spec.c_out, 1))  # linear bottleneck: no activation
        self.body = nn.Sequential(*layers)
        self.residual = spec.stride == 1 and spec.c_in == spec.c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, c_in, H, W) -> (B, c_out, ceil(H / s), ceil(W / s))
        out = self.body(x)
        return out + x if self.residual else out

    def key(self) -> str:
        return self.spec.key()

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        _, h, w = shape
        k, s = self.spec.kernel, self.spec.stride
        return (self.spec.c_out, conv_output_size(h, k, s), conv_output_size(w, k, s))


class Stem(nn.Module):
    """Conv3x3 stride 2 -> BN -> ReLU (MobileNetV2 / MnasNet)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.c_in, self.c_out = c_in, c_out
        self.body = conv_bn(c_in, c_out, STEM_KERNEL, STEM_STRIDE, act="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, c_in, H, W) -> (B, c_out, ceil(H / 2), ceil(W / 2))
        return self.body(x)

    def key(self) -> str:
        return f"stem(k{STEM_KERNEL},relu,{self.c_in}->{self.c_out},s{STEM_STRIDE})"

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        _, h, w = shape
        return (self.c_out, conv_output_size(h, STEM_KERNEL, STEM_STRIDE),
                conv_output_size(w, STEM_KERNEL, STEM_STRIDE))


class Head(nn.Module):
    """Conv1x1 -> BN -> ReLU -> global average pool -> dropout -> linear (MobileNetV2 / MnasNet)."""

    def __init__(self, c_in: int, channels: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.c_in, self.channels, self.num_classes = c_in, channels, num_classes
        self.conv = conv_bn(c_in, channels, 1, act="relu")
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, c_in, H, W) -> (B, channels, H, W) -> (B, channels) -> (B, num_classes)
        pooled = F.adaptive_avg_pool2d(self.conv(x), 1).flatten(1)
        return self.classifier(self.dropout(pooled))

    def key(self) -> str:  # dropout is the identity at inference: not part of the key
        return f"head({self.c_in}->{self.channels},fc{self.num_classes})"

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (self.num_classes,)


class Resize(nn.Module):
    """Bilinear resize of the input to ``resolution x resolution`` (EfficientNet's resolution on fixed data)."""

    def __init__(self, resolution: int) -> None:
        super().__init__()
        self.resolution = resolution

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C, H, W) -> (B, C, resolution, resolution)
        return F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False)

    def key(self) -> str:
        return f"resize({self.resolution})"

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (shape[0], self.resolution, self.resolution)


class MobileNetwork(nn.Module):
    """Resize (when ``resolution`` is set) -> stem -> MBConv blocks -> head, run as one sequence of units."""

    def __init__(self, blocks: Sequence[BlockSpec], *, in_channels: int = 3, num_classes: int = 10,
                 stem_channels: int = 32, head_channels: int = 1280, dropout: float = 0.2,
                 resolution: int | None = None) -> None:
        super().__init__()
        if not blocks or in_channels < 1 or num_classes < 1 or stem_channels < 1 or head_channels < 1:
            raise ValueError("a MobileNetwork needs blocks and positive channel and class counts")
        if blocks[0].c_in != stem_channels or any(a.c_out != b.c_in for a, b in zip(blocks, blocks[1:])):
            raise ValueError("MobileNetwork blocks must chain: each block's c_in is the previous c_out")
        units: list[nn.Module] = [] if resolution is None else [Resize(resolution)]
        units.append(Stem(in_channels, stem_channels))
        units.extend(MBConv(spec) for spec in blocks)
        units.append(Head(blocks[-1].c_out, head_channels, num_classes, dropout))
        self.units = nn.ModuleList(units)
        self.in_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, in_channels, H, W) -> (B, num_classes)
        for unit in self.units:
            x = unit(x)
        return x

    def latency_units(self, input_shape: Sequence[int]) -> list[UnitEntry]:
        """``(key@CxHxW, unit, (C, H, W))`` per unit for one input of ``input_shape`` (no batch axis)."""
        shape = tuple(int(s) for s in input_shape)
        if len(shape) != 3 or shape[0] != self.in_channels or min(shape) < 1:
            raise ValueError(f"a MobileNetwork takes inputs ({self.in_channels}, H, W), got {tuple(input_shape)}")
        entries: list[UnitEntry] = []
        for unit in self.units:
            entries.append((f"{unit.key()}@{_shape_key(shape)}", unit, shape))
            shape = unit.output_shape(shape)
        return entries

