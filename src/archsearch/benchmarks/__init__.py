"""Tabular benchmarks shipped with the package: every architecture of a space, pre-evaluated.

:class:`~archsearch.benchmarks.base.TabularBenchmark` is the interface the tabular estimator reads;
:mod:`archsearch.benchmarks.nb201` holds NAS-Bench-201 (Dong & Yang, ICLR 2020), loaded by
``load_nb201()`` (also registered as benchmark ``"nb201"`` in :mod:`archsearch.core.registry`).
The data files live in ``benchmarks/data/`` with their sources and licences (``NB201_SOURCES.md``).
"""

from archsearch.benchmarks.base import TabularBenchmark

__all__ = ["TabularBenchmark"]
