"""One-shot NAS: DARTS (or GDAS, SNAS, RS-WS) trains a weight-sharing NB201 supernet, then hands its
derived cell to the estimator.

The supernet has a mixed op on every edge of the NB201 cell, one logit vector per edge. DARTS relaxes
the choice with a softmax and alternates weight steps (on half of the training split) with architecture
steps (on the other half); ``order=2`` is the unrolled second-order update. Each epoch the derived arch
(the argmax of every edge) and the supernet's accuracy are recorded; after the last epoch the derived
arch is trained from scratch by the ``train`` estimator as the study's trial. With a SQLite store every
epoch is committed with the supernet's state, so ``archsearch resume`` continues after the last epoch.

Papers: Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search", ICLR 2019; Dong & Yang,
"Searching for a Robust Neural Architecture in Four GPU Hours" (GDAS), CVPR 2019; Xie et al., "SNAS",
ICLR 2019; Li & Talwalkar, "Random Search and Reproducibility for NAS" (RS-WS), UAI 2019.

    python examples/06_oneshot_darts.py                       # mnist5k, 3 supernet epochs
    python examples/06_oneshot_darts.py --strategy gdas       # or snas, rsws
    python examples/06_oneshot_darts.py --tiny                # digits, 1 epoch on 15% of it
"""

from __future__ import annotations

import argparse

from archsearch.config import StudyConfig
from archsearch.spaces.nb201 import NB201Space
from archsearch.store import InMemoryStore
from archsearch.study import Study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default="darts", choices=("darts", "gdas", "snas", "rsws"))
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--epochs", type=int, default=3, help="supernet epochs (the paper: 50)")
    parser.add_argument("--fraction", type=float, default=1.0, help="fraction of the train split searched on")
    parser.add_argument("--tiny", action="store_true", help="digits, 1 epoch on 15%% of it, a 1-cell supernet")
    args = parser.parse_args()
    net = {"channels": 8, "cells_per_stage": 1}
    if args.tiny:
        args.dataset, args.epochs, args.fraction = "digits", 1, 0.15
        net = {"channels": 4, "cells_per_stage": 1}

    config = StudyConfig.from_mapping({
        "name": "oneshot", "dataset": args.dataset, "max_memory": "2GiB",  # refuse a supernet above 2 GiB
        "strategy": {"name": args.strategy, "epochs": args.epochs, "batch_size": 64, "fraction": args.fraction,
                     "net": net, "hessian_every": 0},                       # no Hessian eigenvalue (faster)
        "estimator": {"name": "train", "epochs": 1 if args.tiny else 3, "fraction": args.fraction,
                      "net": net, "measure": ["params"]},
    })
    config.finish_budget()
    study = Study.create(config, InMemoryStore()).run(on_message=print)

    space = NB201Space()
    for epoch in study.epochs:
        if epoch.kind == "epoch":
            metrics = ", ".join(f"{k} {v:.3g}" for k, v in sorted(epoch.metrics.items()))
            print(f"epoch {epoch.epoch}: {epoch.seconds:.1f} s; {metrics}")
            print(f"  derived: {space.format(epoch.arch)}")
    best = study.best
    print(f"derived arch trained from scratch: {space.format(best.arch)}: valid {best.metrics['valid_acc']:.2f}%, "
          f"test {best.metrics['test_acc']:.2f}%, {best.metrics['params']:,.0f} params")


if __name__ == "__main__":
    main()
