"""The ``mobile`` space (MnasNet's factorized hierarchical space): dims, arch strings, networks for several input
sizes, EfficientNet width/depth multipliers and the resolution option."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from archsearch.core.arch import Arch
from archsearch.core.errors import ArchError, UserError
from archsearch.core.registry import SPACES
from archsearch.metrics import count_flops, count_parameters
from archsearch.nn.mobile import MBConv, Resize
from archsearch.spaces.mobile import STRIDES, MobileSpace

SPACE = MobileSpace()
ARCH = SPACE.parse("e1k3-re-L1-w1.0|e6k3-re-L2-w1.0|e3k5se-hs-L3-w0.75|e6k3-hs-L4-w1.25|e6k7se-hs-L2-w1.0|"
                   "e6k5se-hs-L3-w1.0|e6k3-re-L1-w1.0")
TINY = {"width_mult": 0.25, "head_channels": 64, "stem_channels": 16}


def test_registered_with_42_dims() -> None:
    space = SPACES.create("mobile")
    dims = space.dims()
    assert isinstance(space, MobileSpace) and len(dims) == 42
    assert list(dims)[:6] == ["s1_block", "s1_kernel", "s1_se", "s1_act", "s1_layers", "s1_width"]
    assert dims["s7_layers"].describe() == "[1..4]" and space.size() == 432**7


def test_format_parse_round_trip() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        arch = SPACE.sample(rng)
        assert SPACE.parse(SPACE.format(arch)) == arch and SPACE.parse(arch.key()) == arch
    assert SPACE.format(ARCH).split("|")[2] == "e3k5se-hs-L3-w0.75"
    assert ARCH["s3_se"] is True and ARCH["s3_act"] == "hswish" and ARCH["s1_block"] == "mbconv1"


@pytest.mark.parametrize("text", [
    "e6k3-re-L1-w1.0",  # one stage, not 7
    "|".join(["e6k3-re-L1-w1.0"] * 8),
    "|".join(["e6k3-re-L1-w1.0"] * 6 + ["e4k3-re-L1-w1.0"]),  # expansion 4 is not a choice
    "|".join(["e6k3-re-L1-w1.0"] * 6 + ["e6k9-re-L1-w1.0"]),  # kernel 9
    "|".join(["e6k3-re-L1-w1.0"] * 6 + ["e6k3-gelu-L1-w1.0"]),
    "|".join(["e6k3-re-L1-w1.0"] * 6 + ["e6k3-re-L5-w1.0"]),  # 5 layers
    "|".join(["e6k3-re-L1-w1.0"] * 6 + ["e6k3-re-L1-w0.5"]),
    "|".join(["e6k3-re-L1-w1.0"] * 6 + ["e6k3SE-re-L1-w1.0"]),
    "|".join(["e6k3-re-L1-w1.0"] * 6 + [""]),
    '{"s1_block": "mbconv6"}',
])
def test_malformed_strings_are_arch_errors(text: str) -> None:
    with pytest.raises(ArchError):
        SPACE.parse(text)


def test_stage_channels_strides_and_layers() -> None:
    specs = SPACE.block_specs(ARCH)
    assert len(specs) == 1 + 2 + 3 + 4 + 2 + 3 + 1
    firsts = [0, 1, 3, 6, 10, 12, 15]
    assert [specs[i].stride for i in firsts] == list(STRIDES)
    # base x width (1.0, 1.0, 0.75, 1.25, 1.0, 1.0, 1.0) to the nearest multiple of 8, halves up: 30 -> 32, 100 -> 104
    assert [specs[i].c_out for i in firsts] == [16, 24, 32, 104, 112, 160, 320]
    assert all(s.stride == 1 for i, s in enumerate(specs) if i not in firsts)
    deeper = SPACE.block_specs(ARCH, depth_mult=1.3)
    assert len(deeper) == sum(math.ceil(n * 1.3) for n in (1, 2, 3, 4, 2, 3, 1))


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 8, 8), (3, 32, 32), (3, 15, 15)])
def test_any_input_size_gives_logits(shape: tuple[int, ...]) -> None:
    model = SPACE.build(ARCH, num_classes=10, in_channels=shape[0], **TINY)
    assert model(torch.randn(2, *shape)).shape == (2, 10)


def test_imagenet_size_at_tiny_width() -> None:
    model = SPACE.build(ARCH, num_classes=1000, **TINY).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 224, 224)).shape == (1, 1000)
    assert count_parameters(model) > 0 and len(model.latency_units((3, 224, 224))) == 2 + len(SPACE.block_specs(ARCH))


def test_full_width_parameter_count_is_mobile_sized() -> None:
    params = count_parameters(SPACE.build(ARCH, num_classes=1000))
    assert 2e6 < params < 8e6  # MnasNet-A1: 3.9 M, MobileNetV2: 3.4 M


def test_width_and_depth_multipliers_grow_params_and_flops() -> None:
    def size(**net: float) -> tuple[int, int]:
        model = SPACE.build(ARCH, in_channels=1, head_channels=64, stem_channels=16, **net)
        return count_parameters(model), count_flops(model, (1, 16, 16))

    base = size(width_mult=0.25)
    widths = [base, size(width_mult=0.5)]
    depths = [base, size(width_mult=0.25, depth_mult=1.5)]
    for series in (widths, depths):
        assert all(a[0] < b[0] and a[1] < b[1] for a, b in zip(series, series[1:]))


def test_resolution_resizes_inside_the_network() -> None:
    plain = SPACE.build(ARCH, in_channels=1, **TINY)
    resized = SPACE.build(ARCH, in_channels=1, resolution=40, **TINY)
    assert isinstance(resized.units[0], Resize) and not isinstance(plain.units[0], Resize)
    assert count_flops(resized, (1, 28, 28)) > count_flops(plain, (1, 28, 28))
    assert count_parameters(resized) == count_parameters(plain)
    assert resized(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_residuals_only_inside_stages() -> None:
    blocks = [m for m in SPACE.build(ARCH, **TINY).units if isinstance(m, MBConv)]
    assert [b.residual for b in blocks] == [b.spec.stride == 1 and b.spec.c_in == b.spec.c_out for b in blocks]
    assert sum(b.residual for b in blocks) == len(blocks) - 7 + 1  # each stage's later layers; s1 keeps 16 -> 16


@pytest.mark.parametrize("option", [{"width_mult": 0}, {"depth_mult": -1}, {"resolution": 0}, {"dropout": 1.5},
                                    {"head_channels": 0}, {"width_mult": "wide"}])
def test_bad_build_options_are_user_errors(option: dict) -> None:
    with pytest.raises(UserError):
        SPACE.build(ARCH, **option)


def test_build_validates_the_arch() -> None:
    with pytest.raises(ArchError):
        SPACE.build(Arch({**ARCH, "s1_kernel": 9}))
