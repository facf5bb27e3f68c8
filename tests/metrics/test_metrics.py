"""archsearch.metrics: parameter counts and multiply-adds against hand counts and NAS-Bench-201's published
figures, latency sanity, restored model state, and ``model_metrics``' keys and errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from archsearch.core.errors import UserError
from archsearch.metrics import count_flops, count_parameters, measure_latency, model_metrics
from archsearch.spaces.nb201 import NB201Space

SPACE = NB201Space()
TINY_ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
BEST_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
# NAS-Bench-201's CIFAR-10 FLOPs range (NATS-Bench TSS API, millions of multiply-adds of Conv2d and Linear
# layers plus the classifier's 10 bias additions, C=16, N=5, 3x32x32): all-none cell min, all-conv3x3 max.
NB201_MIN_MFLOPS, NB201_MAX_MFLOPS = 7.78305, 220.11969
CLASSIFIER_BIAS_ADDS = 10


def _hand_model() -> nn.Module:
    # (B, 3, 9, 9) -> conv 3x3 stride 2 -> (B, 8, 4, 4) -> BN, ReLU -> flatten (B, 128) -> (B, 10)
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                         nn.Linear(128, 10))


def _tiny_nb201(arch: str = TINY_ARCH) -> nn.Module:
    return SPACE.build(SPACE.parse(arch), channels=4, cells_per_stage=1)


def test_parameters_hand_count() -> None:
    model = _hand_model()
    model[0].weight.requires_grad_(False)  # frozen parameters count too
    conv, bn, linear = 8 * 3 * 9 + 8, 2 * 8, 128 * 10 + 10
    assert count_parameters(model) == conv + bn + linear


def test_parameters_tiny_nb201_hand_count() -> None:
    def cell(w: int) -> int:  # two nor_conv_3x3, one nor_conv_1x1 (conv + BN affine); pool, skip, none: 0
        return 2 * (9 * w * w + 2 * w) + (w * w + 2 * w)

    def reduction(c_in: int, c_out: int) -> int:  # conv_a 3x3 + BN, conv_b 3x3 + BN, shortcut 1x1 conv
        return 9 * c_in * c_out + 2 * c_out + 9 * c_out * c_out + 2 * c_out + c_in * c_out

    stem, head = 3 * 4 * 9 + 2 * 4, 2 * 16 + 16 * 10 + 10
    expected = stem + cell(4) + reduction(4, 8) + cell(8) + reduction(8, 16) + cell(16) + head
    assert expected == 11446
    assert count_parameters(_tiny_nb201()) == expected


def test_flops_hand_count() -> None:
    conv = 8 * 4 * 4 * (3 * 3 * 3)  # output elements x multiply-adds per output
    linear = 128 * 10
    assert count_flops(_hand_model(), (3, 9, 9)) == conv + linear


def _nb201_formula_macs(conv3_edges: int) -> int:
    """Conv2d + Linear multiply-adds of the C=16, N=5 NB201 network on 3x32x32 whose cell has
    ``conv3_edges`` nor_conv_3x3 edges and otherwise skip/none edges."""
    stem = 3 * 16 * 9 * 32 * 32
    edge = 9 * 16 * 16 * 32 * 32  # 9 C^2 H W, the same at every stage (C doubles as H and W halve)
    reductions = sum(9 * c * 2 * c * hw + 9 * (2 * c) ** 2 * hw + c * 2 * c * hw for c, hw in ((16, 256), (32, 64)))
    return stem + 3 * 5 * conv3_edges * edge + reductions + 64 * 10


def test_flops_nb201_published_range() -> None:
    for arch, published in ((ALL_NONE, NB201_MIN_MFLOPS), (ALL_CONV3, NB201_MAX_MFLOPS)):
        flops = count_flops(SPACE.build(SPACE.parse(arch)), (3, 32, 32))
        assert flops + CLASSIFIER_BIAS_ADDS == round(published * 1e6)
    assert count_flops(SPACE.build(SPACE.parse(ALL_CONV3)), (3, 32, 32)) == _nb201_formula_macs(conv3_edges=6)


def test_flops_nb201_best_cell() -> None:
    flops = count_flops(SPACE.build(SPACE.parse(BEST_ARCH)), (3, 32, 32))
    assert flops == _nb201_formula_macs(conv3_edges=5) == 184_730_240
    # NB201's figure for this cell: its maximum less one nor_conv_3x3 edge in all 15 cells
    published = NB201_MAX_MFLOPS - 15 * 9 * 16 * 16 * 32 * 32 / 1e6
    assert flops / 1e6 == pytest.approx(published, rel=0.01)


def test_state_is_restored() -> None:
    model = _tiny_nb201().train()
    model.cells[0].eval()
    before = [m.training for m in model.modules()]
    count_flops(model, (3, 8, 8))
    measure_latency(model, (3, 8, 8), warmup=0, repeats=1)
    assert [m.training for m in model.modules()] == before
    assert all(p.requires_grad for p in model.parameters())


def test_latency_positive_and_finite() -> None:
    model = _tiny_nb201()
    for batch in (1, 4):
        ms = measure_latency(model, (3, 8, 8), batch_size=batch, warmup=1, repeats=3)
        assert math.isfinite(ms) and ms > 0


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"repeats": 0}, {"warmup": -1}])
def test_latency_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(UserError):
        measure_latency(_tiny_nb201(), (3, 8, 8), **kwargs)


def test_bad_input_shape() -> None:
    for shape in [(), (3, 0, 8), "3,8,8", (3, "x")]:
        with pytest.raises(UserError, match="input shape"):
            count_flops(_hand_model(), shape)  # type: ignore[arg-type]


def test_model_metrics_keys() -> None:
    model = _tiny_nb201()
    metrics = model_metrics(model, (3, 8, 8), latency_batch=4)
    assert set(metrics) == {"params", "flops", "latency_ms", "latency_batch_ms"}
    assert all(isinstance(v, float) for v in metrics.values())
    assert metrics["params"] == count_parameters(model)
    assert metrics["flops"] == count_flops(model, (3, 8, 8))
    assert set(model_metrics(model, (3, 8, 8), latency_batch=None)) == {"params", "flops", "latency_ms"}
    assert set(model_metrics(model, (3, 8, 8), measure=("params",))) == {"params"}


def test_model_metrics_unknown_name() -> None:
    with pytest.raises(UserError, match="choose from: params, flops, latency"):
        model_metrics(_hand_model(), (3, 9, 9), measure=("params", "energy"))


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = ("import sys, archsearch.metrics; heavy = {'onnx', 'onnxruntime', 'matplotlib', 'archsearch.spaces.nb201'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_device_and_back() -> None:
    model = _tiny_nb201()
    assert count_flops(model, (3, 8, 8), device="cuda") == count_flops(model, (3, 8, 8))
    assert measure_latency(model, (3, 8, 8), device="cuda", repeats=2) > 0
    assert next(model.parameters()).device.type == "cpu"
