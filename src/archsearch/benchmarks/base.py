"""TabularBenchmark: a table with one row per architecture of a space, queried in O(1).

A benchmark offers datasets, and per dataset some fidelities (training epochs); ``query`` returns the
metrics of one architecture at one (dataset, fidelity) and ``cost_seconds`` the simulated training time,
so that a search over the table is charged what the real search would have cost (Ying et al., ICML 2019;
Dong & Yang, ICLR 2020).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from archsearch.core.arch import Arch


class TabularBenchmark(ABC):
    """Interface of every tabular benchmark (the tabular estimator codes against it)."""

    name: ClassVar[str] = "benchmark"
    space_name: ClassVar[str] = ""  # the registered space whose archs index the table
    cost_metric: str | None = "train_seconds"  # the query metric holding the training time (None: cost_seconds)
    default_missing: str = "fail"  # an arch the table lacks: a failed trial ("fail") or a stopped search ("error")

    @abstractmethod
    def datasets(self) -> tuple[str, ...]:
        """The datasets the table covers."""

    @abstractmethod
    def fidelities(self, dataset: str) -> tuple[int, ...]:
        """The fidelities (training epochs) recorded for ``dataset``, ascending."""

    @abstractmethod
    def metric_names(self, dataset: str, fidelity: int) -> tuple[str, ...]:
        """The keys of ``query(arch, dataset, fidelity)``."""

    @abstractmethod
    def index_of(self, arch: Mapping[str, Any]) -> int:
        """The row of ``arch``; ``ArchError`` when it is not in the table."""

    @abstractmethod
    def arch_at(self, index: int) -> Arch:
        """The arch of row ``index``."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of rows (architectures)."""

    @abstractmethod
    def query(self, arch: Mapping[str, Any], dataset: str, fidelity: int) -> dict[str, float]:
        """The metrics of ``arch`` trained on ``dataset`` for ``fidelity`` epochs."""

    @abstractmethod
    def cost_seconds(self, arch: Mapping[str, Any], dataset: str, fidelity: int) -> float:
        """Simulated seconds to train ``arch`` on ``dataset`` for ``fidelity`` epochs."""

    # -- optional: defaults that every table may override ----------------------------------------------
    def check_space(self, space: Any) -> None:
        """Raise ``UserError`` when ``space`` cannot index this table (default: any space of ``space_name``)."""

    def curves(self, arch: Mapping[str, Any], dataset: str, fidelity: int) -> dict[str, list[float]]:
        """The learning curves of ``arch`` recorded up to ``fidelity`` (default: none)."""
        return {}

    def failure(self, arch: Mapping[str, Any], dataset: str, fidelity: int) -> str | None:
        """Why ``arch`` failed when the table records it as a failed evaluation (e.g. an activation function that
        the numerical guard rejected), else None (default: a table records no failures)."""
        return None

    def network_options(self) -> dict[str, Any]:
        """The network options its rows were trained with (``{}``: the space's default network); ``archsearch
        train --from-study`` builds an arch found on the table with them."""
        return {}

    def column(self, dataset: str, fidelity: int, metric: str) -> np.ndarray:
        """``metric`` for every row (nan where a row lacks it), e.g. for the best value in the table. The default
        queries each row; tables that hold columns return them directly."""
        values = [self.query(self.arch_at(index), dataset, fidelity).get(metric, np.nan) for index in range(len(self))]
        return np.asarray(values, dtype=float)

    def describe(self) -> dict[str, Any]:
        return {
            "benchmark": self.name,
            "space": self.space_name,
            "rows": len(self),
            "datasets": {d: list(self.fidelities(d)) for d in self.datasets()},
        }
