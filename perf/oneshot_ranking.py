"""Weight-sharing rankings against archsearch's own ground truth (issue 22, part 2).

An RS-WS supernet (Li & Talwalkar 2019: one uniformly sampled path per step, SPOS-style) of the NB201 cell at the
table's size (C=8, one cell per stage) is trained on mnist5k; after selected epochs every one of ``--archs`` archs
of the shipped table ``nb201-mnist5k`` is scored with the shared weights, with BatchNorm from the evaluation
batch (``bn 0``) and with BatchNorm recalibrated on ``b`` training batches of its own path (``bn b``; SPOS,
Guo et al. 2020), and ranked against the table's stand-alone validation accuracy (4 epochs): Kendall tau and
Spearman rho (scipy). Budget: the supernet's training seconds against the mean stand-alone train seconds of a
table row x 10 (the issue's cap: no more than training 10 archs). One run of ``--epochs`` epochs (cosine lr over
the whole run); tau is read along it.

    .venv/bin/python perf/oneshot_ranking.py --epochs 24 --at 2,4,8,16,24 --archs 150 --bn 0,20 \\
        --out perf/results/oneshot_ranking.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from scipy.stats import kendalltau, spearmanr  # noqa: E402

from archsearch.benchmarks import load_benchmark  # noqa: E402
from archsearch.benchmarks.shipped import NB201_MNIST5K_NET  # noqa: E402
from archsearch.config import StudyConfig  # noqa: E402
from archsearch.core.threads import configure  # noqa: E402
from archsearch.study.components import build_components, one_shot_engine  # noqa: E402

NET = NB201_MNIST5K_NET  # the table's network


def engine_for(epochs: int, seed: int):  # type: ignore[no-untyped-def]
    config = StudyConfig.from_mapping({"space": "nb201", "strategy": "rsws", "estimator": "train",
                                       "dataset": "mnist5k", "max_trials": 1, "seed": seed, "device": "cpu",
                                       "strategy_options": {"epochs": epochs, "net": dict(NET), "candidates": 1}})
    components = build_components(config)
    components.bind_strategy(seed)
    return one_shot_engine(config, components)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--at", default="2,4,8,16,24", help="epochs after which the archs are scored")
    parser.add_argument("--archs", type=int, default=150)
    parser.add_argument("--bn", default="0,20", help="BatchNorm recalibration batches to compare (0: batch stats)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "perf" / "results" / "oneshot_ranking.json"))
    args = parser.parse_args()
    configure(args.threads)
    table = load_benchmark("nb201-mnist5k")
    archs = [table.arch_at(i) for i in range(min(args.archs, len(table)))]
    truth = [table.query(a, "mnist5k", 4)["valid_acc"] for a in archs]
    standalone = statistics.mean(table.query(a, "mnist5k", 4)["train_seconds"] for a in archs)
    engine = engine_for(args.epochs, args.seed)
    at, modes = {int(e) for e in args.at.split(",")}, [int(b) for b in args.bn.split(",")]
    rows, trained = [], 0.0
    while engine.epoch < args.epochs:
        started = time.perf_counter()
        engine.train_epoch()
        trained += time.perf_counter() - started
        if engine.epoch in at:
            for bn in modes:
                started = time.perf_counter()
                shared = [engine.shared_accuracy(a, recalibrate=bn) for a in archs]
                rows.append({"epoch": engine.epoch, "bn_batches": bn, "kendall_tau": kendalltau(shared, truth)[0],
                             "spearman": spearmanr(shared, truth)[0], "supernet_seconds": trained,
                             "budget_in_standalone_trainings": trained / standalone,
                             "scoring_seconds": time.perf_counter() - started,
                             "shared_acc_median": statistics.median(shared)})
                print(json.dumps(rows[-1]), flush=True)
    document = {"archs": len(archs), "standalone_train_seconds_mean": standalone, "net": NET, "seed": args.seed,
                "epochs": args.epochs, "threads": args.threads, "table_rows": len(table), "rows": rows}
    Path(args.out).write_text(json.dumps(document, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
