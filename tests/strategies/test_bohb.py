"""BOHB's model: Aitchison-Aitken and Gaussian kernels, the good/bad split, proposals that follow the model."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np
import pytest

from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Dim
from archsearch.core.errors import UserError
from archsearch.core.objectives import Objective
from archsearch.core.result import Result
from archsearch.core.space import SearchSpace
from archsearch.spaces.nb201 import NB201Space
from archsearch.strategies.bohb import BOHB, ProductKDE, aitchison_aitken
from tests.conftest import MixedSpace

NB201 = NB201Space()
BEST = {name: dim.options[i % dim.size] for i, (name, dim) in enumerate(NB201.dims().items())}


def one_best_op(arch: Arch, fidelity: float = 1.0) -> Result:
    """Synthetic objective: how many edges carry their edge's best op."""
    return Result(arch, {"valid_acc": float(sum(arch[n] == BEST[n] for n in BEST))}, 1.0, fidelity)


def best_share(archs: list[Arch]) -> float:
    return float(np.mean([sum(a[n] == BEST[n] for n in BEST) / len(BEST) for a in archs]))


def bound(space: SearchSpace = NB201, fidelities: tuple[float, ...] = (1.0,), seed: int = 0, **options: Any) -> BOHB:
    strategy = BOHB(**options)
    strategy.bind(space, [Objective("valid_acc")], np.random.default_rng(seed), fidelities)
    return strategy


@pytest.mark.parametrize("levels", [2, 3, 5, 7])
@pytest.mark.parametrize("h", [1e-3, 0.2, 0.5])
def test_aitchison_aitken_sums_to_one(levels: int, h: float) -> None:
    h = min(h, (levels - 1) / levels)
    options = np.arange(levels)[:, None]
    for point in range(levels):
        kernel = aitchison_aitken(options, np.array([point]), h, levels)[:, 0]
        assert kernel.sum() == pytest.approx(1.0) and kernel[point] == pytest.approx(1 - h)
        assert (kernel > 0).all()


class TwoDims(SearchSpace):
    name = "two-dims-test"

    def dims(self) -> dict[str, Dim]:
        return {"a": Categorical(["x", "y", "z"]), "b": Categorical([1, 2, 3, 4])}


def test_fitted_kde_is_a_distribution_over_the_space() -> None:
    data = np.array([[0, 1], [0, 1], [2, 3], [0, 0], [1, 1]])
    kde = ProductKDE.fit(data, np.array([3, 4]), np.array([False, False]), 1e-3)
    assert all(1e-3 <= h <= (c - 1) / c for h, c in zip(kde.bandwidths, (3, 4)))
    grid = np.array(list(itertools.product(range(3), range(4))))
    assert np.exp(kde.log_pdf(grid)).sum() == pytest.approx(1.0)
    same = ProductKDE.fit(np.zeros((8, 2), dtype=np.int64), np.array([3, 4]), np.array([False, False]), 1e-3)
    assert same.bandwidths.tolist() == [1e-3, 1e-3]  # all agree: the narrowest kernel


def test_ordered_samples_stay_in_range() -> None:
    rng = np.random.default_rng(0)
    edge = ProductKDE.fit(np.array([[0], [0], [1], [2]]), np.array([57]), np.array([True]), 1e-3)
    codes = edge.sample(2000, rng, 3.0)[:, 0]
    assert codes.min() >= 0 and codes.max() <= 56 and np.mean(codes <= 5) > 0.9  # truncated at the low end
    middle = ProductKDE.fit(np.array([[30], [31], [32], [30]]), np.array([57]), np.array([True]), 1e-3)
    codes = middle.sample(2000, rng, 1.0)[:, 0]
    assert 29 <= np.median(codes) <= 32 and np.mean(abs(codes - 31) <= 5) > 0.9


def test_no_model_before_n_min_plus_two_observations() -> None:
    strategy = bound()
    assert strategy.n_min == 7  # six NB201 edges + 1
    rng = np.random.default_rng(1)
    strategy.tell([one_best_op(NB201.sample(rng)) for _ in range(8)])
    assert strategy.fit_model() is None
    strategy.tell([one_best_op(NB201.sample(rng))])
    good, bad = strategy.fit_model()
    assert len(good.data) == 7 and len(bad.data) == 7  # the paper's max(N_min, ...) split


def test_model_uses_the_highest_rung_with_enough_observations() -> None:
    strategy = bound(fidelities=(1.0, 3.0, 9.0))
    rng = np.random.default_rng(2)
    strategy.tell([one_best_op(NB201.sample(rng), 1.0) for _ in range(40)])
    strategy.tell([one_best_op(NB201.sample(rng).replace(edge_0_1="avg_pool_3x3"), 3.0) for _ in range(9)])
    strategy.tell([one_best_op(NB201.sample(rng), 9.0) for _ in range(8)])  # too few at the top rung
    good, bad = strategy.fit_model()
    assert (good.data[:, 0] == 4).all() and (bad.data[:, 0] == 4).all()


def test_proposals_follow_the_model() -> None:
    strategy = bound()
    rng = np.random.default_rng(3)
    strategy.tell([one_best_op(NB201.sample(rng)) for _ in range(40)])
    model = strategy.fit_model()
    proposals = [strategy.propose(model, set()) for _ in range(100)]
    assert best_share(proposals) > 0.4  # chance: 1 / 5 per edge
    assert best_share([NB201.sample(rng) for _ in range(100)]) < 0.3


def test_bohb_search_concentrates_on_the_best_ops() -> None:
    strategy = bound(seed=4)
    asked = []
    for _ in range(80):
        (request,) = strategy.ask_trials(1)
        asked.append(request.arch)
        strategy.tell([one_best_op(request.arch, request.fidelity)])
    assert best_share(asked[-40:]) > 0.4


def test_proposals_respect_constraints_and_integer_ranges() -> None:
    space = MixedSpace()  # 'skip' cannot be deeper than 4; the objective wants skip and depth 6
    strategy = bound(space, (1.0, 3.0), seed=5, random_fraction=0.0)
    for _ in range(60):
        (request,) = strategy.ask_trials(1)
        arch = request.arch
        assert space.is_valid(arch)
        score = (arch["op"] == "skip") + arch["depth"] / 6 - abs(arch["width"] - 20) / 56
        strategy.tell([Result(arch, {"valid_acc": score}, 1.0, request.fidelity)])
    assert strategy.fit_model() is not None


def test_failed_observations_rank_worst() -> None:
    strategy = bound(min_points_in_model=2, top_n_percent=50)
    rng = np.random.default_rng(6)
    archs = [NB201.sample(rng) for _ in range(6)]
    strategy.tell([Result(a, {}, 1.0, 1.0, "failed", "boom") for a in archs[:3]])
    strategy.tell([one_best_op(a) for a in archs[3:]])
    good, _ = strategy.fit_model()
    codes = {tuple(NB201.encode(a, "index").astype(int)) for a in archs[3:]}
    assert {tuple(row) for row in good.data} <= codes
    assert math.isinf(strategy._observations[0][0][1])
    restored = bound(min_points_in_model=2, top_n_percent=50, seed=9)
    restored.load_state_dict(json.loads(json.dumps(strategy.state_dict(), allow_nan=False)))
    assert restored._observations == strategy._observations


@pytest.mark.parametrize("options", [{"random_fraction": 1.5}, {"top_n_percent": 0}, {"num_samples": 0},
                                     {"bandwidth_factor": 0}, {"min_bandwidth": -1}, {"min_points_in_model": 0},
                                     {"eta": 1}])
def test_bad_options_are_user_errors(options: dict) -> None:
    with pytest.raises(UserError):
        BOHB(**options)
