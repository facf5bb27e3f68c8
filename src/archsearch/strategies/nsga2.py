"""Multi-objective evolution: NSGA-II and multi-objective regularized (aging) evolution.

NSGA-II — Deb, Pratap, Agarwal & Meyarivan, "A fast and elitist multiobjective genetic algorithm: NSGA-II",
IEEE TEVC 2002 (as NSGA-Net, Lu et al., GECCO 2019, uses it for NAS): a parent population of
``population_size``; each child comes from two binary tournaments by the crowded comparison (lower rank,
then larger crowding distance), a uniform crossover over the space's dims with probability ``crossover``
(0.9, Deb et al.), then the space's one-dim mutation with probability ``mutation``; once ``population_size``
children are told, parents + children are cut back to ``population_size`` by non-dominated fronts and,
in the last front that fits, by crowding distance (elitist (mu + lambda) selection). Constraints use Deb's
constrained domination. Children already evaluated are re-drawn (as NSGA-Net removes duplicates).
Asks may run ahead of tells (parallel workers): a selection happens whenever a generation's worth of
children has been told.

Multi-objective regularized evolution — Real et al.'s aging evolution (AAAI 2019) with the tournament
decided by Pareto rank within the population, ties broken by crowding distance (as in NSGA-II's crowded
comparison); the oldest member dies. Defaults: population 50, sample 10 (a front needs a larger population
than the single-objective default of 10).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.options import check_int, check_number
from archsearch.core.pareto import crowding_distance, non_dominated_sort
from archsearch.core.result import Result
from archsearch.core.strategy import Strategy
from archsearch.strategies.evolution import RegularizedEvolution

# -- defaults in one visible block --------------------------------------------------------------
NSGA2_POPULATION = 20
NSGA2_CROSSOVER = 0.9  # Deb et al. 2002, Sec. V
NSGA2_MUTATION = 1.0  # the space's one-dim mutation, applied to every child unless set lower
MO_RE_POPULATION = 50
MO_RE_SAMPLE = 10
REDRAWS = 20  # attempts at an unseen valid child before accepting a duplicate

Member = tuple[Arch, list[float], float]  # arch, losses (lower is better), constraint violation


def rank_and_crowding(members: Sequence[Member]) -> tuple[np.ndarray, np.ndarray]:
    """Per member: its non-dominated rank (0 = the front) and its crowding distance within that front."""
    losses = np.asarray([m[1] for m in members], dtype=float)
    violation = np.asarray([m[2] for m in members], dtype=float)
    rank, crowding = np.zeros(len(members), dtype=int), np.full(len(members), np.inf)
    finite = np.nan_to_num(losses, posinf=np.finfo(float).max / 4)
    for level, front in enumerate(non_dominated_sort(losses, violation)):
        rank[front] = level
        if len(front) > 2:  # a front of one or two: all at the extremes, inf (issue 25: one objective makes
            crowding[front] = crowding_distance(finite[front])  # every front a single point, 50 calls an ask)
    return rank, crowding


def crowded_better(i: int, j: int, rank: np.ndarray, crowding: np.ndarray) -> bool:
    """NSGA-II's crowded comparison: lower rank wins, then the larger crowding distance."""
    return bool(rank[i] < rank[j] or (rank[i] == rank[j] and crowding[i] > crowding[j]))


def _encode_members(members: Sequence[Member]) -> list[list[Any]]:
    return [[dict(arch), list(losses), violation] for arch, losses, violation in members]


def _decode_members(rows: Sequence[Sequence[Any]]) -> list[Member]:
    return [(Arch(arch), [float(v) for v in losses], float(violation)) for arch, losses, violation in rows]


class _MultiObjective(Strategy):
    """Shared parts: members from results, and unseen valid children."""

    multi_objective = True

    def setup(self) -> None:
        self._seen: set[str] = set()

    def member(self, result: Result) -> Member:
        return result.arch, self.goal.losses(result), self.goal.violation(result)

    def _unseen(self, make_child: Any) -> Arch:
        """A child from ``make_child()`` not asked before (re-drawn up to ``REDRAWS`` times)."""
        child = make_child()
        for _ in range(REDRAWS):
            if child.key() not in self._seen:
                break
            child = make_child()
        self._seen.add(child.key())
        return child

    def _random(self) -> Arch:
        return self._unseen(lambda: self.space.sample(self.rng))

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "seen": sorted(self._seen)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._seen = set(state["seen"])


class NSGA2(_MultiObjective):
    """NSGA-II with the space's mutation and a uniform crossover over dims."""

    name = "nsga2"

    def __init__(self, population_size: int = NSGA2_POPULATION, crossover: float = NSGA2_CROSSOVER,
                 mutation: float = NSGA2_MUTATION) -> None:
        self.population_size = check_int(self.name, "population_size", population_size, 2)
        self.crossover = check_number(self.name, "crossover", crossover, 0.0, 1.0)
        self.mutation = check_number(self.name, "mutation", mutation, 0.0, 1.0)
        self._parents: list[Member] = []
        self._told: list[Member] = []  # results since the last selection (the initial population first)
        self._asked_random = 0
        self.generation = 0

    def ask(self, n: int = 1) -> list[Arch]:
        if not self._parents:  # the initial population (more random archs while it is being evaluated)
            self._asked_random += n
            return [self._random() for _ in range(n)]
        rank, crowding = rank_and_crowding(self._parents)  # the parents change only in tell
        return [self._unseen(lambda: self._child(rank, crowding)) for _ in range(n)]

    def _child(self, rank: np.ndarray, crowding: np.ndarray) -> Arch:
        first, second = self._tournament(rank, crowding), self._tournament(rank, crowding)
        child = first
        if self.rng.random() < self.crossover:
            child = self._uniform_crossover(first, second)
        if self.rng.random() < self.mutation or child == first == second:
            child = self.space.mutate(child, self.rng)
        return child

    def _tournament(self, rank: np.ndarray, crowding: np.ndarray) -> Arch:
        i, j = (int(k) for k in self.rng.integers(len(self._parents), size=2))
        return self._parents[i if crowded_better(i, j, rank, crowding) or i == j else j][0]

    def _uniform_crossover(self, first: Arch, second: Arch) -> Arch:
        """Each dim from either parent with probability 1/2; an invalid child (a constrained space) is
        re-drawn, and after ``REDRAWS`` attempts the first parent is kept."""
        for _ in range(REDRAWS):
            take = self.rng.random(len(first)) < 0.5
            child = Arch({name: (first[name] if pick else second[name]) for name, pick in zip(first, take)})
            if self.space.is_valid(child):
                return child
        return first

    def warm_start(self, archs: Sequence[Arch]) -> None:
        super().warm_start(archs)
        self._seen.update(arch.key() for arch in archs)

    def tell(self, results: Sequence[Result]) -> None:
        for result in results:
            self._told.append(self.member(result))
        if not self._parents and len(self._told) >= self.population_size:
            self._parents, self._told = self._select(self._told), []
        elif self._parents and len(self._told) >= self.population_size:
            self._parents, self._told = self._select(self._parents + self._told), []
            self.generation += 1

    def _select(self, members: Sequence[Member]) -> list[Member]:
        """Elitist environmental selection: whole fronts, then the least crowded of the last one."""
        losses = np.asarray([m[1] for m in members], dtype=float)
        violation = np.asarray([m[2] for m in members], dtype=float)
        kept: list[int] = []
        for front in non_dominated_sort(losses, violation):
            if len(kept) + len(front) <= self.population_size:
                kept += front
                continue
            finite = np.nan_to_num(losses[front], posinf=np.finfo(float).max / 4)
            by_crowding = np.argsort(-crowding_distance(finite), kind="stable")
            kept += [front[k] for k in by_crowding[: self.population_size - len(kept)]]
            break
        return [members[i] for i in kept]

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "parents": _encode_members(self._parents),
                "told": _encode_members(self._told), "asked_random": self._asked_random,
                "generation": self.generation}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._parents, self._told = _decode_members(state["parents"]), _decode_members(state["told"])
        self._asked_random, self.generation = int(state["asked_random"]), int(state["generation"])


class MORegularizedEvolution(_MultiObjective, RegularizedEvolution):
    """Aging evolution whose tournament is won by the lowest Pareto rank, then the largest crowding."""

    name = "mo-regularized-evolution"

    def __init__(self, population_size: int = MO_RE_POPULATION, sample_size: int = MO_RE_SAMPLE) -> None:
        super().__init__(population_size, sample_size)

    def _random_arch(self) -> Arch:
        return self._random()

    def _mutant(self) -> Arch:
        rank, crowding = rank_and_crowding(list(self._population))
        return self._unseen(lambda: self.space.mutate(self._ranked_winner(rank, crowding), self.rng))

    def _ranked_winner(self, rank: np.ndarray, crowding: np.ndarray) -> Arch:
        picks = [int(k) for k in self.rng.integers(len(self._population), size=self.sample_size)]
        best = picks[0]
        for pick in picks[1:]:
            if crowded_better(pick, best, rank, crowding):
                best = pick
        return self._population[best][0]

    def warm_start(self, archs: Sequence[Arch]) -> None:
        self._seen.update(arch.key() for arch in archs)
        super().warm_start(archs)

    def _member(self, result: Result) -> Member:
        return self.member(result)

    def _encode_member(self, member: Member) -> list[Any]:
        return _encode_members([member])[0]

    def _decode_member(self, row: Sequence[Any]) -> Member:
        return _decode_members([row])[0]
