"""Search quality and speed on the NB201 paper protocol (not part of the test suite).

Runs random search and regularized evolution for seeds 0..N-1 on the NAS-Bench-201 table:
objective = 12-epoch validation accuracy, budget = 12,000 simulated seconds, reported = the
200-epoch test accuracy of the best arch. The NB201 paper (Dong & Yang 2020, Table 5) reports on
CIFAR-10: RS 93.70 +- 0.36, REA 93.92 +- 0.30.

    .venv/bin/python perf/nb201_protocol.py [--seeds 100] [--datasets cifar10,cifar100,ImageNet16-120]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from pathlib import Path

from archsearch.config import StudyConfig
from archsearch.compare import compare_strategies

PAPER_CIFAR10 = {"random": (93.70, 0.36), "regularized-evolution": (93.92, 0.30)}


def welch_t(a: list[float], b: list[float]) -> float:
    """Welch's t statistic of mean(a) - mean(b) (|t| > 2 is significant at about 5%)."""
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    return (statistics.fmean(a) - statistics.fmean(b)) / math.sqrt(va + vb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--datasets", default="cifar10")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "nb201_protocol.json"))
    args = parser.parse_args()
    report: dict = {"seeds": args.seeds, "machine": platform.processor() or platform.machine(), "datasets": {}}
    for dataset in args.datasets.split(","):
        config = StudyConfig.from_mapping({"dataset": dataset, "fidelity": 12, "budget_seconds": 12000})
        started = time.perf_counter()
        results = compare_strategies(config, ["random", "regularized-evolution"], args.seeds)
        seconds = time.perf_counter() - started
        report["datasets"][dataset] = {"wall_seconds": round(seconds, 2), "results": {
            name: {"mean": round(r["mean"], 3), "std": round(r["std"], 3)} for name, r in results.items()}}
        for name, r in results.items():
            paper = PAPER_CIFAR10.get(name) if dataset == "cifar10" else None
            versus = f"   (paper {paper[0]:.2f} +- {paper[1]:.2f})" if paper else ""
            print(f"{dataset:15s} {name:24s} {r['mean']:.2f} +- {r['std']:.2f}{versus}")
        rs, re = results["random"]["final_test"], results["regularized-evolution"]["final_test"]
        welch = welch_t(re, rs)
        report["datasets"][dataset]["welch_t_re_minus_rs"] = round(welch, 2)
        print(f"{dataset:15s} RE - RS: {results['regularized-evolution']['mean'] - results['random']['mean']:+.2f}"
              f" points, Welch t = {welch:.1f}")
        print(f"{dataset:15s} 2 strategies x {args.seeds} seeds: {seconds:.1f} s wall clock")
    Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
