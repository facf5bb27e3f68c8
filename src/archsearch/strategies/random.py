"""Random search: uniform samples from the space.

A strong baseline (Bergstra & Bengio, JMLR 2012; Li & Talwalkar, UAI 2019; Yang et al., ICLR 2020).
As in the NAS-Bench-201 paper's RS baseline (Dong & Yang, ICLR 2020), samples are drawn with
replacement unless ``deduplicate`` is set.
"""

from __future__ import annotations

from collections.abc import Sequence

from archsearch.core.arch import Arch
from archsearch.core.options import check_bool
from archsearch.core.result import Result
from archsearch.strategies.unseen import UnseenSampling


class RandomSearch(UnseenSampling):
    """Uniform random architectures; ``deduplicate=True`` avoids asking the same arch twice."""

    name = "random"
    multi_objective = True  # ignores scores: a fair baseline for any number of objectives

    def __init__(self, deduplicate: bool = False) -> None:
        self.deduplicate = check_bool(self.name, "deduplicate", deduplicate)

    def ask(self, n: int = 1) -> list[Arch]:
        return [self.draw_unseen() if self.deduplicate else self.space.sample(self.rng) for _ in range(n)]

    def tell(self, results: Sequence[Result]) -> None:
        """Random search learns nothing from results."""
