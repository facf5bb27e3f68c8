"""Holm's step-down correction (archsearch.core.stats)."""

from __future__ import annotations

import math

import pytest

from archsearch.core.stats import holm


def test_holm_adjusts_step_down_in_the_input_order() -> None:
    adjusted = holm([0.01, 0.04, 0.03, math.nan, 0.5])
    # sorted: 0.01 x 4, 0.03 x 3, 0.04 x 2 (raised to the running max 0.09), 0.5 x 1 (ditto)
    assert adjusted[:3] == pytest.approx([0.04, 0.09, 0.09]) and adjusted[4] == pytest.approx(0.5)
    assert math.isnan(adjusted[3])
    assert holm([0.02]) == [0.02] and holm([]) == []
    assert holm([0.4, 0.45, 0.6]) == [1.0, 1.0, 1.0]  # capped at 1
