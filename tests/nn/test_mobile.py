"""MnasNet / MobileNetV3 blocks: channel rounding, MBConv structure (expansion, SE, h-swish, residual), unit keys
and the input shapes ``latency_units`` computes, checked against a real forward pass."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from archsearch.nn.mobile import BlockSpec, MBConv, MobileNetwork, Resize, SqueezeExcite, make_divisible


def spec(expansion: int = 6, kernel: int = 3, stride: int = 1, se: bool = False, act: str = "relu",
         c_in: int = 8, c_out: int = 8) -> BlockSpec:
    return BlockSpec(expansion, kernel, stride, se, act, c_in, c_out)


def tiny_network(resolution: int | None = None, in_channels: int = 3) -> MobileNetwork:
    blocks = [spec(1, 3, 1, False, "relu", 8, 8), spec(6, 5, 2, True, "hswish", 8, 16),
              spec(3, 7, 1, True, "relu", 16, 16), spec(3, 3, 2, False, "hswish", 16, 24)]
    return MobileNetwork(blocks, in_channels=in_channels, num_classes=5, stem_channels=8, head_channels=32,
                         resolution=resolution)


def test_make_divisible_matches_mobilenet_rounding() -> None:
    assert [make_divisible(v) for v in (32 * 0.75, 16 * 0.75, 40 * 1.25, 1280 * 1.25, 3)] == [24, 16, 48, 1600, 8]
    assert make_divisible(80 * 0.75) == 64 and all(make_divisible(v) % 8 == 0 for v in range(1, 400))


def test_expansion_one_skips_the_expand_conv() -> None:
    one, six = MBConv(spec(expansion=1)), MBConv(spec(expansion=6))
    assert len(one.body) == 2 and len(six.body) == 3  # (dw, project) vs (expand, dw, project)
    assert six.body[0][0].out_channels == 48 and six.body[1][0].groups == 48


def test_se_and_hswish_only_when_chosen() -> None:
    plain, chosen = MBConv(spec(se=False, act="relu")), MBConv(spec(se=True, act="hswish"))
    assert not any(isinstance(m, (SqueezeExcite, nn.Hardswish)) for m in plain.modules())
    assert any(isinstance(m, SqueezeExcite) for m in chosen.modules())
    assert any(isinstance(m, nn.Hardswish) for m in chosen.modules())
    se = next(m for m in chosen.modules() if isinstance(m, SqueezeExcite))
    assert se.reduce.out_channels == make_divisible(48 / 4) == 16  # MobileNetV3: expanded / 4, multiple of 8


@pytest.mark.parametrize("stride,c_out,residual", [(1, 8, True), (2, 8, False), (1, 16, False)])
def test_residual_only_when_shapes_match(stride: int, c_out: int, residual: bool) -> None:
    block = MBConv(spec(stride=stride, c_out=c_out)).eval()
    assert block.residual is residual
    project_bn = block.body[-1][1]
    nn.init.zeros_(project_bn.weight)
    nn.init.zeros_(project_bn.bias)  # the body now outputs zeros: the block returns x iff it adds x
    x = torch.randn(2, 8, 9, 9)
    out = block(x)
    assert out.shape == (2, c_out, 9 // stride + (9 % stride > 0), 9 // stride + (9 % stride > 0))
    assert torch.equal(out, x) if residual else not out.any()


@pytest.mark.parametrize("shape,resolution", [((3, 32, 32), None), ((1, 28, 28), None), ((1, 8, 8), None),
                                              ((3, 17, 23), None), ((1, 8, 8), 20)])
def test_latency_units_shapes_match_a_forward_pass(shape: tuple[int, ...], resolution: int | None) -> None:
    model = tiny_network(resolution, in_channels=shape[0]).eval()
    units = model.latency_units(shape)
    seen: list[tuple[int, ...]] = []
    hooks = [unit.register_forward_pre_hook(lambda _, inputs: seen.append(tuple(inputs[0].shape[1:])))
             for unit in model.units]
    with torch.no_grad():
        out = model(torch.randn(1, *shape))
    for hook in hooks:
        hook.remove()
    assert out.shape == (1, 5)
    assert [unit_shape for _, _, unit_shape in units] == seen
    assert [module for _, module, _ in units] == list(model.units)
    for key, _, unit_shape in units:
        assert key.endswith("@" + "x".join(map(str, unit_shape)))
    assert isinstance(model.units[0], Resize) is (resolution is not None)


def test_unit_keys_name_the_configuration() -> None:
    keys = [key for key, _, _ in tiny_network().latency_units((3, 32, 32))]
    assert keys[0] == "stem(k3,relu,3->8,s2)@3x32x32"
    assert keys[2] == "mbconv(e6,k5,se,hswish,8->16,s2)@8x16x16"
    assert keys[4] == "mbconv(e3,k3,hswish,16->24,s2)@16x8x8"
    assert keys[-1] == "head(24->32,fc5)@24x4x4"
    assert tiny_network(20).latency_units((3, 8, 8))[0][0] == "resize(20)@3x8x8"


def test_bad_inputs_and_chains_are_refused() -> None:
    with pytest.raises(ValueError):
        tiny_network().latency_units((1, 32, 32))  # the network takes 3 channels
    with pytest.raises(ValueError):
        MobileNetwork([spec(c_in=8, c_out=16), spec(c_in=8, c_out=8)], stem_channels=8)
    with pytest.raises(ValueError):
        MBConv(spec(act="gelu"))
