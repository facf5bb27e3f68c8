"""How an architecture's standing carries across the datasets of tables (issue 24: "dataset specific or
general purpose?").

A table gives, per dataset, one value per arch (e.g. NB201's 200-epoch test accuracy on CIFAR-10, CIFAR-100 and
ImageNet16-120 for the same 15,625 cells, aligned by arch index). Three measures compare them:

- :func:`percentile_ranks` / :func:`percentile_of`: the percentile rank of a value among a table's values, ties
  counted half (scipy's ``percentileofscore(kind="mean")``; the convention of issue 22's "share of the table cells
  it beats"): 100 is above every other arch, 50 the median;
- :func:`rank_agreement`: Spearman's rho and Kendall's tau-b (Kendall 1945: ties corrected) of two aligned columns,
  the whole-table rank correlation across datasets that the NB201 paper reports for its three datasets (Dong &
  Yang, ICLR 2020, Sec. 5) and TransNAS-Bench-101 across tasks (Duan et al., CVPR 2021);
- :func:`disattenuated`: a correlation between two noisy tables corrected for their noise (Spearman's correction
  for attenuation, Spearman 1904, "The proof and measurement of association between two things": r_xy divided by
  the square root of the product of each table's reliability, here its seed-to-seed correlation);
- :func:`top_k_overlap`: the share of one dataset's k best archs that are among the other's k best (the
  top-k agreement used alongside tau when only the best archs matter; ties broken by arch index).

Missing values (nan: an arch a table lacks or a failed training) are left out of every measure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["disattenuated", "percentile_of", "percentile_ranks", "rank_agreement", "summarise_percentiles", "top_k_overlap"]


def _finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def percentile_of(value: float, values: Sequence[float] | np.ndarray) -> float:
    """The percentile rank of ``value`` among the finite ``values``: 100 x (share below + half the share equal);
    nan when ``value`` is nan or there are no finite values."""
    finite = _finite(values)
    if not math.isfinite(value) or finite.size == 0:
        return math.nan
    below = np.count_nonzero(finite < value)
    equal = np.count_nonzero(finite == value)
    return 100.0 * (below + 0.5 * equal) / finite.size


def percentile_ranks(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """:func:`percentile_of` of every entry among all finite entries (nan stays nan), in O(n log n)."""
    array = np.asarray(values, dtype=float)
    out = np.full(array.shape, math.nan)
    mask = np.isfinite(array)
    finite = np.sort(array[mask])
    if finite.size:
        below = np.searchsorted(finite, array[mask], side="left")
        not_above = np.searchsorted(finite, array[mask], side="right")
        out[mask] = 100.0 * (below + 0.5 * (not_above - below)) / finite.size
    return out


def _pairs(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    first, second = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if first.shape != second.shape:
        raise ValueError(f"the columns are not aligned: {first.shape} and {second.shape}")
    mask = np.isfinite(first) & np.isfinite(second)
    return first[mask], second[mask]


def rank_agreement(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Spearman's rho, Kendall's tau-b and the number of archs with a finite value in both aligned columns."""
    from scipy.stats import kendalltau, spearmanr

    first, second = _pairs(a, b)
    if first.size < 3:
        return {"archs": int(first.size), "spearman": math.nan, "kendall_tau": math.nan}
    return {"archs": int(first.size), "spearman": float(spearmanr(first, second)[0]),
            "kendall_tau": float(kendalltau(first, second)[0])}


def disattenuated(r_xy: float, r_xx: float, r_yy: float) -> float:
    """``r_xy / sqrt(r_xx * r_yy)``: the correlation two tables would have without their training noise, given each
    one's reliability (nan when a reliability is not positive; it may exceed 1 when the reliabilities are noisy)."""
    if not (r_xx > 0 and r_yy > 0) or not math.isfinite(r_xy):
        return math.nan
    return r_xy / math.sqrt(r_xx * r_yy)


def _top(values: np.ndarray, k: int) -> set[int]:
    order = np.lexsort((np.arange(values.size), -values))  # descending value, ties by index
    return set(order[:k].tolist())


def top_k_overlap(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, k: int,
                  larger_is_better: bool = True) -> float:
    """The share of the ``k`` best archs by ``a`` that are among the ``k`` best by ``b`` (archs finite in both;
    ``k`` is capped at their number)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    first, second = _pairs(a, b)
    if first.size == 0:
        return math.nan
    sign = 1.0 if larger_is_better else -1.0
    k = min(k, first.size)
    top_a, top_b = _top(sign * first, k), _top(sign * second, k)
    return len(top_a & top_b) / k


def summarise_percentiles(values: Sequence[float]) -> dict[str, float]:
    """Mean, median, quartiles, minimum and count of the finite percentiles (nan when there are none)."""
    finite = _finite(values)
    if finite.size == 0:
        return {"n": 0, "mean": math.nan, "median": math.nan, "q25": math.nan, "q75": math.nan, "min": math.nan}
    q25, median, q75 = np.percentile(finite, [25, 50, 75])
    return {"n": int(finite.size), "mean": float(finite.mean()), "median": float(median), "q25": float(q25),
            "q75": float(q75), "min": float(finite.min())}
