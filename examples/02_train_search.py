"""A small real search: every candidate NB201 cell is trained on a dataset that ships with archsearch.

The ``train`` estimator builds each arch (``space.build``), trains it with a budget (a few epochs, a
fraction of the train split; SGD with Nesterov momentum and a cosine learning rate) and measures its
validation and test accuracy, parameters, FLOPs and latency. Every trial is seeded from the study seed and
the arch, so the same seed gives the same history on CPU. The search uses regularized evolution with a
small population; the trials go to a SQLite store that ``archsearch show`` and ``archsearch report`` read.

Papers: Real et al., AAAI 2019 (regularized evolution); Dong & Yang, ICLR 2020 (the NB201 cell).

    python examples/02_train_search.py              # mnist5k, 12 trials of 2 epochs (a few minutes on 2 cores)
    python examples/02_train_search.py --tiny       # digits, 3 trials of a third of an epoch (seconds)
    archsearch show train-demo --store runs.db      # then look at the stored search
"""

from __future__ import annotations

import argparse

from archsearch.config import StudyConfig
from archsearch.spaces.nb201 import NB201Space
from archsearch.store import SQLiteStore
from archsearch.study import Study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist5k", help="digits, mnist5k, mnist1d, cifar10 (with a data dir)")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--fraction", type=float, default=1.0, help="fraction of the train split each trial uses")
    parser.add_argument("--store", default="runs.db")
    parser.add_argument("--tiny", action="store_true",
                        help="digits, 3 trials, a third of an epoch on 30%% of it, no latency measurement")
    args = parser.parse_args()
    measure = ["params", "flops", "latency"]  # measured per trial (latency: batch-1, on this machine)
    if args.tiny:
        args.dataset, args.trials, args.epochs, args.fraction = "digits", 3, 0.3, 0.3
        measure = ["params", "flops"]

    config = StudyConfig.from_mapping({
        "name": "train-demo", "seed": 0, "max_trials": args.trials, "dataset": args.dataset, "device": "auto",
        "strategy": {"name": "regularized-evolution", "population_size": 4, "sample_size": 2},
        "estimator": {"name": "train", "epochs": args.epochs, "fraction": args.fraction,
                      "measure": measure, "net": {"channels": 8, "cells_per_stage": 1}},   # a tiny NB201 net
    })
    config.finish_budget()  # a trial budget alone: no time budget (as on the command line)
    store = SQLiteStore(args.store)
    try:
        study = Study.create(config, store).run(
            on_trial=lambda p: print(f"trial {p.trials}/{p.max_trials}: best valid acc so far {p.best_value:.2f}%"))
    finally:
        store.close()

    for trial in study.trials:
        print(f"  #{trial.number} {trial.status:6} valid {trial.metrics.get('valid_acc', float('nan')):6.2f}%  "
              f"params {trial.metrics.get('params', float('nan')):8,.0f}  {trial.cost:5.1f} s")
    best = study.best
    print(f"best arch: {NB201Space().format(best.arch)}")
    print(f"best: valid {best.metrics['valid_acc']:.2f}%, test {best.metrics['test_acc']:.2f}%, "
          f"{best.metrics['params']:,.0f} params, {best.metrics['flops']:,.0f} FLOPs, "
          f"{best.metrics.get('latency_ms', float('nan')):.2f} ms latency")


if __name__ == "__main__":
    main()
