"""Generic tables from benchmarks: the metric directions of a built or exported table, and
:func:`export_benchmark`, which writes a registered table (NAS-Bench-201) in the generic format.

Building a table by training archs is a study: :mod:`archsearch.bench_build` (it runs above this layer).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from archsearch.benchmarks.table_meta import FIDELITY_COLUMN, TableMeta
from archsearch.core.errors import UserError

COST_COLUMN = "train_seconds"  # the training time a search over the table is charged
MAX_METRICS = ("_acc", "epochs")  # metrics whose names end so are maximised; every other one is minimised


def direction_of(metric: str) -> str:
    return "max" if metric.endswith(MAX_METRICS) else "min"


def export_benchmark(benchmark: str, dataset: str, out: str | Path,
                     on_progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the registered table ``benchmark`` (its ``dataset``, every fidelity) as a generic table."""
    from archsearch.benchmarks import load_benchmark
    from archsearch.benchmarks.table import write_table
    from archsearch.spaces import create_space

    table = load_benchmark(benchmark)
    if dataset not in table.datasets():
        raise UserError(f"benchmark {benchmark!r} has no dataset {dataset!r}; choose from: {', '.join(table.datasets())}")
    fidelities = table.fidelities(dataset)
    metrics: dict[str, str] = {}
    for fidelity in fidelities:
        metrics.update({m: direction_of(m) for m in table.metric_names(dataset, fidelity) if m not in metrics})
    cost = COST_COLUMN if COST_COLUMN in metrics else "cost_seconds"
    rows = []
    for index in range(len(table)):
        arch = table.arch_at(index)
        for fidelity in fidelities:
            row = {**arch, FIDELITY_COLUMN: fidelity, **table.query(arch, dataset, fidelity)}
            if cost not in row:
                row[cost] = table.cost_seconds(arch, dataset, fidelity)
            rows.append(row)
        if on_progress is not None and (index + 1) % 1000 == 0:
            on_progress(index + 1, len(table))
    objective = "valid_acc" if "valid_acc" in metrics else next(iter(metrics))
    report = "final_test_acc" if "final_test_acc" in metrics else objective
    meta = TableMeta(space=table.space_name, dataset=dataset, dims=dict(create_space(table.space_name).dims()),
                     fidelities=tuple(float(f) for f in fidelities), fidelity=float(fidelities[0]), metrics=metrics,
                     objective=objective, report=report, cost=cost,
                     description=f"benchmark {benchmark!r} ({dataset}), exported by archsearch bench export")
    return write_table(out, meta, rows)
