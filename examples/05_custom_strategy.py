"""A new search strategy: subclass ``Strategy``, implement ``ask`` and ``tell`` (and the state for resume).

The strategy here is the simplest greedy search, "mutate the best": after ``initial`` random archs, each
new arch is a one-dim mutation of the best arch found so far (a (1+1) evolution strategy / stochastic hill
climber). A strategy sees only ``Arch``es and ``Result``s (never a network, a dataset or a table), so it
works on every space and with every estimator. ``self.score(result)`` turns a result into one number to
maximise (the objective, the reward, -inf for failed or infeasible trials); ``state_dict`` must hold
everything ``load_state_dict`` needs to continue the same sequence after a crash, the RNG included (the
base class stores it). Registering the class makes ``StudyConfig(strategy=...)`` find it; a strategy
shipped with archsearch is registered in ``archsearch/core/registry.py`` and then checked by the strategy
contract suite (tests/strategies/test_strategy_contract.py). See docs/extending.md.

Papers: Ottelander et al., "Local Search is a Remarkably Strong Baseline for NAS", EMO 2021; White et
al., "Exploring the Loss Landscape in NAS", UAI 2021 (local search on NAS-Bench-201).

    python examples/05_custom_strategy.py           # 20 seeds of each, 12,000 simulated s, NB201 table
    python examples/05_custom_strategy.py --tiny    # 3 seeds
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Sequence
from typing import Any

from archsearch.config import StudyConfig
from archsearch.core.arch import Arch
from archsearch.core.registry import STRATEGIES
from archsearch.core.result import Result
from archsearch.core.strategy import Strategy
from archsearch.store import InMemoryStore
from archsearch.study import Study


class MutateTheBest(Strategy):
    """Random archs first, then one-dim mutations of the best arch so far."""

    name = "mutate-the-best"

    def __init__(self, initial: int = 5) -> None:  # options come from --set strategy.initial=... / the config
        self.initial = int(initial)
        self._asked = 0
        self._best: Arch | None = None
        self._best_score = -math.inf

    def ask(self, n: int = 1) -> list[Arch]:
        archs = []
        for _ in range(n):
            self._asked += 1
            if self._asked <= self.initial or self._best is None:
                archs.append(self.space.sample(self.rng))
            else:
                archs.append(self.space.mutate(self._best, self.rng))
        return archs

    def tell(self, results: Sequence[Result]) -> None:
        for result in results:
            score = self.score(result)
            if score > self._best_score:
                self._best, self._best_score = result.arch, score

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()  # the RNG (and warm-start archs not yet asked)
        state.update(asked=self._asked, best=None if self._best is None else dict(self._best),
                     best_score=self._best_score if math.isfinite(self._best_score) else None)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._asked = state["asked"]
        self._best = None if state["best"] is None else Arch(state["best"])
        self._best_score = -math.inf if state["best_score"] is None else state["best_score"]


STRATEGIES.register(MutateTheBest.name, f"{__name__}:MutateTheBest", "greedy: mutate the best arch so far")


def final_accuracy(strategy: str, seed: int, options: dict[str, Any]) -> float:
    config = StudyConfig.from_mapping({"name": f"{strategy}-{seed}", "seed": seed,
                                       "strategy": {"name": strategy, **options}})  # NB201 table protocol
    return Study.create(config, InMemoryStore()).run().reported_value()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--tiny", action="store_true", help="3 seeds")
    args = parser.parse_args()
    if args.tiny:
        args.seeds = 3
    for strategy, options in (("random", {}), ("mutate-the-best", {"initial": 5})):
        finals = [final_accuracy(strategy, seed, options) for seed in range(args.seeds)]
        spread = statistics.stdev(finals) if len(finals) > 1 else 0.0
        print(f"{strategy:>16}: final test accuracy {statistics.mean(finals):.2f} +- {spread:.2f} "
              f"({args.seeds} seeds, NB201 CIFAR-10 protocol)")


if __name__ == "__main__":
    main()
