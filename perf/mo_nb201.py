"""Multi-objective search quality on NAS-Bench-201 (issue 6; not part of the test suite).

Protocol: CIFAR-10 (cifar10-valid), objectives the 200-epoch validation accuracy (max) and FLOPs (min, the
multiply-adds of our builder shipped in the table), 200 trials per run, seeds 0..N-1 (default 30). Per
strategy: the hypervolume of each run's front w.r.t. the reference point (accuracy 0, the largest FLOPs in
the space), reported normalised by 100 x max FLOPs (so the whole box is 1.0), mean +- std, Welch's t
against random search, and the hypervolume of the table's true front (the best any run can reach).

    .venv/bin/python perf/mo_nb201.py [--seeds 30] [--trials 200] [--workers 2]
        [--strategies nsga2,mo-regularized-evolution,random] [--plot]

Writes perf/results/mo_nb201.json (and mo_nb201_fronts.png with --plot: every run's front pooled).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from archsearch.benchmarks.nb201 import load_nb201
from archsearch.compare import compare_strategies
from archsearch.config import StudyConfig
from archsearch.core.pareto import hypervolume, pareto_front

RESULTS = Path(__file__).parent / "results"
OBJECTIVES = "valid_acc:max,flops:min"
FIDELITY = 200


def welch_t(a: list[float], b: list[float]) -> float:
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    return (statistics.fmean(a) - statistics.fmean(b)) / math.sqrt(va + vb) if va + vb > 0 else math.inf


def table_front_hypervolume(reference: list[float]) -> tuple[float, int]:
    """Hypervolume and size of the front of all 15,625 cells (the optimum of this protocol)."""
    table = load_nb201()
    accuracy = np.asarray(table.column("cifar10", FIDELITY, "valid_acc"))
    flops = np.asarray(table.column("cifar10", FIDELITY, "flops"))
    losses = np.stack([-accuracy, flops], axis=1)
    front = pareto_front(losses)
    return hypervolume(losses[front], [-reference[0], reference[1]]), len(front)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--strategies", default="nsga2,mo-regularized-evolution,random")
    parser.add_argument("--plot", action="store_true")
    args = parser.parse_args()

    max_flops = float(np.max(load_nb201().column("cifar10", FIDELITY, "flops")))
    reference = [0.0, max_flops]
    scale = 100.0 * max_flops  # the reference box: accuracy 0..100 x FLOPs 0..max
    config = StudyConfig.from_mapping({"objective": OBJECTIVES, "fidelity": FIDELITY, "max_trials": args.trials,
                                       "budget_seconds": None, "dataset": "cifar10",
                                       "reference_point": f"{reference[0]},{reference[1]}"})
    started = time.perf_counter()
    results = compare_strategies(config, args.strategies.split(","), args.seeds, workers=args.workers)
    wall = time.perf_counter() - started
    optimum, optimum_size = table_front_hypervolume(reference)
    report = {"protocol": {"dataset": "cifar10", "objectives": OBJECTIVES, "fidelity": FIDELITY,
                           "trials": args.trials, "seeds": args.seeds, "reference_point": reference,
                           "normalised_by": scale},
              "table_front": {"hypervolume": optimum / scale, "size": optimum_size},
              "machine": platform.processor() or platform.machine(), "wall_seconds": wall, "results": {}}
    baseline = [v / scale for v in results.get("random", {}).get("hypervolume", [])]
    print(f"NB201 CIFAR-10, {OBJECTIVES}, {args.trials} trials x {args.seeds} seeds; reference (0, {max_flops:.6g} "
          f"FLOPs); hypervolume / (100 x max FLOPs); the table's own front: {optimum / scale:.4f} "
          f"({optimum_size} cells)")
    for name, summary in results.items():
        volumes = [v / scale for v in summary["hypervolume"]]
        t = welch_t(volumes, baseline) if baseline and name != "random" else None
        entry = {"hv_mean": statistics.fmean(volumes), "hv_std": statistics.stdev(volumes),
                 "hv_min": min(volumes), "hv_max": max(volumes),
                 "gap_to_table_front": optimum / scale - statistics.fmean(volumes),
                 "front_size_mean": statistics.fmean(len(f) for f in summary["fronts"]),
                 "welch_t_vs_random": t, "wall_seconds": summary["wall_seconds"], "hypervolumes": volumes}
        report["results"][name] = entry
        print(f"{name:26s} HV {entry['hv_mean']:.4f} +- {entry['hv_std']:.4f} (min {entry['hv_min']:.4f}, max "
              f"{entry['hv_max']:.4f}), gap to table front {entry['gap_to_table_front']:.4f}, front size "
              f"{entry['front_size_mean']:.1f}" + ("" if t is None else f", Welch t vs random {t:.1f}"))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "mo_nb201.json").write_text(json.dumps(report, indent=1))
    if args.plot:
        from archsearch.report.pareto import plot_fronts

        pooled = {name: np.asarray([p for front in s["fronts"] for p in front]) for name, s in results.items()}
        plot_fronts(pooled, config.goal(), RESULTS / "mo_nb201_fronts.png",
                    title=f"NB201 CIFAR-10: fronts of {args.seeds} seeds x {args.trials} trials pooled")
    print(f"wrote {RESULTS / 'mo_nb201.json'} ({wall:.1f} s)")


if __name__ == "__main__":
    main()
