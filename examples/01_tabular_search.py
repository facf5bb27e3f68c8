"""Regularized evolution vs random search on the NAS-Bench-201 table, through the Python API.

Each strategy searches the NB201 cell space with the tabular estimator (a lookup in the shipped
NAS-Bench-201 table, O(1) per arch) under the NB201 paper protocol: 12-epoch validation accuracy as the
objective, a budget of simulated training seconds, and the 200-epoch test accuracy of the best arch
reported. Several seeds per strategy, so the comparison means something.

Papers: Real et al., "Regularized Evolution for Image Classifier Architecture Search", AAAI 2019;
Bergstra & Bengio, JMLR 2012; Dong & Yang, "NAS-Bench-201", ICLR 2020.

    python examples/01_tabular_search.py            # 20 seeds per strategy, 12,000 simulated s each
    python examples/01_tabular_search.py --tiny     # 3 seeds, 3,000 simulated s (about a second)
"""

from __future__ import annotations

import argparse
import statistics

from archsearch.config import StudyConfig
from archsearch.spaces.nb201 import NB201Space
from archsearch.store import InMemoryStore
from archsearch.study import Study

STRATEGIES = ("random", "regularized-evolution")


def search(strategy: str, seed: int, budget_seconds: float) -> Study:
    """One search on the table; the store is in memory (use SQLiteStore("runs.db") to keep it)."""
    config = StudyConfig.from_mapping({
        "name": f"{strategy}-{seed}", "strategy": strategy, "seed": seed,
        "space": "nb201", "benchmark": "nb201", "estimator": "tabular", "dataset": "cifar10",
        "fidelity": 12, "budget_seconds": budget_seconds,          # the NB201 protocol (also the defaults)
        "strategy_options": {"population_size": 10, "sample_size": 3} if strategy != "random" else {},
    })
    return Study.create(config, InMemoryStore()).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget-seconds", type=float, default=12_000.0)
    parser.add_argument("--tiny", action="store_true", help="3 seeds, a quarter of the budget")
    args = parser.parse_args()
    if args.tiny:
        args.seeds, args.budget_seconds = 3, 3_000.0

    space = NB201Space()
    for strategy in STRATEGIES:
        finals, best = [], None
        for seed in range(args.seeds):
            study = search(strategy, seed, args.budget_seconds)
            finals.append(study.reported_value())  # 200-epoch test accuracy of the best arch by valid_acc
            if best is None or study.reported_value() > best.reported_value():
                best = study
        spread = statistics.stdev(finals) if len(finals) > 1 else 0.0
        print(f"{strategy:>22}: final test accuracy {statistics.mean(finals):.2f} +- {spread:.2f} "
              f"over {args.seeds} seeds ({len(best.trials)} trials in the best run)")
        print(f"{'best arch':>22}: {space.format(best.best.arch)}  "
              f"(valid {best.best.metrics['valid_acc']:.2f}, test {best.reported_value():.2f})")


if __name__ == "__main__":
    main()
