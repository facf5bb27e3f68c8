"""``conv2d``: a 1x1 strided conv computed on the subsampled input equals nn.Conv2d, and trains on one thread
(PyTorch 2.13's oneDNN corrupts the heap in the weight gradient of a channels-last 1x1 stride-2 conv there)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from torch import nn

from archsearch.nn.conv import StridedPointwiseConv, conv2d


@pytest.mark.parametrize("size", [8, 7, 1])
@pytest.mark.parametrize("stride", [2, 3])
def test_a_strided_pointwise_conv_equals_nn_conv2d(size: int, stride: int) -> None:
    torch.manual_seed(0)
    conv = conv2d(4, 6, 1, stride, bias=True)
    reference = nn.Conv2d(4, 6, 1, stride, bias=True)
    reference.load_state_dict(conv.state_dict())
    assert isinstance(conv, StridedPointwiseConv) and isinstance(conv, nn.Conv2d)
    x = torch.randn(3, 4, size, size).to(memory_format=torch.channels_last)
    assert torch.allclose(conv(x), reference(x), atol=1e-6) and conv(x).shape == reference(x).shape


def test_other_convs_stay_nn_conv2d() -> None:
    assert type(conv2d(4, 6, 3, 2, 1)) is nn.Conv2d and type(conv2d(4, 6, 1, 1)) is nn.Conv2d
    assert type(conv2d(4, 6, 1, 2, padding=1)) is nn.Conv2d


TRAIN_ON_ONE_THREAD = """
import torch
from archsearch.nn.conv import conv2d
torch.set_num_threads(1)
for c_in, batch in [(1, 64), (4, 64), (8, 3)]:
    conv = conv2d(c_in, 4, 1, 2, bias=False).to(memory_format=torch.channels_last)
    x = torch.randn(batch, c_in, 8, 8).to(memory_format=torch.channels_last).requires_grad_()
    for _ in range(20):
        conv(x).sum().backward()
print("ok")
"""


def test_a_strided_pointwise_conv_trains_on_one_thread() -> None:
    env = {**os.environ, "MALLOC_CHECK_": "3", "OMP_NUM_THREADS": "1"}  # glibc aborts at the first heap damage
    run = subprocess.run([sys.executable, "-c", TRAIN_ON_ONE_THREAD], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-500:]
