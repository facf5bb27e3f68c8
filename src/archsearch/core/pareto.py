"""Pareto machinery for multi-objective NAS, every objective MINIMISED (``Goal.losses`` negates max metrics).

- ``non_dominated_sort``: Deb et al.'s fast non-dominated sort ("A fast and elitist multiobjective genetic
  algorithm: NSGA-II", IEEE TEVC 2002, Sec. III-A), with Deb's constrained domination (Sec. VI: a feasible
  point dominates an infeasible one; of two infeasible points the smaller violation dominates).
- ``crowding_distance``: NSGA-II's crowding distance (Sec. III-B): per objective, the normalised gap between
  a point's neighbours on the front; the extremes get infinity.
- ``hypervolume``: the exact volume dominated by a set and bounded by a reference point (Zitzler & Thiele
  1998): a sweep in 2-D, slicing along the last objective in 3-D and above (HSO, While et al. 2006).
  Points that do not strictly dominate the reference point add nothing. When the reference library moocore
  (López-Ibáñez et al., the ``mo`` extra) is installed, it computes the same volume (the tests cross-check both
  on random fronts in 2-5 dimensions), tens of times faster on a 200-point 2-D front and thousands of times in 3-D
  and above (``perf/hypervolume_speed.py``); ``exact_hypervolume`` is archsearch's own, always.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # objectives imports results, not this module; types only
    from archsearch.core.objectives import Goal
    from archsearch.core.result import Result


def _as_matrix(points: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    matrix = np.asarray(points, dtype=float)
    if matrix.ndim != 2:
        matrix = matrix.reshape(len(matrix), -1) if matrix.size else np.zeros((0, 1))
    return matrix


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """``a`` is no worse than ``b`` in every objective and better in one (minimisation)."""
    a_, b_ = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(a_ <= b_) and np.any(a_ < b_))


def _domination_matrix(points: np.ndarray, violation: np.ndarray | None) -> np.ndarray:
    """``D[i, j]``: point i (constrained-)dominates point j."""
    less_equal = np.all(points[:, None, :] <= points[None, :, :], axis=2)
    less = np.any(points[:, None, :] < points[None, :, :], axis=2)
    dominated = less_equal & less
    if violation is None:
        return dominated
    feasible = violation <= 0
    both_feasible = feasible[:, None] & feasible[None, :]
    smaller_violation = violation[:, None] < violation[None, :]
    return np.where(both_feasible, dominated, (feasible[:, None] & ~feasible[None, :])
                    | (~feasible[:, None] & ~feasible[None, :] & smaller_violation))


def non_dominated_sort(points: Sequence[Sequence[float]] | np.ndarray,
                       violation: Sequence[float] | None = None) -> list[list[int]]:
    """Fronts of indices: front 0 is non-dominated, front 1 is non-dominated once front 0 is removed, ...
    Each front is in ascending index order. Non-finite losses (failed trials) are dominated by finite ones."""
    matrix = np.nan_to_num(_as_matrix(points), nan=np.inf)
    if len(matrix) == 0:
        return []
    violations = None if violation is None else np.nan_to_num(np.asarray(violation, dtype=float), nan=np.inf)
    dominates_ = _domination_matrix(matrix, violations)
    dominated_count = dominates_.sum(axis=0)
    fronts: list[list[int]] = []
    current = np.flatnonzero(dominated_count == 0)
    while current.size:
        fronts.append(current.tolist())
        dominated_count = dominated_count - dominates_[current].sum(axis=0)
        dominated_count[current] = -1  # placed
        current = np.flatnonzero(dominated_count == 0)
    return fronts


def pareto_front(points: Sequence[Sequence[float]] | np.ndarray,
                 violation: Sequence[float] | None = None) -> list[int]:
    """Indices of the non-dominated points (the first front)."""
    fronts = non_dominated_sort(points, violation)
    return fronts[0] if fronts else []


def crowding_distance(points: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each point of ONE front (inf at each objective's extremes)."""
    matrix = _as_matrix(points)
    count, objectives = matrix.shape
    distance = np.zeros(count)
    if count <= 2:
        return np.full(count, np.inf)
    for m in range(objectives):
        order = np.argsort(matrix[:, m], kind="stable")
        values = matrix[order, m]
        distance[order[0]] = distance[order[-1]] = np.inf
        span = values[-1] - values[0]
        if not np.isfinite(span) or span <= 0:
            continue
        distance[order[1:-1]] += (values[2:] - values[:-2]) / span
    return distance


def hypervolume(points: Sequence[Sequence[float]] | np.ndarray, reference: Sequence[float]) -> float:
    """The exact hypervolume dominated by ``points`` within the box bounded by ``reference`` (moocore's when it
    is installed, else :func:`exact_hypervolume`)."""
    library = _moocore()
    if library is None:
        return exact_hypervolume(points, reference)
    ref = np.asarray(reference, dtype=float)
    matrix = _as_matrix(points)
    if matrix.size and matrix.shape[1] != ref.size:
        raise ValueError(f"points have {matrix.shape[1]} objectives, the reference point {ref.size}")
    inside = matrix[np.all(np.isfinite(matrix), axis=1) & np.all(matrix < ref, axis=1)] if matrix.size else matrix
    return float(library.hypervolume(inside, ref=ref)) if len(inside) else 0.0


@functools.lru_cache(maxsize=1)
def _moocore() -> object | None:
    try:
        import moocore
    except ImportError:
        return None
    return moocore


def exact_hypervolume(points: Sequence[Sequence[float]] | np.ndarray, reference: Sequence[float]) -> float:
    """archsearch's own exact hypervolume (a 2-D sweep, HSO slicing above), without the reference library."""
    ref = np.asarray(reference, dtype=float)
    matrix = _as_matrix(points)
    if matrix.size == 0:
        return 0.0
    if matrix.shape[1] != ref.size:
        raise ValueError(f"points have {matrix.shape[1]} objectives, the reference point {ref.size}")
    inside = matrix[np.all(np.isfinite(matrix), axis=1) & np.all(matrix < ref, axis=1)]
    if len(inside) == 0:
        return 0.0
    return float(_hso(inside[pareto_front(inside)], ref))


def _hso(points: np.ndarray, ref: np.ndarray) -> float:
    if points.shape[1] == 1:
        return float(ref[0] - points[:, 0].min())
    if points.shape[1] == 2:
        return _sweep_2d(points, ref)
    order = np.argsort(points[:, -1], kind="stable")
    points = points[order]
    volume = 0.0
    for i in range(len(points)):  # slab between this point's last coordinate and the next one's
        top = points[i + 1, -1] if i + 1 < len(points) else ref[-1]
        depth = top - points[i, -1]
        if depth > 0:
            slab = points[: i + 1, :-1]
            volume += depth * _hso(slab[pareto_front(slab)], ref[:-1])
    return volume


def _sweep_2d(points: np.ndarray, ref: np.ndarray) -> float:
    order = np.lexsort((points[:, 1], points[:, 0]))
    area, best_y = 0.0, ref[1]
    for x, y in points[order]:
        if y < best_y:
            area += (ref[0] - x) * (best_y - y)
            best_y = y
    return float(area)


# -- fronts of results in raw metric units (accuracy in %, FLOPs, ms), as reports and compare show them --
def front_indices(results: Sequence[Result], goal: Goal) -> list[int]:
    """Indices of the ok, feasible, non-dominated results, sorted by the first objective (best first)."""
    candidates = [i for i, r in enumerate(results) if r.ok and goal.feasible(r)
                  and all(math.isfinite(v) for v in goal.losses(r))]
    if not candidates:
        return []
    losses = np.asarray([goal.losses(results[i]) for i in candidates])
    front = [candidates[k] for k in pareto_front(losses)]
    return sorted(front, key=lambda i: goal.losses(results[i]))


def raw_values(result: Result, goal: Goal) -> list[float]:
    return [result.metric(o.metric) for o in goal.objectives]


def worst_reference(results: Sequence[Result] | np.ndarray, goal: Goal) -> list[float] | None:
    """Per objective, the worst raw value among the ok feasible results (None when there are none)."""
    matrix = results if isinstance(results, np.ndarray) else value_matrix(results, goal)
    if len(matrix) == 0:
        return None
    return [float(matrix[:, k].min() if o.direction == "max" else matrix[:, k].max())
            for k, o in enumerate(goal.objectives)]


def to_losses(raw: Sequence[float], goal: Goal) -> list[float]:
    return [-v if o.direction == "max" else v for v, o in zip(raw, goal.objectives)]


def front_hypervolume(results: Sequence[Result], goal: Goal, reference: Sequence[float]) -> float:
    """Hypervolume (raw units) of the feasible front of ``results`` w.r.t. the raw ``reference`` point."""
    points = [goal.losses(results[i]) for i in front_indices(results, goal)]
    return hypervolume(points, to_losses(reference, goal)) if points else 0.0


def value_matrix(results: Sequence[Result], goal: Goal) -> np.ndarray:
    """Raw objective values (one row per ok, feasible result with finite values)."""
    rows = [raw_values(r, goal) for r in results if r.ok and goal.feasible(r)]
    rows = [row for row in rows if all(math.isfinite(v) for v in row)]
    return np.asarray(rows, dtype=float).reshape(len(rows), len(goal.objectives))
