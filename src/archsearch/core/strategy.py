"""Strategy: the outer loop. It sees only ``Arch``es and ``Result``s, never networks or tables.

Life cycle (Optuna-like, ask/tell): ``bind(space, objectives, rng, fidelities)`` once, then any number
of ``ask(n)`` / ``tell(results)``. The study calls ``ask_trials(n)``, which pairs each arch with the
fidelity to evaluate it at; single-fidelity strategies only implement ``ask`` (fidelity ``None``: the
study's default), multi-fidelity ones (Hyperband, BOHB) override ``ask_trials`` and read the ladder
``self.fidelities`` the study offers (ascending; empty when the estimator accepts any fidelity). ``state_dict()`` returns JSON-serialisable state that includes the
random generator, so that ``load_state_dict`` after a crash continues the very same sequence.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.objectives import Goal, Objective
from archsearch.core.result import Result
from archsearch.core.space import SearchSpace


@dataclass(frozen=True)
class TrialRequest:
    """One trial to run: an architecture and its fidelity (``None``: the study's default)."""

    arch: Arch
    fidelity: float | None = None


@dataclass(frozen=True)
class Prior:
    """Another study's history, used as a prior by a new search in the same space (warm start across
    datasets: meta-learning's "learning from prior evaluations", Elsken et al. 2019 Sec. 5; Wistuba et al.
    2019). ``results`` are scored by the new search's goal; ``state`` is the other strategy's final
    checkpoint (None when it was not stored); ``strategy`` its name; ``source`` a name for messages."""

    results: tuple[Result, ...]
    strategy: str
    state: dict[str, Any] | None = None
    source: str = "another study"


class Strategy(ABC):
    """Base class of every search strategy."""

    name: ClassVar[str] = "strategy"
    requires: ClassVar[frozenset[str]] = frozenset()  # e.g. {"supernet"}, {"encode"}
    supports_warm_start: ClassVar[bool] = True  # multi-fidelity and one-shot strategies say False
    multi_objective: ClassVar[bool] = False  # ranks by several objectives (NSGA-II) or ignores scores (random)
    multi_fidelity: ClassVar[bool] = False  # its ask_trials chooses each trial's fidelity (Hyperband, BOHB)
    _warm: tuple[Arch, ...] = ()  # warm-start archs not asked yet (reassigned, never mutated)

    space: SearchSpace
    objectives: tuple[Objective, ...]
    goal: Goal
    rng: np.random.Generator
    fidelities: tuple[float, ...] = ()

    def bind(self, space: SearchSpace, objectives: Sequence[Objective] | Goal, rng: np.random.Generator,
             fidelities: Sequence[float] = ()) -> None:
        """``objectives``: a list of objectives (the first is optimised) or a ``Goal`` (objectives,
        constraints, reward). Several objectives without a reward need a multi-objective strategy."""
        missing = [need for need in self.requires if not hasattr(space, need)]
        if missing:
            raise UserError(f"strategy {self.name!r} needs a space with {missing}; space {space.name!r} has none")
        if not objectives:
            raise UserError(f"strategy {self.name!r} needs at least one objective")
        goal = objectives if isinstance(objectives, Goal) else Goal(tuple(objectives))
        if goal.multi and not self.multi_objective:
            raise UserError(f"strategy {self.name!r} optimises one objective, {len(goal.objectives)} were given: "
                            f"use nsga2, mo-regularized-evolution or random, or scalarise them with "
                            f"--reward mnasnet:METRIC<=TARGET")
        self.space, self.goal, self.objectives, self.rng = space, goal, goal.objectives, rng
        self.fidelities = tuple(sorted(fidelities))
        self.setup()

    def setup(self) -> None:
        """Hook run after ``bind``."""

    @abstractmethod
    def ask(self, n: int = 1) -> list[Arch]:
        """The next ``n`` architectures to evaluate."""

    def ask_trials(self, n: int = 1) -> list[TrialRequest]:
        """The next ``n`` trials: warm-start archs first, then ``ask``, at the study's default fidelity."""
        warm, self._warm = self._warm[:n], self._warm[n:]
        rest = self.ask(n - len(warm)) if n > len(warm) else []
        return [TrialRequest(arch) for arch in (*warm, *rest)]

    def warm_start(self, archs: Sequence[Arch]) -> None:
        """Promising archs to evaluate before the strategy's own (a zero-cost pre-ranking, another study's
        best); their results are told like any other. Subclasses may fold them into their own start."""
        self._warm = (*self._warm, *archs)

    def use_prior(self, prior: Prior, top: int = 10) -> str:
        """Fold another study's history into this fresh strategy; returns what was done, for the user.
        By default its ``top`` best distinct archs (by this search's goal) are evaluated first, as a warm
        start; strategies with a model or a policy override this to use more of the prior."""
        best = self.prior_best(prior, top)
        self.warm_start(best)
        return f"its {len(best)} best archs are evaluated first"

    def prior_scores(self, prior: Prior) -> dict[Arch, float]:
        """Each distinct valid arch of ``prior`` with its best score by this strategy's goal (failed,
        infeasible and invalid ones left out)."""
        scored: dict[Arch, float] = {}
        for result in prior.results:
            score = self.score(result)
            if math.isfinite(score) and self.space.is_valid(result.arch):
                scored[result.arch] = max(score, scored.get(result.arch, -math.inf))
        return scored

    def prior_best(self, prior: Prior, top: int) -> list[Arch]:
        """The ``top`` best archs of ``prior`` by this strategy's score."""
        scored = self.prior_scores(prior)
        return sorted(scored, key=lambda arch: -scored[arch])[:top]

    @abstractmethod
    def tell(self, results: Sequence[Result]) -> None:
        """Results of architectures this strategy asked for (in any order)."""

    def score(self, result: Result) -> float:
        """The goal as one number to maximise (the reward, else the first objective); -inf for failed or
        infeasible trials."""
        return self.goal.score(result)

    # -- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state; subclasses extend it with their own."""
        state: dict[str, Any] = {"rng": self.rng.bit_generator.state}
        if self._warm:
            state["warm"] = [dict(arch) for arch in self._warm]
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self._warm = tuple(Arch(arch) for arch in state.get("warm", ()))
