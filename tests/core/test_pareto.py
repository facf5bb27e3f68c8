"""Non-dominated sorting, crowding distance and hypervolume against hand-computed fronts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from archsearch.core.pareto import (crowding_distance, dominates, exact_hypervolume, hypervolume, non_dominated_sort,
                                   pareto_front)

POINTS = [(1, 5), (2, 3), (3, 1), (2, 4), (4, 4), (5, 5)]


def test_dominates_is_strict() -> None:
    assert dominates((1, 1), (1, 2)) and not dominates((1, 2), (1, 2)) and not dominates((1, 3), (2, 1))


def test_non_dominated_sort_by_hand() -> None:
    assert non_dominated_sort(POINTS) == [[0, 1, 2], [3], [4], [5]]
    assert pareto_front(POINTS) == [0, 1, 2]
    assert non_dominated_sort([]) == []


def test_equal_points_share_a_front_and_failed_points_come_last() -> None:
    assert non_dominated_sort([(1, 1), (1, 1), (np.inf, np.inf), (2, 0)]) == [[0, 1, 3], [2]]


def test_constrained_domination() -> None:
    """Deb 2002, Sec. VI: feasible beats infeasible; among infeasible the smaller violation wins."""
    fronts = non_dominated_sort(POINTS, violation=[0.5, 0, 0, 0, 0, 0.1])
    assert fronts == [[1, 2], [3], [4], [5], [0]]


def test_crowding_distance_by_hand() -> None:
    distance = crowding_distance([(1, 5), (2, 3), (3, 1)])
    assert distance[0] == distance[2] == np.inf
    assert distance[1] == pytest.approx((3 - 1) / (3 - 1) + (5 - 1) / (5 - 1))
    uneven = crowding_distance([(0, 10), (1, 9), (9, 1), (10, 0)])
    assert uneven[1] == pytest.approx(9 / 10 + 9 / 10) and uneven[2] == pytest.approx(9 / 10 + 9 / 10)
    assert np.all(crowding_distance([(1, 2), (2, 1)]) == np.inf)


def test_hypervolume_2d_by_hand() -> None:
    assert hypervolume([(1, 5), (2, 3), (3, 1)], (6, 6)) == pytest.approx(5 + 8 + 6)
    assert hypervolume([(1, 5), (2, 3), (3, 1), (4, 4)], (6, 6)) == pytest.approx(19)  # dominated adds nothing
    assert hypervolume([(7, 1)], (6, 6)) == 0.0  # outside the reference box
    assert hypervolume([], (6, 6)) == 0.0


def test_hypervolume_3d_by_hand() -> None:
    assert hypervolume([(1, 1, 1)], (2, 2, 2)) == pytest.approx(1)
    assert hypervolume([(0, 0, 1), (1, 1, 0)], (2, 2, 2)) == pytest.approx(4 + 2 - 1)


def _grid_hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    """Brute force: every cell of the grid of coordinates, counted when some point dominates it."""
    axes = [np.unique(np.append(points[:, k], ref[k])) for k in range(points.shape[1])]
    volume = 0.0
    for cell in itertools.product(*[range(len(a) - 1) for a in axes]):
        low = np.array([axes[k][i] for k, i in enumerate(cell)])
        size = np.prod([axes[k][i + 1] - axes[k][i] for k, i in enumerate(cell)])
        if np.any(np.all(points <= low, axis=1)):
            volume += size
    return float(volume)


@pytest.mark.parametrize("dims", [2, 3, 4])
def test_hypervolume_equals_brute_force(dims: int) -> None:
    rng = np.random.default_rng(dims)
    for _ in range(5):
        points = rng.random((7, dims))
        ref = np.full(dims, 1.1)
        assert hypervolume(points, ref) == pytest.approx(_grid_hypervolume(points, ref))
        assert exact_hypervolume(points, ref) == pytest.approx(_grid_hypervolume(points, ref))


@pytest.mark.parametrize("dims", [2, 3, 4, 5])
def test_our_hypervolume_agrees_with_moocore_on_random_fronts(dims: int) -> None:
    """Fronts on the unit sphere (every point non-dominated), some points outside the box, in 2-5 dimensions."""
    moocore = pytest.importorskip("moocore", reason="the reference library (the mo / test extra)")
    rng = np.random.default_rng(10 + dims)
    for size in (1, 12, 40 if dims < 5 else 20):
        points = np.abs(rng.normal(size=(size, dims)))
        points /= np.linalg.norm(points, axis=1, keepdims=True)
        ref = np.full(dims, 0.95)  # some coordinates beyond it: those points add nothing
        expected = float(moocore.hypervolume(points[np.all(points < ref, axis=1)], ref=ref)) if np.any(
            np.all(points < ref, axis=1)) else 0.0
        assert exact_hypervolume(points, ref) == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert hypervolume(points, ref) == pytest.approx(expected, rel=1e-9, abs=1e-12)
