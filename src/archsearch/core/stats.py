"""Multiple-comparison correction shared by the reports and the activation evaluation: Holm's step-down method
(S. Holm, "A Simple Sequentially Rejective Multiple Test Procedure", Scand. J. Statist. 6, 1979), which controls
the family-wise error rate of m tests without assuming them independent."""

from __future__ import annotations

import math
from collections.abc import Sequence


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values in the input order: sorted ascending, ``p_(i) * (m - i)`` (i from 0) made
    non-decreasing and capped at 1, over the m finite ones; nan stays nan."""
    order = [i for i in sorted(range(len(p_values)), key=lambda i: p_values[i]) if math.isfinite(p_values[i])]
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
