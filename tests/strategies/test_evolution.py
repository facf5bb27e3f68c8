"""Regularized evolution's own rules: random start, tournament parents, one-dim children, aging."""

from __future__ import annotations

import numpy as np
import pytest

from archsearch.core.errors import UserError
from archsearch.core.objectives import Objective
from archsearch.spaces.nb201 import NB201Space
from archsearch.strategies.evolution import RegularizedEvolution
from tests.conftest import synthetic_result


def bound(population_size: int = 5, sample_size: int = 2) -> tuple[RegularizedEvolution, NB201Space]:
    space = NB201Space()
    strategy = RegularizedEvolution(population_size=population_size, sample_size=sample_size)
    strategy.bind(space, [Objective("valid_acc")], np.random.default_rng(0))
    return strategy, space


def test_children_are_one_mutation_from_a_living_member() -> None:
    strategy, space = bound()
    for arch in strategy.ask(5):
        strategy.tell([synthetic_result(space, arch)])
    for _ in range(30):
        living = [arch for arch, _ in strategy._population]
        (child,) = strategy.ask(1)
        assert any(sum(child[d] != parent[d] for d in space.dims()) == 1 for parent in living)
        strategy.tell([synthetic_result(space, child)])
        assert len(strategy._population) == 5


def test_the_oldest_dies_not_the_worst() -> None:
    strategy, space = bound(population_size=3, sample_size=3)
    first = strategy.ask(3)
    for arch in first:
        strategy.tell([synthetic_result(space, arch)])
    (child,) = strategy.ask(1)
    strategy.tell([synthetic_result(space, child)])
    assert [a for a, _ in strategy._population] == [first[1], first[2], child]


def test_full_tournament_picks_the_best() -> None:
    strategy, space = bound(population_size=4, sample_size=4)
    archs = strategy.ask(4)
    strategy.tell([synthetic_result(space, a) for a in archs])
    best = max(archs, key=lambda a: synthetic_result(space, a).metrics["valid_acc"])
    # with sample_size == population_size every member is likely drawn; the winner is never worse than the median
    winners = [strategy._tournament_winner() for _ in range(50)]
    assert winners.count(best) > 25


@pytest.mark.parametrize("options", [{"population_size": 0}, {"sample_size": 0}, {"population_size": 2, "sample_size": 3},
                                     {"population_size": "ten"}])
def test_bad_options_are_user_errors(options: dict) -> None:
    with pytest.raises(UserError):
        RegularizedEvolution(**options)
