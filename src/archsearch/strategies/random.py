"""Random search: uniform samples from the space.

A strong baseline (Bergstra & Bengio, JMLR 2012; Li & Talwalkar, UAI 2019; Yang et al., ICLR 2020).
As in the NAS-Bench-201 paper's RS baseline (Dong & Yang, ICLR 2020), samples are drawn with
replacement unless ``deduplicate`` is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archsearch.core.arch import Arch
from archsearch.core.options import check_bool
from archsearch.core.result import Result
from archsearch.core.strategy import Strategy



class RandomSearch(Strategy):
    """Uniform random architectures; ``deduplicate=True`` avoids asking the same arch twice."""

    name = "random"
    multi_objective = True  # ignores scores: a fair baseline for any number of objectives

    def __init__(self, deduplicate: bool = False) -> None:
        self.deduplicate = check_bool(self.name, "deduplicate", deduplicate)
        self._seen: set[str] = set()

    def ask(self, n: int = 1) -> list[Arch]:
        return [self._next() for _ in range(n)]

    def _next(self) -> Arch:
        if not self.deduplicate:
            return self.space.sample(self.rng)
        arch = self.space.sample_unseen(self.rng, lambda arch: arch.key() in self._seen)
        self._seen.add(arch.key())
        return arch

    def tell(self, results: Sequence[Result]) -> None:
        """Random search learns nothing from results."""

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self.deduplicate:
            state["seen"] = sorted(self._seen)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._seen = set(state.get("seen", ()))
