"""Pareto fronts of stored searches: the non-dominated feasible trials, their hypervolume with a stated
reference point, and a plot of every pair of objectives with the front highlighted.

Values here are RAW metric values (accuracy in %, FLOPs, ms); ``Goal.losses`` turns them into the
minimised form of ``archsearch.core.pareto``. The reference point is given per objective in raw units
(``--reference-point 0,2.2e8``: accuracy 0, 220 M FLOPs); without one, the worst value of each objective
over the trials shown is used, which makes hypervolumes comparable only within one report.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

from archsearch.core.objectives import Goal
from archsearch.core.pareto import (front_hypervolume, front_indices, pareto_front, raw_values,  # noqa: F401
                                    to_losses, value_matrix, worst_reference)  # the numeric ones, re-exported
from archsearch.report.curves import SUFFIXES


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
