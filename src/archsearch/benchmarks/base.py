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

from archsearch.core.arch import Arch


class TabularBenchmark(ABC):
    """Interface of every tabular benchmark (the tabular estimator codes against it)."""

    name: ClassVar[str] = "benchmark"
    space_name: ClassVar[str] = ""  # the registered space whose archs index the table

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

    def describe(self) -> dict[str, Any]:
        return {
            "benchmark": self.name,
            "space": self.space_name,
            "rows": len(self),
            "datasets": {d: list(self.fidelities(d)) for d in self.datasets()},
        }
