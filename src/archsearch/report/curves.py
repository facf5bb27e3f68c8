"""Anytime curves of a strategy comparison: mean best-so-far reported metric vs simulated seconds or trials.

The curve of one strategy is the mean over seeds of a step function per seed (at x, the reported metric
of the best arch found by then; NaN before the seed's first trial, the final value after its last), on a
common grid; the band is the 95% confidence interval of that mean, mean +- t(0.975, n-1) * std / sqrt(n)
with n the seeds that have a value at x. This is the "anytime performance" plot of NAS-Bench-201
(Dong & Yang, ICLR 2020, Fig. 7) and of the NAS best-practices checklist (Lindauer & Hutter, JMLR 2020).

Input is the ``results`` mapping of ``archsearch.compare.compare_strategies`` (or the ``results`` of a
``compare --json --trajectories`` file): ``{"<strategy>": {"trajectories": [{"cost": [...],
"reported": [...]}, ...], "mean": ..., "std": ...}}``. Drawn with a bare ``Figure`` and the Agg canvas,
so pyplot's global state is never touched.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

X_LABELS = {"cost": "simulated seconds", "trials": "trials"}
GRID_POINTS = 2000  # at most this many x values per curve
SUFFIXES = (".png", ".svg")

# t(0.975, df) for df = 1 .. 30 (two-sided 95%); beyond, the Cornish-Fisher expansion below is within 1e-4.
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
         2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
         2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
Z_975 = 1.959963984540054


def t_quantile_975(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom (nan for df < 1)."""
    if df < 1:
        return math.nan
    try:
        from scipy.stats import t as student_t  # optional: scipy is not a dependency
    except ImportError:
        pass
    else:
        return float(student_t.ppf(0.975, df))
    if df <= len(T_975):
        return T_975[df - 1]
    z, v = Z_975, float(df)
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3))


@dataclass(frozen=True)
class Band:
    """Mean and 95% band of the best-so-far value over seeds at each grid point."""

    grid: np.ndarray
    mean: np.ndarray  # nan where no seed has a value yet
    low: np.ndarray  # nan where fewer than two seeds have a value
    high: np.ndarray
    count: np.ndarray  # seeds with a value


def x_values(trajectory: Mapping[str, Sequence[float]], x: str) -> np.ndarray:
    """The x coordinate of each trial: cumulative cost, or the trial count 1, 2, ..."""
    if x == "cost":
        return np.asarray(trajectory["cost"], dtype=float)
    if x == "trials":
        return np.arange(1, len(trajectory["reported"]) + 1, dtype=float)
    raise ValueError(f"x must be one of {', '.join(X_LABELS)}, got {x!r}")


def step_values(xs: np.ndarray, values: Sequence[float | None], grid: np.ndarray) -> np.ndarray:
    """At each grid point, the value of the last trial at or before it (nan before the first trial)."""
    values = np.asarray(values, dtype=float)  # None (from JSON) becomes nan
    index = np.searchsorted(xs, grid, side="right") - 1
    out = np.full(len(grid), np.nan)
    reached = index >= 0
    out[reached] = values[index[reached]]
    return out


def common_grid(trajectories: Sequence[Mapping[str, Sequence[float]]], x: str,
                points: int = GRID_POINTS) -> np.ndarray:
    """Every x at which some run's best-so-far may change (thinned to ``points`` evenly spaced values)."""
    arrays = [x_values(t, x) for t in trajectories]
    grid = np.unique(np.concatenate(arrays)) if arrays else np.zeros(0)
    grid = grid[np.isfinite(grid)]
    if len(grid) > points:
        grid = np.linspace(grid[0], grid[-1], points)
    return grid


def anytime_band(trajectories: Sequence[Mapping[str, Sequence[float]]], grid: np.ndarray, x: str = "cost") -> Band:
    """Mean and 95% t-interval over seeds of the step functions, averaging only seeds with a value."""
    grid = np.asarray(grid, dtype=float)
    if not trajectories:
        empty = np.full(len(grid), np.nan)
        return Band(grid, empty, empty, empty, np.zeros(len(grid), dtype=int))
    matrix = np.vstack([step_values(x_values(t, x), t["reported"], grid) for t in trajectories])
    present = np.isfinite(matrix)
    count = present.sum(axis=0)
    filled = np.where(present, matrix, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, filled.sum(axis=0) / count, np.nan)
        squares = np.where(present, (matrix - mean) ** 2, 0.0).sum(axis=0)
        std = np.where(count > 1, np.sqrt(squares / (count - 1)), np.nan)
        t_values = np.full(len(count), np.nan)
        for n in np.unique(count):
            t_values[count == n] = t_quantile_975(int(n) - 1)
        half = t_values * std / np.sqrt(count)
    return Band(grid, mean, mean - half, mean + half, count)


def plot_anytime(results: Mapping[str, Mapping[str, Any]], path: str | Path, *, x: str = "cost",
                 title: str | None = None, optimum: float | None = None, ylabel: str | None = None) -> Path:
    """Write the anytime plot of ``results`` (one line and 95% band per strategy) to ``path`` (.png/.svg)."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"plot file must end in {' or '.join(SUFFIXES)}, got {path.name!r}")
    figure = anytime_figure(results, x=x, title=title, optimum=optimum, ylabel=ylabel)
    figure.savefig(path, format=path.suffix.lower().lstrip("."), dpi=120)
    return path


def anytime_figure(results: Mapping[str, Mapping[str, Any]], *, x: str = "cost", title: str | None = None,
                   optimum: float | None = None, ylabel: str | None = None) -> Any:
    """The anytime plot of ``results``: one line (mean best-so-far) and 95% band per strategy."""
    from archsearch.report.figures import new_figure

    if x not in X_LABELS:
        raise ValueError(f"x must be one of {', '.join(X_LABELS)}, got {x!r}")
    figure = new_figure(8, 5)
    axes = figure.add_subplot()
    late_ranges = []
    for name, summary in results.items():
        trajectories = summary.get("trajectories") or []
        if not trajectories:
            raise ValueError(f"results for {name!r} carry no trajectories")
        band = anytime_band(trajectories, common_grid(trajectories, x), x)
        (line,) = axes.plot(band.grid, band.mean, drawstyle="steps-post", label=_legend_label(name, summary))
        axes.fill_between(band.grid, band.low, band.high, step="post", color=line.get_color(), alpha=0.2,
                          linewidth=0, where=np.isfinite(band.low))
        late_ranges.append(_late_range(band))
    if optimum is not None and math.isfinite(optimum):
        axes.axhline(optimum, color="black", linestyle="--", linewidth=1, label=f"table optimum {optimum:.2f}")
    _focus_y(axes, late_ranges, optimum)
    axes.set_xlabel(X_LABELS[x])
    axes.set_ylabel(textwrap.fill(ylabel or "reported metric of the best-so-far arch", 60))
    axes.set_title(textwrap.fill(title or "anytime performance (mean and 95% band over seeds)", 80))
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower right")
    return figure


def _legend_label(name: str, summary: Mapping[str, Any]) -> str:
    finals = np.asarray([_last(t["reported"]) for t in summary["trajectories"]], dtype=float)
    mean, std = summary.get("mean"), summary.get("std")  # None: absent, or null (nan) in a JSON file
    mean = float(np.mean(finals)) if mean is None else mean
    std = (float(np.std(finals, ddof=1)) if len(finals) > 1 else 0.0) if std is None else std
    return f"{name}: final {mean:.2f} ± {std:.2f} (n={len(finals)})"


def _last(values: Sequence[float | None]) -> float:
    return math.nan if not values or values[-1] is None else float(values[-1])


def _late_range(band: Band) -> tuple[float, float]:
    """The band's lowest and highest values over the last 90% of the x range (the first trials, with few
    seeds and a wide band, would otherwise stretch the axis)."""
    if len(band.grid) == 0:
        return math.nan, math.nan
    late = band.grid >= band.grid[0] + 0.1 * (band.grid[-1] - band.grid[0])
    values = np.concatenate([band.low[late], band.mean[late], band.high[late]])
    values = values[np.isfinite(values)]
    return (float(values.min()), float(values.max())) if values.size else (math.nan, math.nan)


def _focus_y(axes: Any, ranges: Sequence[tuple[float, float]], optimum: float | None) -> None:
    """Zoom the y axis on where the curves spend most of the budget (the early climb is cut off)."""
    lows = [low for low, _ in ranges if math.isfinite(low)]
    highs = [high for _, high in ranges if math.isfinite(high)]
    if optimum is not None and math.isfinite(optimum):
        highs.append(optimum)
    if not lows or not highs:
        return
    bottom, top = min(lows), max(highs)
    margin = 0.08 * (top - bottom) if top > bottom else 1.0
    axes.set_ylim(bottom - margin, top + margin)
