"""Anytime curves: the step interpolation, the 95% band and the written image."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from archsearch.report.curves import anytime_band, common_grid, plot_anytime, step_values, t_quantile_975

# three hand-made runs: (cumulative cost, best-so-far reported value) per trial
RUNS = [{"cost": [1.0, 3.0], "reported": [10.0, 20.0]},
        {"cost": [2.0, 4.0], "reported": [12.0, 14.0]},
        {"cost": [2.0, 5.0], "reported": [11.0, 17.0]}]


def test_t_quantiles() -> None:
    assert t_quantile_975(1) == pytest.approx(12.706, abs=1e-3)
    assert t_quantile_975(2) == pytest.approx(4.303, abs=1e-3)
    assert t_quantile_975(29) == pytest.approx(2.045, abs=1e-3)
    assert t_quantile_975(99) == pytest.approx(1.984, abs=1e-3)
    assert t_quantile_975(10_000) == pytest.approx(1.960, abs=1e-3)
    assert math.isnan(t_quantile_975(0))


def test_step_values_hold_the_last_value_and_are_nan_before_the_first_trial() -> None:
    values = step_values(np.array([1.0, 3.0]), [10.0, 20.0], np.array([0.0, 1.0, 2.0, 3.0, 9.0]))
    assert math.isnan(values[0]) and values[1:].tolist() == [10.0, 10.0, 20.0, 20.0]
    assert math.isnan(step_values(np.array([1.0]), [None], np.array([2.0]))[0])  # null from JSON


def test_band_on_a_hand_made_example() -> None:
    band = anytime_band(RUNS, np.array([0.0, 1.0, 2.0, 5.0]), x="cost")
    assert band.count.tolist() == [0, 1, 3, 3]
    assert math.isnan(band.mean[0]) and band.mean[1] == 10.0  # only the seed that has a value is averaged
    assert math.isnan(band.low[1]) and math.isnan(band.high[1])  # one seed: no band
    half = 4.303 * 1.0 / math.sqrt(3)  # at x=2: values 10, 12, 11 -> mean 11, std 1
    assert band.mean[2] == pytest.approx(11.0)
    assert (band.low[2], band.high[2]) == pytest.approx((11 - half, 11 + half), abs=1e-3)
    half = 4.303 * 3.0 / math.sqrt(3)  # at x=5: values 20, 14, 17 -> mean 17, std 3
    assert (band.mean[3], band.low[3], band.high[3]) == pytest.approx((17.0, 17 - half, 17 + half), abs=1e-3)


def test_grid_by_trials() -> None:
    assert common_grid(RUNS, "trials").tolist() == [1.0, 2.0]
    band = anytime_band(RUNS, common_grid(RUNS, "trials"), x="trials")
    assert band.mean.tolist() == pytest.approx([11.0, 17.0])
    assert common_grid(RUNS, "cost").tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_png_and_svg_are_written(tmp_path: Path) -> None:
    from matplotlib.image import imread

    results = {"a": {"trajectories": RUNS, "mean": 17.0, "std": 3.0},
               "b": {"trajectories": [{"cost": [1.0, 2.0], "reported": [9.0, 18.0]}] * 2}}
    png = plot_anytime(results, tmp_path / "curve.png", title="test", optimum=21.0)
    assert png.stat().st_size > 0
    image = imread(png)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    svg = plot_anytime(results, tmp_path / "curve.svg", x="trials")
    assert svg.read_text().lstrip().startswith("<?xml")
    with pytest.raises(ValueError, match=".png or .svg"):
        plot_anytime(results, tmp_path / "curve.jpg")
