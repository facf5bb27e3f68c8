"""Pareto fronts of stored searches: the non-dominated feasible trials, their hypervolume with a stated
reference point, and a plot of every pair of objectives with the front highlighted.

Values here are RAW metric values (accuracy in %, FLOPs, ms); ``Goal.losses`` turns them into the
minimised form of ``archsearch.core.pareto``. The reference point is given per objective in raw units
(``--reference-point 0,2.2e8``: accuracy 0, 220 M FLOPs); without one, the worst value of each objective
over the trials shown is used, which makes hypervolumes comparable only within one report.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from archsearch.core.objectives import Goal
from archsearch.core.pareto import hypervolume, pareto_front
from archsearch.core.result import Result
from archsearch.report.curves import SUFFIXES


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


def plot_fronts(sets: dict[str, np.ndarray], goal: Goal, path: str | Path, title: str = "") -> Path:
    """``fronts_figure`` saved as .png or .svg."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"plot file must end in {' or '.join(SUFFIXES)}, got {path.name!r}")
    fronts_figure(sets, goal, title).savefig(path, format=path.suffix.lower().lstrip("."), dpi=120)
    return path


def fronts_figure(sets: dict[str, np.ndarray], goal: Goal, title: str = "") -> Any:
    """Scatter every pair of objectives for each named matrix of raw values (rows: archs); the pair's
    non-dominated points are joined and drawn large, the rest as small dots."""
    from archsearch.report.figures import new_figure

    pairs = list(itertools.combinations(range(len(goal.objectives)), 2)) or [(0, 0)]
    figure = new_figure(6 * len(pairs), 5)
    for panel, (a, b) in enumerate(pairs, start=1):
        axes = figure.add_subplot(1, len(pairs), panel)
        for name, values in sets.items():
            _scatter_pair(axes, name, np.asarray(values, dtype=float), goal, a, b)
        axes.set_xlabel(str(goal.objectives[a]))
        axes.set_ylabel(str(goal.objectives[b]))
        axes.grid(True, alpha=0.3)
        axes.legend(loc="best", fontsize="small")
    if title:
        figure.suptitle(title)
    return figure


def _scatter_pair(axes: Any, name: str, values: np.ndarray, goal: Goal, a: int, b: int) -> None:
    if values.size == 0:
        return
    (dots,) = axes.plot(values[:, a], values[:, b], ".", alpha=0.35, markersize=4)
    signs = np.asarray([-1.0 if goal.objectives[k].direction == "max" else 1.0 for k in (a, b)])
    front = values[pareto_front(values[:, [a, b]] * signs)][:, [a, b]]
    order = np.argsort(front[:, 0], kind="stable")
    axes.plot(front[order, 0], front[order, 1], "o-", color=dots.get_color(), markersize=6,
              label=f"{name}: front of {len(front)}")
