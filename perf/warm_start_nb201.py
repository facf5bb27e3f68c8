"""Warm start across datasets on NAS-Bench-201 (issue 7; not part of the test suite).

Per seed: a source search on CIFAR-10 (the NB201 protocol: 12-epoch validation accuracy, 12,000 simulated
seconds), then a search on CIFAR-100 and on ImageNet16-120 (12-epoch validation objective, 30 trials) either
cold or warm-started from that CIFAR-10 study (``--warm-start``: its 10 best archs first; REINFORCE: its final
controller). Reported: the mean 200-epoch test accuracy of each run's best arch (by the objective), and how many
trials a cold search needs for its mean to match the warm one at 30 (cold runs go to ``--cold-trials``).

    .venv/bin/python perf/warm_start_nb201.py [--seeds 100] [--strategies regularized-evolution,reinforce]
        [--trials 30] [--cold-trials 300]

Writes perf/results/warm_start_nb201.json.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from archsearch.config import StudyConfig
from archsearch.store.sqlite import SQLiteStore
from archsearch.study import Study

RESULTS = Path(__file__).parent / "results" / "warm_start_nb201.json"
TARGETS = ("cifar100", "ImageNet16-120")


def run(config: dict, store: SQLiteStore) -> list[float]:
    """The reported value of the best-so-far arch after each trial."""
    study = Study.create(StudyConfig.from_mapping(config), store)
    curve: list[float] = []
    study.run(on_trial=lambda progress: curve.append(study.reported_value()))
    return curve


def welch_t(a: list[float], b: list[float]) -> float:
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    return (statistics.fmean(a) - statistics.fmean(b)) / math.sqrt(va + vb) if va + vb > 0 else math.inf


def one_seed(strategy: str, seed: int, trials: int, cold_trials: int, folder: Path) -> dict[str, dict[str, list[float]]]:
    store = SQLiteStore(folder / f"{strategy}-{seed}.db")
    base = {"strategy": strategy, "seed": seed, "benchmark": "nb201", "fidelity": 12}
    run({**base, "name": "source", "dataset": "cifar10", "budget_seconds": 12_000.0}, store)
    out = {}
    for dataset in TARGETS:
        target = {**base, "dataset": dataset, "budget_seconds": None}
        cold = run({**target, "name": f"cold-{dataset}", "max_trials": cold_trials}, store)
        warm = run({**target, "name": f"warm-{dataset}", "max_trials": trials, "warm_start": "source"}, store)
        out[dataset] = {"cold": cold, "warm": warm}
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--strategies", default="regularized-evolution,reinforce")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--cold-trials", type=int, default=300)
    args = parser.parse_args()
    report: dict = {"protocol": {"source": "cifar10, 12-epoch valid objective, 12,000 s", "targets": TARGETS,
                                 "trials": args.trials, "cold_trials": args.cold_trials, "seeds": args.seeds,
                                 "warm_start_top": 10}, "results": {}}
    with tempfile.TemporaryDirectory() as folder:
        for strategy in args.strategies.split(","):
            started = time.perf_counter()
            runs = [one_seed(strategy, seed, args.trials, args.cold_trials, Path(folder)) for seed in range(args.seeds)]
            report["results"][strategy] = {}
            for dataset in TARGETS:
                cold = np.array([r[dataset]["cold"] for r in runs])  # (seeds, cold_trials)
                warm = [r[dataset]["warm"][-1] for r in runs]
                cold_at = cold[:, args.trials - 1].tolist()
                mean_curve = cold.mean(axis=0)
                reach = np.flatnonzero(mean_curve >= statistics.fmean(warm))
                entry = {"warm_mean": statistics.fmean(warm), "warm_std": statistics.stdev(warm),
                         "cold_mean": statistics.fmean(cold_at), "cold_std": statistics.stdev(cold_at),
                         "welch_t": welch_t(warm, cold_at),
                         "cold_trials_to_match_warm": int(reach[0]) + 1 if reach.size else None,
                         "cold_mean_at_max": float(mean_curve[-1])}
                report["results"][strategy][dataset] = entry
                matched = entry["cold_trials_to_match_warm"]
                print(f"{strategy:24s} {dataset:15s} warm@{args.trials} {entry['warm_mean']:.2f} +- {entry['warm_std']:.2f}"
                      f"  cold@{args.trials} {entry['cold_mean']:.2f} +- {entry['cold_std']:.2f}  t {entry['welch_t']:.1f}"
                      f"  cold matches warm after {matched if matched else f'> {args.cold_trials}'} trials", flush=True)
            report["results"][strategy]["wall_seconds"] = time.perf_counter() - started
    RESULTS.write_text(json.dumps(report, indent=1))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
