"""Regularized (aging) evolution — Real, Aggarwal, Huang & Le, "Regularized Evolution for Image
Classifier Architecture Search", AAAI 2019.

The population starts with ``population_size`` random architectures. Each cycle draws
``sample_size`` members uniformly (with replacement, as in the paper's reference code and in
NAS-Bench-201's R-EA), mutates the fittest of the sample in one dim, evaluates the child, appends
it and removes the *oldest* member — not the worst, which is the regularisation.

Defaults are NAS-Bench-201's REA settings (Dong & Yang 2020): population 10, sample size 3.
The paper's large-scale runs used population 100, sample size 25 (``--set strategy.population_size=100``).
Asks may run ahead of tells (asynchronous workers, as in the paper): a child's parent is chosen
from the members told so far.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.options import check_int
from archsearch.core.result import Result
from archsearch.core.strategy import Strategy


class RegularizedEvolution(Strategy):
    """Aging evolution with tournament selection and one-dim mutation."""

    name = "regularized-evolution"

    def __init__(self, population_size: int = 10, sample_size: int = 3) -> None:
        check_int(self.name, "population_size", population_size)
        check_int(self.name, "sample_size", sample_size)
        if sample_size > population_size:
            raise UserError(f"{self.name}: sample_size ({sample_size}) exceeds population_size ({population_size})")
        self.population_size = population_size
        self.sample_size = sample_size
        self._population: deque[Any] = deque()  # members, oldest first: (arch, score) here
        self._random_asked = 0

    def ask(self, n: int = 1) -> list[Arch]:
        return [self._next() for _ in range(n)]

    def _next(self) -> Arch:
        if self._random_asked < self.population_size or not self._population:
            self._random_asked += 1
            return self._random_arch()
        return self._mutant()

    def _random_arch(self) -> Arch:
        return self.space.sample(self.rng)

    def _mutant(self) -> Arch:
        return self.space.mutate(self._tournament_winner(), self.rng)

    def _tournament_winner(self) -> Arch:
        picks = self.rng.integers(len(self._population), size=self.sample_size)
        best_arch, best_score = self._population[int(picks[0])]
        for pick in picks[1:]:
            arch, score = self._population[int(pick)]
            if score > best_score:
                best_arch, best_score = arch, score
        return best_arch

    def warm_start(self, archs: Sequence[Arch]) -> None:
        """Warm-start archs take the place of random members of the initial population."""
        super().warm_start(archs)
        self._random_asked += len(archs)

    def tell(self, results: Sequence[Result]) -> None:
        for result in results:
            self._population.append(self._member(result))
            if len(self._population) > self.population_size:
                self._population.popleft()  # aging: the oldest dies

    def _member(self, result: Result) -> Any:
        """What the population keeps of a result (subclasses keep more, e.g. all objectives)."""
        return result.arch, self.score(result)

    def _encode_member(self, member: Any) -> list[Any]:
        arch, score = member
        return [dict(arch), score]

    def _decode_member(self, row: Sequence[Any]) -> Any:
        arch, score = row
        return Arch(arch), float(score)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["population"] = [self._encode_member(member) for member in self._population]
        state["random_asked"] = self._random_asked
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._population = deque(self._decode_member(row) for row in state["population"])
        self._random_asked = int(state["random_asked"])
