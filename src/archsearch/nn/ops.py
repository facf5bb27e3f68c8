"""Named primitives of the NAS-Bench-201 search space (Dong & Yang, ICLR 2020, "NAS-Bench-201:
Extending the Scope of Reproducible Neural Architecture Search").

The modules follow the reference implementation (D-X-Y/AutoDL-Projects, ``xautodl/models/
cell_operations.py``) with ``affine=True`` and ``track_running_stats=True``, so that parameter
counts equal the published ones:

- ``none``          :class:`Zero` (no parameters)
- ``skip_connect``  ``nn.Identity`` when ``stride == 1`` and ``C_in == C_out``, else :class:`FactorizedReduce`
- ``nor_conv_1x1``  :class:`ReLUConvBN` ReLU -> Conv2d 1x1 (bias=False) -> BatchNorm2d
- ``nor_conv_3x3``  :class:`ReLUConvBN` ReLU -> Conv2d 3x3 (bias=False) -> BatchNorm2d
- ``avg_pool_3x3``  :class:`Pooling` AvgPool2d(3, stride, padding=1, count_include_pad=False),
                    preceded by a 1x1 ReLUConvBN only when ``C_in != C_out``

plus :class:`ResNetBasicBlock`, the residual reduction block between the network's stages.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from archsearch.nn.conv import conv2d

OpFactory = Callable[[int, int, int], nn.Module]


class ReLUConvBN(nn.Module):
    """ReLU -> Conv2d(bias=False) -> BatchNorm2d(affine, tracked stats)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, padding: int,
                 dilation: int = 1) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(c_out, affine=True, track_running_stats=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C_in, H, W) -> (B, C_out, H/stride, W/stride)
        return self.op(x)


class Zero(nn.Module):
    """The ``none`` op: an all-zero output of the right shape, no parameters."""

    is_zero = True

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_in, self.c_out, self.stride = c_in, c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C_in, H, W) -> (B, C_out, H/stride, W/stride), all zeros
        x = x[:, :, :: self.stride, :: self.stride]
        if self.c_in == self.c_out:
            return x.mul(0.0)
        # The reference keeps the unstrided shape here; NB201 cells never hit this case.
        shape = (x.shape[0], self.c_out, x.shape[2], x.shape[3])
        return x.new_zeros(shape)


class FactorizedReduce(nn.Module):
    """``skip_connect`` when the shape changes: two offset strided 1x1 convs (stride 2) or one 1x1 conv."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"FactorizedReduce supports stride 1 or 2, got {stride}")
        self.stride = stride
        self.relu = nn.ReLU(inplace=False)
        if stride == 2:
            halves = (c_out // 2, c_out - c_out // 2)
            self.convs = nn.ModuleList(conv2d(c_in, half, 1, stride=2, padding=0, bias=False) for half in halves)
            self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0.0)
        else:
            self.conv = nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=True, track_running_stats=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C_in, H, W) -> (B, C_out, H/stride, W/stride)
        if self.stride == 2:
            x = self.relu(x)
            shifted = self.pad(x)[:, :, 1:, 1:]
            out = torch.cat([self.convs[0](x), self.convs[1](shifted)], dim=1)
        else:
            out = self.conv(x)
        return self.bn(out)


class Pooling(nn.Module):
    """``avg_pool_3x3``: optional 1x1 ReLUConvBN (only when ``C_in != C_out``), then 3x3 average pooling."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.preprocess = None if c_in == c_out else ReLUConvBN(c_in, c_out, 1, 1, 0)
        self.op = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C_in, H, W) -> (B, C_out, H/stride, W/stride)
        if self.preprocess is not None:
            x = self.preprocess(x)
        return self.op(x)


def _skip_connect(c_in: int, c_out: int, stride: int) -> nn.Module:
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return FactorizedReduce(c_in, c_out, stride)


NB201_OPS: dict[str, OpFactory] = {
    "none": lambda c_in, c_out, stride: Zero(c_in, c_out, stride),
    "skip_connect": _skip_connect,
    "nor_conv_1x1": lambda c_in, c_out, stride: ReLUConvBN(c_in, c_out, 1, stride, 0),
    "nor_conv_3x3": lambda c_in, c_out, stride: ReLUConvBN(c_in, c_out, 3, stride, 1),
    "avg_pool_3x3": lambda c_in, c_out, stride: Pooling(c_in, c_out, stride),
}


class ResNetBasicBlock(nn.Module):
    """The residual reduction block of NB201 (reference ``ResNetBasicblock``, stride 2).

    ``conv_a`` 3x3 ReLUConvBN (stride 2) -> ``conv_b`` 3x3 ReLUConvBN; the shortcut is AvgPool2d(2, 2)
    followed by a 1x1 Conv2d (bias=False); output = shortcut + conv_b. The pool uses ``ceil_mode`` so
    that odd sizes (and 1-pixel-high signals such as MNIST-1D as 1 x L images) match the stride-2
    convolution's ceil(H/2); on even sizes (CIFAR's 32 -> 16 -> 8) it equals the reference exactly.
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 2) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"ResNetBasicBlock supports stride 1 or 2, got {stride}")
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample: nn.Module | None
        if stride == 2:
            self.downsample = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0, ceil_mode=True),
                nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
            )
        elif c_in != c_out:
            self.downsample = ReLUConvBN(c_in, c_out, 1, 1, 0)
        else:
            self.downsample = None
        self.out_channels = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C, H, W) -> (B, 2C, H/2, W/2) in NB201 (stride 2, c_out = 2 c_in)
        residual = x if self.downsample is None else self.downsample(x)
        return residual + self.conv_b(self.conv_a(x))
