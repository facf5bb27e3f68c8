"""``archsearch list``: the registered spaces, strategies, estimators, benchmarks and datasets."""

from __future__ import annotations

import argparse

from archsearch.cli.common import ExampleHelpFormatter
from archsearch.core.registry import REGISTRIES


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("list", help="list registered spaces, strategies, estimators, benchmarks, datasets",
                                 epilog="example: archsearch list strategies",
                                 formatter_class=ExampleHelpFormatter)
    parser.add_argument("kind", nargs="?", choices=sorted(REGISTRIES), help="what to list (default: everything)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    kinds = [args.kind] if args.kind else list(REGISTRIES)
    for kind in kinds:
        print(f"{kind}:")
        if kind == "datasets":
            print("  to train on (--estimator train):")
        for entry in REGISTRIES[kind].entries():
            print(f"  {entry.name:24s} {entry.summary}")
        if kind == "datasets":
            print("  in tabular benchmarks (--estimator tabular):")
            _print_benchmark_datasets()
    return 0


def _print_benchmark_datasets() -> None:
    """Datasets reachable through tabular benchmarks (queried, not loaded)."""
    from archsearch.core.registry import BENCHMARKS

    for name in BENCHMARKS.names():
        benchmark = BENCHMARKS.load(name)()
        for dataset in benchmark.datasets():
            fidelities = ", ".join(str(f) for f in benchmark.fidelities(dataset))
            print(f"  {dataset:24s} via benchmark {name} (tabular; fidelities {fidelities} epochs)")
