"""NSGA-II's selection and variation, and multi-objective regularized evolution's tournament."""

from __future__ import annotations

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.objectives import Goal, Objective
from archsearch.core.registry import SPACES
from archsearch.core.result import Result
from archsearch.strategies.nsga2 import NSGA2, MORegularizedEvolution, crowded_better, rank_and_crowding

GOAL = Goal((Objective("a", "min"), Objective("b", "min")))


def bound(strategy, seed: int = 0):
    strategy.bind(SPACES.create("nb201"), GOAL, np.random.default_rng(seed))
    return strategy


def told(arch: Arch, a: float, b: float) -> Result:
    return Result(arch, {"a": a, "b": b})


def test_rank_and_crowding() -> None:
    members = [(Arch({"x": i}), losses, 0.0) for i, losses in enumerate([[1, 5], [2, 3], [3, 1], [2, 4], [4, 4]])]
    rank, crowding = rank_and_crowding(members)
    assert rank.tolist() == [0, 0, 0, 1, 2]
    assert crowding[0] == crowding[2] == np.inf and crowding[1] == 2.0
    assert crowded_better(1, 3, rank, crowding) and crowded_better(0, 1, rank, crowding)
    assert not crowded_better(3, 1, rank, crowding)


def test_elitist_selection_keeps_the_best_fronts() -> None:
    strategy = bound(NSGA2(population_size=4))
    initial = strategy.ask(4)
    assert len({a.key() for a in initial}) == 4
    strategy.tell([told(a, *v) for a, v in zip(initial, [(5, 5), (6, 6), (7, 7), (8, 8)])])
    assert [m[1] for m in strategy._parents] == [[5, 5], [6, 6], [7, 7], [8, 8]]
    children = strategy.ask(4)
    assert strategy.generation == 0
    strategy.tell([told(a, *v) for a, v in zip(children, [(1, 9), (9, 1), (2, 2), (10, 10)])])
    assert strategy.generation == 1
    kept = sorted(tuple(m[1]) for m in strategy._parents)
    # fronts: {(1,9), (9,1), (2,2)}, then {(5,5)}: the 4 kept; (6,6), (7,7), (8,8), (10,10) are dropped
    assert kept == [(1, 9), (2, 2), (5, 5), (9, 1)]


def test_children_come_from_parents_by_crossover_and_mutation() -> None:
    strategy = bound(NSGA2(population_size=4, crossover=1.0, mutation=0.0), seed=1)
    parents = strategy.ask(4)
    strategy.tell([told(a, i, -i) for i, a in enumerate(parents)])
    for child in strategy.ask(10):
        assert all(any(child[dim] == parent[dim] for parent in parents) for dim in child)
    asked = [a.key() for a in parents]
    mutating = bound(NSGA2(population_size=4, crossover=0.0, mutation=1.0), seed=1)
    first = mutating.ask(4)
    mutating.tell([told(a, i, -i) for i, a in enumerate(first)])
    for child in mutating.ask(5):
        assert min(sum(child[d] != p[d] for d in child) for p in first) == 1  # one-dim mutation of a parent
    assert len(set(asked)) == 4


def test_mo_regularized_evolution_ages_and_picks_by_rank() -> None:
    strategy = bound(MORegularizedEvolution(population_size=3, sample_size=3), seed=2)
    first = strategy.ask(3)
    strategy.tell([told(first[0], 1, 1), told(first[1], 5, 5), told(first[2], 6, 6)])
    rank, crowding = rank_and_crowding(list(strategy._population))
    winners = [strategy._ranked_winner(rank, crowding).key() for _ in range(300)]
    # (1,1) wins whenever sampled (1 - (2/3)^3 = 70%); (6,6) only when all 3 picks are it (1/27 = 4%)
    assert 180 < winners.count(first[0].key()) < 240 and winners.count(first[2].key()) < 25
    child = strategy.ask(1)[0]
    strategy.tell([told(child, 0, 0)])
    assert [m[0] for m in strategy._population] == [first[1], first[2], child]  # the oldest died
