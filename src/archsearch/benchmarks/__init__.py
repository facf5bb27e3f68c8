"""Tabular benchmarks shipped with the package: every architecture of a space, pre-evaluated.

:class:`~archsearch.benchmarks.base.TabularBenchmark` is the interface the tabular estimator reads;
:mod:`archsearch.benchmarks.nb201` holds NAS-Bench-201 (Dong & Yang, ICLR 2020), loaded by
``load_nb201()`` (also registered as benchmark ``"nb201"`` in :mod:`archsearch.core.registry`).
The data files live in ``benchmarks/data/`` with their sources and licences (``NB201_SOURCES.md``).
:mod:`archsearch.benchmarks.table` holds the generic table format (any space, a CSV or Parquet file
with metadata); :func:`load_benchmark` takes a registered name or the path of such a table.
"""

from __future__ import annotations

from archsearch.benchmarks.base import TabularBenchmark
from archsearch.core.registry import BENCHMARKS

__all__ = ["TabularBenchmark", "check_benchmark", "load_benchmark"]


def load_benchmark(name: str) -> TabularBenchmark:
    """A registered benchmark (``"nb201"``) or the generic table at a ``.parquet`` / ``.csv`` path."""
    from archsearch.benchmarks.table_meta import is_table_path

    if name not in BENCHMARKS and is_table_path(name):
        from archsearch.benchmarks.table import load_table

        return load_table(name)
    return BENCHMARKS.load(name)()


def check_benchmark(name: str) -> None:
    """UserError unless ``name`` is registered or a table file with its metadata (cheap: loads nothing)."""
    from archsearch.benchmarks.table_meta import check_table_path, is_table_path

    if name not in BENCHMARKS and is_table_path(name):
        check_table_path(name)
        return
    BENCHMARKS.check(name)
