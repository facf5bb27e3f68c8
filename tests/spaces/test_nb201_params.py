"""NB201 parameter counts equal NASLib's for every CIFAR-10 cell of its zero-cost subset.

Fixture: tests/fixtures/nb201_naslib_cifar10_params.json (see NB201_NASLIB_SOURCE.md), made by
scripts/make_nb201_param_fixture.py. Convention that matches: every parameter of the network counted
(stem, cells, residual reductions, BatchNorm affine weights and the classifier; no buffers), defaults
C=16, N=5, 10 classes; NASLib's ``params`` is that count in millions (measured relative error 0).

Every edge op of an NB201 cell is built as ``NB201_OPS[op](C, C, 1)`` whatever its position, so the
count depends only on the multiset of the 6 ops; builds are cached by that multiset (160 builds for
724 rows) and ``test_count_depends_only_on_op_multiset`` checks the claim on the largest groups.

The shipped table's ``params`` / ``flops`` (``archsearch.benchmarks.nb201``) are checked against NASLib for
all 724 cells without building anything. NASLib's ``flops`` is tensorwatch's ``ModelStats.flops`` (a
torchstat fork; NASLib ``naslib/predictors/utils/pruners/measures/model_stats.py``), which counts, besides
the conv and linear multiply-adds that the table's ``flops`` holds, 2 per BatchNorm input element (affine),
1 per ReLU input element, k*k per AvgPool2d output element and (h+1)(w+1) per AdaptiveAvgPool2d channel;
:func:`_torchstat_extra` rebuilds that difference from the network's shapes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from archsearch.benchmarks.nb201 import load_nb201
from archsearch.spaces.nb201 import NB201Space

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "nb201_naslib_cifar10_params.json"
REL_TOL = 0.01
SPACE = NB201Space()


def _rows() -> list[dict]:
    return json.loads(FIXTURE.read_text())


def _multiset(arch_string: str) -> tuple[str, ...]:
    return tuple(sorted(SPACE.parse(arch_string).values()))


def _count_millions(arch_string: str) -> float:
    net = SPACE.build(SPACE.parse(arch_string))
    return sum(p.numel() for p in net.parameters()) / 1e6


def test_fixture_covers_naslib_cifar10_subset() -> None:
    rows = _rows()
    assert len(rows) == 724
    assert len({row["idx"] for row in rows}) == 724
    assert all(0 <= row["idx"] < 15625 for row in rows)


def test_params_match_naslib() -> None:
    count_of: dict[tuple[str, ...], float] = {}
    errors = []
    for row in _rows():
        multiset = _multiset(row["nb201"])
        if multiset not in count_of:
            count_of[multiset] = _count_millions(row["nb201"])
        ours = count_of[multiset]
        errors.append((abs(ours - row["params_m"]) / row["params_m"], row["idx"], ours, row["params_m"]))
    worst = max(errors)
    assert worst[0] <= REL_TOL, f"NB201 index {worst[1]}: {worst[2]:.6f} M vs NASLib {worst[3]:.6f} M"


def test_count_depends_only_on_op_multiset() -> None:
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for row in _rows():
        groups[_multiset(row["nb201"])].append(row["nb201"])
    largest = sorted(groups.values(), key=len, reverse=True)[:3]
    for arches in largest:
        assert len(arches) > 1
        assert len({_count_millions(arch) for arch in arches}) == 1, arches


@pytest.mark.parametrize(("arch", "millions"), [
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 0.073306),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", 1.531546),
])
def test_extreme_cells(arch: str, millions: float) -> None:
    assert _count_millions(arch) == pytest.approx(millions, abs=1e-6)


def _torchstat_extra(n_conv: int, n_pool: int, channels: int = 16, side: int = 32, cells_per_stage: int = 5) -> int:
    """What tensorwatch/torchstat adds to conv + linear multiply-adds for an NB201 network (no biases but the
    classifier's, which torchstat does not count either) with ``n_conv`` conv edges and ``n_pool`` pooling
    edges: per cell edge, a ``nor_conv`` is ReLU (1 per element) + affine BN (2), an ``avg_pool_3x3`` 9 per
    output element; plus the stem BN, the two residual reductions, the head's BN + ReLU and global pooling."""
    stages = [(channels * 2**s, side // 2**s) for s in range(3)]
    edge_elements = cells_per_stage * sum(c * h * h for c, h in stages)
    extra = n_conv * 3 * edge_elements + n_pool * 9 * edge_elements
    extra += 2 * channels * side * side  # stem BatchNorm
    for (c_in, h_in), (c_out, h_out) in zip(stages, stages[1:]):  # ResNetBasicBlock(c_in -> c_out, stride 2)
        out = c_out * h_out * h_out
        extra += c_in * h_in * h_in + 2 * out  # conv_a: ReLU on its input, BN on its output
        extra += out + 2 * out  # conv_b: ReLU + BN
        extra += 4 * c_in * h_out * h_out  # downsample AvgPool2d(2): 2*2 per output element
    c_last, h_last = stages[-1]
    extra += 3 * c_last * h_last * h_last  # lastact: BN + ReLU
    extra += c_last * (h_last + 1) ** 2  # AdaptiveAvgPool2d(1), torchstat's (h+1)(w+1) per channel
    return extra


def test_table_params_and_flops_match_naslib() -> None:
    """Every fixture cell: table params == NASLib's; table flops + the torchstat extras == NASLib's flops."""
    table = load_nb201()
    params = table.column("cifar10", 200, "params")
    flops = table.column("cifar10", 200, "flops")
    param_errors, flop_errors, raw_errors = [], [], []
    for row in _rows():
        index = row["idx"]
        assert table.index_of(SPACE.parse(row["nb201"])) == index
        ops = list(SPACE.parse(row["nb201"]).values())
        n_conv = sum(op.startswith("nor_conv") for op in ops)
        theirs = row["flops_m"] * 1e6
        param_errors.append(abs(params[index] - row["params_m"] * 1e6) / (row["params_m"] * 1e6))
        flop_errors.append(abs(flops[index] + _torchstat_extra(n_conv, ops.count("avg_pool_3x3")) - theirs) / theirs)
        raw_errors.append(abs(flops[index] - theirs) / theirs)
    assert max(param_errors) <= REL_TOL and max(flop_errors) <= REL_TOL
    assert max(param_errors) < 1e-6 and max(flop_errors) < 1e-7  # measured: both exact (to NASLib's 1e-6 M)
    # The multiply-adds alone undercount NASLib's FLOPs most where the cell has pooling and no convs.
    assert 0.40 < max(raw_errors) < 0.41  # measured 0.4061 (index of an all-pool/skip/none cell)
