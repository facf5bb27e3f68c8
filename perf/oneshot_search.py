"""Search quality of the one-shot strategies on mnist5k, NB201 space (issue 5 acceptance).

(r) RS-WS: train the supernet with uniformly sampled paths, then rank 20 random archs by their
    shared-weight accuracy on the architecture half of the training split; Kendall tau (and Spearman)
    against the same 20 archs trained from scratch (validation accuracy).
(d) DARTS (first order) and GDAS searches (``--seeds``), each through the study exactly as
    ``archsearch search --strategy darts --estimator train`` runs it: the derived cell is trained from
    scratch with the same recipe as the random cells; reported beside the 10 first random cells of (r)
    (median, best, the derived cell's rank among them), with the search's collapse diagnostics.

Supernet and stand-alone networks have the same size (``--channels``, ``--cells``); stand-alone
training: ``--epochs`` epochs of the default recipe on the 4,000 training images, valid/test 500/500.

    .venv/bin/python perf/oneshot_search.py --out perf/results/oneshot_search.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr

from archsearch.config import StudyConfig
from archsearch.core.objectives import Objective
from archsearch.core.registry import STRATEGIES
from archsearch.estimators.supernet import OneShotSearch
from archsearch.estimators.train import TrainEstimator
from archsearch.spaces.nb201 import NB201Space
from archsearch.store.memory import InMemoryStore
from archsearch.study import Study


def standalone(estimator: TrainEstimator, arch: Any) -> dict[str, float]:
    result = estimator.evaluate(arch)
    return {"valid_acc": result.metrics.get("valid_acc", float("nan")),
            "test_acc": result.metrics.get("test_acc", float("nan")), "seconds": result.cost_seconds}


def rsws_ranking(net: dict[str, int], epochs: int, count: int, estimator: TrainEstimator) -> dict[str, Any]:
    space = NB201Space()
    strategy = STRATEGIES.create("rsws", epochs=epochs, net=net, hessian_every=0)
    strategy.bind(space, [Objective("valid_acc", "max")], np.random.default_rng(0))
    engine = OneShotSearch(space, strategy, "mnist5k", seed=0, device="cpu")
    started = time.perf_counter()
    for _ in range(epochs):
        engine.train_epoch()
    search_seconds = time.perf_counter() - started
    archs = [space.sample(np.random.default_rng(1000 + i)) for i in range(count)]
    rows = []
    for arch in archs:
        row = {"arch": space.format(arch), "shared_acc": engine.shared_accuracy(arch), **standalone(estimator, arch)}
        rows.append(row)
        print("rsws", json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
    shared, alone = [r["shared_acc"] for r in rows], [r["valid_acc"] for r in rows]
    return {"epochs": epochs, "search_seconds": search_seconds, "archs": rows,
            "kendall_tau": float(kendalltau(shared, alone).statistic),
            "spearman": float(spearmanr(shared, alone).statistic)}


def one_shot_study(strategy: str, seed: int, net: dict[str, int], search_epochs: int,
                   train_epochs: float) -> dict[str, Any]:
    config = StudyConfig.from_mapping({
        "name": f"{strategy}-{seed}", "strategy": strategy, "estimator": "train", "dataset": "mnist5k", "seed": seed,
        "strategy_options": {"epochs": search_epochs, "net": net},
        "estimator_options": {"epochs": train_epochs, "net": net, "measure": ["params"]}})
    config.finish_budget()
    study = Study.create(config, InMemoryStore()).run()
    trial = study.trials[0]
    epochs = [{"epoch": e.epoch, "seconds": round(e.seconds, 2),
               **{k: round(v, 4) for k, v in e.metrics.items()}} for e in study.epochs]
    return {"strategy": strategy, "seed": seed, "derived": NB201Space().format(NB201Space().validate(trial.arch)),
            "valid_acc": trial.metrics.get("valid_acc"), "test_acc": trial.metrics.get("test_acc"),
            "params": trial.metrics.get("params"), "search_seconds": sum(e.seconds for e in study.epochs),
            "epochs": epochs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--cells", type=int, default=2)
    parser.add_argument("--search-epochs", type=int, default=10)
    parser.add_argument("--epochs", type=float, default=5, help="stand-alone training epochs")
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--out", default="perf/results/oneshot_search.json")
    args = parser.parse_args()
    net = {"channels": args.channels, "cells_per_stage": args.cells}
    estimator = TrainEstimator(NB201Space(), "mnist5k", seed=0, device="cpu", net=net, epochs=args.epochs,
                               measure=["params"])
    document: dict[str, Any] = {"net": net, "stand_alone_epochs": args.epochs, "search_epochs": args.search_epochs,
                                "machine": {"platform": platform.platform(), "torch": torch.__version__,
                                            "threads": torch.get_num_threads()}}
    out = Path(args.out)
    document["rsws"] = rsws_ranking(net, args.search_epochs, args.archs, estimator)
    print(f"rsws: Kendall tau {document['rsws']['kendall_tau']:.3f}", flush=True)
    random_valid = [r["valid_acc"] for r in document["rsws"]["archs"][:10]]
    random_test = [r["test_acc"] for r in document["rsws"]["archs"][:10]]
    document["random_cells"] = {"valid_median": statistics.median(random_valid), "valid_best": max(random_valid),
                                "test_median": statistics.median(random_test), "test_best": max(random_test)}
    document["searches"] = []
    for strategy in ("darts", "gdas"):
        for seed in args.seeds:
            row = one_shot_study(strategy, seed, net, args.search_epochs, args.epochs)
            row["rank_among_random_by_valid"] = 1 + sum(v > row["valid_acc"] for v in random_valid)
            document["searches"].append(row)
            print(strategy, seed, json.dumps({k: v for k, v in row.items() if k != "epochs"}), flush=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(document, indent=2) + "\n")
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
