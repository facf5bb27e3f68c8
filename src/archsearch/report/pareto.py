"""Pareto fronts of stored searches: the non-dominated feasible trials, their hypervolume with a stated
reference point, and a plot of every pair of objectives with the front highlighted.

The axes of the plot keep to the non-degenerate region: on each objective's worse side, points beyond Tukey's
far-out fence (Q1 - 3 IQR for a maximised metric, Q3 + 3 IQR for a minimised one: dead networks at chance
accuracy, say) are left off the axes, and the legend says how many. Nothing is clipped when that would hide
half of the points or more.

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

FENCE = 3.0  # interquartile ranges beyond the quartile on an objective's worse side: degenerate points
MIN_WINDOW_POINTS = 8  # fewer points: the axes show them all


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
    arrays = {name: np.asarray(values, dtype=float).reshape(-1, len(goal.objectives)) for name, values in sets.items()}
    pooled = np.vstack(list(arrays.values())) if arrays else np.zeros((0, len(goal.objectives)))
    bounds, _ = plot_window(pooled, goal)
    figure = new_figure(6 * len(pairs), 5)
    for panel, (a, b) in enumerate(pairs, start=1):
        axes = figure.add_subplot(1, len(pairs), panel)
        for name, values in arrays.items():
            _scatter_pair(axes, name if len(arrays) > 1 else "", values, goal, a, b)
        _clip_axes(axes, pooled, bounds, goal, (a, b))
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
    label = f"Pareto front ({len(np.unique(front, axis=0))} archs)"
    axes.plot(front[order, 0], front[order, 1], "o-", color=dots.get_color(), markersize=6,
              label=f"{name}: {label}" if name else label)


def plot_window(values: np.ndarray, goal: Goal) -> tuple[np.ndarray, np.ndarray]:
    """Per objective the bound on its worse side beyond which a point is degenerate (nan: none), and the
    mask of the rows of ``values`` (raw values, one column per objective) inside every bound."""
    values = np.asarray(values, dtype=float).reshape(-1, len(goal.objectives))
    bounds = np.full(len(goal.objectives), np.nan)
    keep_all = (bounds, np.ones(len(values), dtype=bool))
    if len(values) < MIN_WINDOW_POINTS:
        return keep_all
    for k, objective in enumerate(goal.objectives):
        low, high = np.percentile(values[:, k], [25, 75])
        if high > low:
            bounds[k] = low - FENCE * (high - low) if objective.direction == "max" else high + FENCE * (high - low)
    kept = np.all([_inside(values[:, k], bounds[k], o.direction) for k, o in enumerate(goal.objectives)], axis=0)
    return (bounds, kept) if 2 * kept.sum() > len(values) else keep_all


def _inside(column: np.ndarray, bound: float, direction: str) -> np.ndarray:
    if np.isnan(bound):
        return np.ones(len(column), dtype=bool)
    return column >= bound if direction == "max" else column <= bound


def window_note(values: np.ndarray, goal: Goal) -> str:
    """What ``plot_window`` leaves off the axes, in words ("" when nothing)."""
    values = np.asarray(values, dtype=float).reshape(-1, len(goal.objectives))
    bounds, kept = plot_window(values, goal)
    if kept.all():
        return ""
    sides = [f"{o.metric} {'below' if o.direction == 'max' else 'above'} {bound:.4g}"
             for k, (o, bound) in enumerate(zip(goal.objectives, bounds))
             if not _inside(values[:, k], bound, o.direction).all()]
    return (f"Left off the axes as degenerate: {_archs(int((~kept).sum()))} of {len(kept)} ({' or '.join(sides)}, "
            f"beyond {FENCE:g} interquartile ranges from the bulk).")


def _archs(count: int) -> str:
    return f"{count} arch{'' if count == 1 else 's'}"


def _clip_axes(axes: Any, values: np.ndarray, bounds: np.ndarray, goal: Goal, pair: tuple[int, int]) -> None:
    """Limit the panel of objectives ``pair`` to the points inside ``bounds``; the legend counts the others."""
    a, b = pair
    inside = _inside(values[:, a], bounds[a], goal.objectives[a].direction) & \
        _inside(values[:, b], bounds[b], goal.objectives[b].direction)
    if inside.all() or not inside.any():
        return
    for k, set_limits in ((a, axes.set_xlim), (b, axes.set_ylim)):
        low, high = float(values[inside, k].min()), float(values[inside, k].max())
        pad = 0.05 * (high - low) if high > low else max(abs(high) * 0.05, 1.0)
        set_limits(low - pad, high + pad)
    axes.plot([], [], " ", label=f"{_archs(int((~inside).sum()))} outside the axes (degenerate)")
