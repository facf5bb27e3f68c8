"""TabularEstimator: scores an architecture by looking it up in a tabular benchmark.

The evaluation protocol of NAS-Bench-101/201 (Ying et al., ICML 2019; Dong & Yang, ICLR 2020): instead
of training, read the recorded metrics, and charge the recorded training time (per-epoch seconds x
epochs) as the cost, so that searches are compared at equal simulated budget. The lookup is O(1); the
hot path does nothing heavier than the table's index computation.
"""

from __future__ import annotations

from typing import Any

from archsearch.benchmarks.base import TabularBenchmark
from archsearch.core.arch import Arch
from archsearch.core.errors import ArchError, UserError
from archsearch.core.estimator import Estimator
from archsearch.core.registry import BENCHMARKS
from archsearch.core.result import Result


class TabularEstimator(Estimator):
    """``TabularEstimator("nb201", dataset="cifar10", fidelity=12)``: metrics from the table, simulated cost."""

    name = "tabular"

    def __init__(self, benchmark: str = "nb201", dataset: str = "cifar10", fidelity: int | None = None) -> None:
        table: TabularBenchmark = BENCHMARKS.load(benchmark)()
        if dataset not in table.datasets():
            raise UserError(f"benchmark {benchmark!r} has no dataset {dataset!r}; "
                            f"choose from: {', '.join(table.datasets())}")
        offered = table.fidelities(dataset)
        if fidelity is not None and fidelity not in offered:
            raise UserError(f"benchmark {benchmark!r} has no fidelity {fidelity!r} (epochs) for {dataset}; "
                            f"choose from: {', '.join(map(str, offered))}")
        self.benchmark_name = benchmark
        self.benchmark = table
        self.dataset = dataset
        self.fidelity = offered[0] if fidelity is None else fidelity

    def evaluate(self, arch: Arch, fidelity: float | None = None) -> Result:
        epochs = self.fidelity if fidelity is None else fidelity
        try:
            metrics = self.benchmark.query(arch, self.dataset, epochs)  # an unknown fidelity raises UserError
        except ArchError as exc:
            return Result(arch, {}, cost_seconds=0.0, fidelity=epochs, status="failed", error=str(exc))
        cost = metrics.get("train_seconds")
        if cost is None:  # a table whose queries carry no time
            cost = self.benchmark.cost_seconds(arch, self.dataset, epochs)
        return Result(arch, metrics, cost_seconds=cost, fidelity=epochs, status="ok")

    def fidelities(self) -> tuple[float, ...]:
        return self.benchmark.fidelities(self.dataset)

    def metrics(self) -> tuple[str, ...]:
        return self.metric_names(self.fidelity)

    def metric_names(self, fidelity: int | None = None) -> tuple[str, ...]:
        return self.benchmark.metric_names(self.dataset, self.fidelity if fidelity is None else fidelity)

    def describe(self) -> dict[str, Any]:
        return {
            "estimator": self.name,
            "benchmark": self.benchmark_name,
            "dataset": self.dataset,
            "fidelity": self.fidelity,
            "fidelities": list(self.fidelities()),
            "metrics": list(self.metrics()),
        }

    def __reduce__(self) -> tuple:
        """Pickles by name: a worker process loads its own (cached) table."""
        return (TabularEstimator, (self.benchmark_name, self.dataset, self.fidelity))
