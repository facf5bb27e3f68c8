"""Estimator: the inner loop. It scores an architecture and never chooses one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from archsearch.core.arch import Arch
from archsearch.core.result import Result
from archsearch.core.space import SearchSpace


class Estimator(ABC):
    """``evaluate(arch, fidelity)`` -> ``Result``; called only by the study loop."""

    name: ClassVar[str] = "estimator"
    # evaluate runs multi-threaded numeric work here (training, proxies): the thread policy looks at the
    # machine's load for it; False for a lookup (a table, a one-thread surrogate)
    uses_threads: ClassVar[bool] = True

    @abstractmethod
    def evaluate(self, arch: Arch, fidelity: float | None = None) -> Result:
        """Score ``arch`` at ``fidelity`` (e.g. epochs); ``None`` means the default fidelity."""

    def fidelities(self) -> tuple[float, ...]:
        """The fidelities this estimator offers (empty: any)."""
        return ()

    def metrics(self) -> tuple[str, ...]:
        """The metric names its results carry."""
        return ()

    def metric_names(self, fidelity: float | None = None) -> tuple[str, ...]:
        """The metric names its results carry at ``fidelity`` (a table may lack some at a fidelity); empty:
        unknown. Default: ``metrics()`` at every fidelity."""
        return self.metrics()

    def search_space(self, space: SearchSpace) -> SearchSpace:
        """The space the strategy searches with this estimator: ``space`` itself, unless the estimator can only
        score part of it and restricts the search to that part (a partial table with ``missing: restrict``)."""
        return space

    def describe(self) -> dict[str, Any]:
        return {"estimator": self.name}
