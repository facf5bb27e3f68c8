"""TabularEstimator: scores an architecture by looking it up in a tabular benchmark.

The evaluation protocol of NAS-Bench-101/201 (Ying et al., ICML 2019; Dong & Yang, ICLR 2020): instead
of training, read the recorded metrics, and charge the recorded training time (per-epoch seconds x
epochs) as the cost, so that searches are compared at equal simulated budget. The lookup is O(1); the
hot path does nothing heavier than the table's index computation.
"""

from __future__ import annotations

from typing import Any

from archsearch.benchmarks import load_benchmark
from archsearch.benchmarks.base import TabularBenchmark
from archsearch.benchmarks.table_meta import MISSING_MODES
from archsearch.core.arch import Arch
from archsearch.core.errors import ArchError, SearchAborted, UserError
from archsearch.core.estimator import Estimator
from archsearch.core.result import Result
from archsearch.core.space import SearchSpace


class TabularEstimator(Estimator):
    """``TabularEstimator("nb201", dataset="cifar10", fidelity=12)``: metrics from the table, simulated cost.

    ``benchmark`` is a registered name or the path of a generic table (``archsearch.benchmarks.table``).
    ``missing`` says what an arch the table lacks gives: ``fail`` a failed trial, ``error`` stops the search
    (default: the table's own ``missing``, else ``fail``)."""

    name = "tabular"
    uses_threads = False  # a table lookup

    def __init__(self, benchmark: str = "nb201", dataset: str = "cifar10", fidelity: int | None = None,
                 missing: str | None = None, space: SearchSpace | None = None) -> None:
        table: TabularBenchmark = load_benchmark(benchmark)
        if dataset not in table.datasets():
            raise UserError(f"benchmark {benchmark!r} has no dataset {dataset!r}; "
                            f"choose from: {', '.join(table.datasets())}")
        offered = table.fidelities(dataset)
        if fidelity is not None and fidelity not in offered:
            raise UserError(f"benchmark {benchmark!r} has no fidelity {fidelity!r} (epochs) for {dataset}; "
                            f"choose from: {', '.join(map(str, offered))}")
        if missing not in (None, *MISSING_MODES):
            raise UserError(f"estimator tabular: missing must be {' or '.join(MISSING_MODES)}, got {missing!r}")
        if space is not None:
            table.check_space(space)
        self.benchmark_name = benchmark
        self.benchmark = table
        self.dataset = dataset
        self.fidelity = offered[0] if fidelity is None else fidelity
        self.missing = table.default_missing if missing is None else missing
        self._missing_option = missing

    def evaluate(self, arch: Arch, fidelity: float | None = None) -> Result:
        epochs = self.fidelity if fidelity is None else fidelity
        try:
            reason = self.benchmark.failure(arch, self.dataset, epochs)
            if reason is not None:  # a failure the table records: what the real evaluation gave, at its cost
                cost = self.benchmark.cost_seconds(arch, self.dataset, epochs)
                return Result(arch, {}, cost_seconds=cost, fidelity=epochs, status="failed", error=reason)
            metrics = self.benchmark.query(arch, self.dataset, epochs)  # an unknown fidelity raises UserError
        except ArchError as exc:
            if self.missing == "error":
                raise SearchAborted(f"{exc} (estimator.missing=fail makes it a failed trial)") from None
            return Result(arch, {}, cost_seconds=0.0, fidelity=epochs, status="failed", error=str(exc))
        cost_metric = self.benchmark.cost_metric
        cost = metrics.get(cost_metric) if cost_metric else None
        if cost is None:  # a table whose queries carry no time
            cost = self.benchmark.cost_seconds(arch, self.dataset, epochs)
        return Result(arch, metrics, cost_seconds=cost, fidelity=epochs, status="ok",
                      curves=self.benchmark.curves(arch, self.dataset, epochs))

    def fidelities(self) -> tuple[float, ...]:
        return self.benchmark.fidelities(self.dataset)

    def search_space(self, space: SearchSpace) -> SearchSpace:
        """With ``missing: restrict``, ``space`` restricted to the table's archs (a partial table's search)."""
        if self.missing != "restrict":
            return space
        from archsearch.benchmarks.table_space import TableSpace

        return TableSpace(space, [self.benchmark.arch_at(index) for index in range(len(self.benchmark))])

    def metrics(self) -> tuple[str, ...]:
        return self.metric_names(self.fidelity)

    def metric_names(self, fidelity: float | None = None) -> tuple[str, ...]:
        return self.benchmark.metric_names(self.dataset, self.fidelity if fidelity is None else fidelity)

    def describe(self) -> dict[str, Any]:
        return {
            "estimator": self.name,
            "benchmark": self.benchmark_name,
            "dataset": self.dataset,
            "fidelity": self.fidelity,
            "fidelities": list(self.fidelities()),
            "missing": self.missing,
            "metrics": list(self.metrics()),
        }

    def __reduce__(self) -> tuple:
        """Pickles by name: a worker process loads its own (cached) table."""
        return (TabularEstimator, (self.benchmark_name, self.dataset, self.fidelity, self._missing_option))
