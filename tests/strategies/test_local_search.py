"""Local search: seeds, first-improvement climbing over neighbours, no repeats, restarts at optima."""

from __future__ import annotations

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Dim
from archsearch.core.objectives import Objective
from archsearch.core.result import Result
from archsearch.core.space import SearchSpace
from archsearch.strategies.local_search import LocalSearch


class Grid(SearchSpace):
    """Two dims of 4 values; the objective is a fixed table with a local optimum at (0, 0)."""

    name = "grid"

    def dims(self) -> dict[str, Dim]:
        return {"a": Categorical([0, 1, 2, 3]), "b": Categorical([0, 1, 2, 3])}


VALUES = {(a, b): float(a + b) for a in range(4) for b in range(4)}
VALUES[(0, 0)] = 5.0  # better than its 6 neighbours (values 1..3), worse than the global optimum (3, 3) = 6


def evaluate(arch: Arch) -> Result:
    return Result(arch, {"valid_acc": VALUES[(arch["a"], arch["b"])]}, cost_seconds=1.0)


def run(strategy: LocalSearch, steps: int) -> list[Arch]:
    asked = []
    for _ in range(steps):
        (arch,) = strategy.ask(1)
        asked.append(arch)
        strategy.tell([evaluate(arch)])
    return asked


def bound(**options: int) -> LocalSearch:
    strategy = LocalSearch(**options)
    strategy.bind(Grid(), [Objective("valid_acc")], np.random.default_rng(0))
    return strategy


def test_climbs_from_the_best_seed_through_neighbours() -> None:
    strategy = bound(initial_samples=3, restart_samples=3)
    asked = run(strategy, 3)
    start = max(asked, key=lambda a: VALUES[(a["a"], a["b"])])
    (first_move,) = strategy.ask(1)
    assert strategy._current == start
    assert sum(first_move[d] != start[d] for d in ("a", "b")) == 1


def test_never_repeats_and_finds_the_global_optimum_after_restarts() -> None:
    strategy = bound(initial_samples=1, restart_samples=1)
    asked = run(strategy, 16)
    assert len(set(asked)) == 16  # the whole grid, each arch once
    assert Arch({"a": 3, "b": 3}) in asked


def test_first_improvement_moves_at_once() -> None:
    strategy = bound(initial_samples=1, restart_samples=1)
    (seed,) = strategy.ask(1)
    strategy.tell([evaluate(seed)])
    moves = 0
    for _ in range(6):
        current = strategy._current
        if current is None:  # restarted after a local optimum
            break
        (arch,) = strategy.ask(1)
        strategy.tell([evaluate(arch)])
        better = VALUES[(arch["a"], arch["b"])] > VALUES[(current["a"], current["b"])]
        if better:
            moves += 1
            assert strategy._current == arch
        else:
            assert strategy._current in (current, None)
    assert moves >= 1
