"""NB201 parameter counts equal NASLib's for every CIFAR-10 cell of its zero-cost subset.

Fixture: tests/fixtures/nb201_naslib_cifar10_params.json (see NB201_NASLIB_SOURCE.md), made by
scripts/make_nb201_param_fixture.py. Convention that matches: every parameter of the network counted
(stem, cells, residual reductions, BatchNorm affine weights and the classifier; no buffers), defaults
C=16, N=5, 10 classes; NASLib's ``params`` is that count in millions (measured relative error 0).

Every edge op of an NB201 cell is built as ``NB201_OPS[op](C, C, 1)`` whatever its position, so the
count depends only on the multiset of the 6 ops; builds are cached by that multiset (160 builds for
724 rows) and ``test_count_depends_only_on_op_multiset`` checks the claim on the largest groups.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

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
