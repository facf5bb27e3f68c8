"""``conv2d``: ``nn.Conv2d`` for every network of archsearch, with a work-around for a 1x1 strided conv.

On PyTorch 2.13's CPU wheel (oneDNN 3.12), the weight gradient of a 1x1 convolution with stride 2 on a
channels-last input corrupts the heap when torch runs one intra-op thread (``free(): invalid next size``,
then an abort or a segfault a few ops later; two threads are fine). One thread is what the thread policy
gives each worker of ``--workers N`` on N cores and every trial on a busy machine, and 1x1 stride-2 convs
are in DARTS' FactorizedReduce, the activation ResNet's shortcut and the mobile space's stems. A 1x1 conv
with stride s and no padding equals a 1x1 conv with stride 1 on every s-th pixel, so
:class:`StridedPointwiseConv` computes it that way: same parameters, same output (bit for bit), same
module type for FLOPs counting and export, no crash.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class StridedPointwiseConv(nn.Conv2d):
    """A 1x1 ``nn.Conv2d`` with stride > 1 and no padding, computed as a stride-1 conv of the subsampled input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C_in, H, W) -> (B, C_out, ceil(H / s), ceil(W / s))
        step_h, step_w = self.stride
        return F.conv2d(x[:, :, ::step_h, ::step_w], self.weight, self.bias, 1, 0, 1, self.groups)


def conv2d(c_in: int, c_out: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1,
           groups: int = 1, bias: bool = True) -> nn.Conv2d:
    """``nn.Conv2d(...)``; a :class:`StridedPointwiseConv` for a 1x1 kernel with stride > 1 and no padding."""
    cls = StridedPointwiseConv if kernel_size == 1 and stride > 1 and padding == 0 else nn.Conv2d
    return cls(c_in, c_out, kernel_size, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
