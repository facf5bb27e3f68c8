"""Percentile ranks (ties half), rank agreement and top-k overlap of aligned table columns (issue 24)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from archsearch.benchmarks.transfer import (disattenuated, percentile_of, percentile_ranks, rank_agreement, summarise_percentiles,
                                            top_k_overlap)


def test_percentile_counts_ties_half_like_scipy() -> None:
    from scipy.stats import percentileofscore

    values = [1.0, 2.0, 2.0, 3.0, math.nan]
    assert percentile_of(2.0, values) == pytest.approx(50.0)  # 1 below, 2 equal of 4 finite
    assert percentile_of(3.0, values) == pytest.approx(87.5)
    assert percentile_of(0.0, values) == 0.0 and percentile_of(9.0, values) == 100.0
    assert math.isnan(percentile_of(math.nan, values))
    rng = np.random.default_rng(0)
    column = rng.integers(0, 20, 200).astype(float)
    ranks = percentile_ranks(column)
    assert ranks == pytest.approx([percentileofscore(column, v, kind="mean") for v in column])


def test_percentile_ranks_keep_nan() -> None:
    ranks = percentile_ranks([3.0, math.nan, 1.0])
    assert ranks[0] == pytest.approx(75.0) and math.isnan(ranks[1]) and ranks[2] == pytest.approx(25.0)


def test_rank_agreement_of_aligned_columns() -> None:
    a = np.array([1.0, 2.0, 3.0, 4.0, math.nan])
    assert rank_agreement(a, a * 10) == {"archs": 4, "spearman": pytest.approx(1.0), "kendall_tau": pytest.approx(1.0)}
    reverse = rank_agreement(a, -a)
    assert reverse["spearman"] == pytest.approx(-1.0) and reverse["kendall_tau"] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="aligned"):
        rank_agreement([1.0, 2.0], [1.0, 2.0, 3.0])


def test_top_k_overlap() -> None:
    a = np.array([10.0, 9.0, 8.0, 1.0, 0.0])
    b = np.array([10.0, 0.0, 8.0, 9.0, 1.0])
    assert top_k_overlap(a, b, 1) == 1.0
    assert top_k_overlap(a, b, 2) == 0.5  # {0, 1} against {0, 3}
    assert top_k_overlap(a, b, 3) == pytest.approx(2 / 3)
    assert top_k_overlap(a, b, 99) == 1.0  # capped at the table
    assert top_k_overlap(-a, -b, 2, larger_is_better=False) == 0.5
    assert top_k_overlap([1.0, math.nan, 3.0], [1.0, 2.0, 3.0], 1) == 1.0
    with pytest.raises(ValueError):
        top_k_overlap(a, b, 0)


def test_summarise_percentiles() -> None:
    summary = summarise_percentiles([10.0, 50.0, 90.0, math.nan])
    assert summary["n"] == 3 and summary["median"] == 50.0 and summary["min"] == 10.0 and summary["mean"] == 50.0
    assert summarise_percentiles([])["n"] == 0


def test_disattenuated_correlation() -> None:
    assert disattenuated(0.3, 0.5, 0.5) == pytest.approx(0.6)
    assert disattenuated(0.4, 0.16, 1.0) == pytest.approx(1.0)
    assert math.isnan(disattenuated(0.3, 0.0, 0.5)) and math.isnan(disattenuated(math.nan, 0.5, 0.5))
