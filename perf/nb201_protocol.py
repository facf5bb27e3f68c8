"""Search quality and speed on the NB201 paper protocol (not part of the test suite).

Runs strategies (default: every registered one) for seeds 0..N-1 on the NAS-Bench-201 table:
objective = 12-epoch validation accuracy, budget = 12,000 simulated seconds (or ``--max-trials N``
trials), reported = the 200-epoch test accuracy of the best arch. Prints per strategy the mean, std
(ddof=1), min, max, trials per run and the wall time of its N-seed run. The NB201 paper (Dong & Yang
2020, Table 5) reports on CIFAR-10: RS 93.70 +- 0.36, REA 93.92 +- 0.30.

    .venv/bin/python perf/nb201_protocol.py [--seeds 100] [--datasets cifar10,cifar100,ImageNet16-120]
        [--strategies random,regularized-evolution] [--max-trials 100] [--workers 4] [--plot]

Results merge into perf/results/nb201_protocol.json under dataset -> protocol -> strategy, so that a run
of some strategies or datasets keeps the other entries; ``--plot`` writes the anytime curves beside it
(``<dataset>_anytime.png`` for the time budget, ``<dataset>_anytime_<N>trials.png`` for a trial budget).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from archsearch.compare import compare_strategies, table_optimum
from archsearch.config import StudyConfig
from archsearch.core.registry import STRATEGIES

PAPER_CIFAR10 = {"random": (93.70, 0.36), "regularized-evolution": (93.92, 0.30)}
FIDELITY = 12
BUDGET_SECONDS = 12_000.0
RESULTS = Path(__file__).parent / "results"


def welch_t(a: list[float], b: list[float]) -> float:
    """Welch's t statistic of mean(a) - mean(b) (|t| > 2 is significant at about 5%)."""
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    return (statistics.fmean(a) - statistics.fmean(b)) / math.sqrt(va + vb)


def protocol_key(config: StudyConfig) -> str:
    parts = [f"fidelity={config.fidelity:g}"]
    if config.budget_seconds is not None:
        parts.append(f"budget_seconds={config.budget_seconds:g}")
    if config.max_trials is not None:
        parts.append(f"max_trials={config.max_trials}")
    return ", ".join(parts)


def load_report(path: Path) -> dict[str, Any]:
    """The stored results, the old one-protocol layout (``datasets``) converted to dataset -> protocol."""
    if not path.is_file():
        return {"results": {}}
    stored = json.loads(path.read_text())
    if "datasets" not in stored:
        return stored
    protocol = f"fidelity={FIDELITY}, budget_seconds={BUDGET_SECONDS:g}"
    results: dict[str, Any] = {}
    for dataset, entry in stored["datasets"].items():
        strategies = {name: {"seeds": stored.get("seeds"), "mean": r["mean"], "std": r["std"],
                             "machine": stored.get("machine")} for name, r in entry["results"].items()}
        if "welch_t_re_minus_rs" in entry and "regularized-evolution" in strategies:
            strategies["regularized-evolution"]["welch_t_vs_random"] = entry["welch_t_re_minus_rs"]
        results[dataset] = {protocol: strategies}
    return {"results": results}


def summarise(name: str, summary: dict[str, Any], results: dict[str, Any], seeds: int, workers: int) -> dict:
    values = summary["final_test"]
    entry = {"seeds": seeds, "mean": round(summary["mean"], 3), "std": round(summary["std"], 3),
             "min": round(min(values), 3), "max": round(max(values), 3), "trials": round(summary["trials"], 1),
             "wall_seconds": round(summary["wall_seconds"], 2), "workers": workers,
             "machine": platform.processor() or platform.machine(), "date": time.strftime("%Y-%m-%d")}
    if name != "random" and "random" in results and seeds > 1:
        entry["welch_t_vs_random"] = round(welch_t(values, results["random"]["final_test"]), 2)
    return entry


def print_results(dataset: str, results: dict[str, Any], entries: dict[str, Any]) -> None:
    print(f"{dataset:15s} {'strategy':24s} {'mean +- std':>15s} {'min':>7s} {'max':>7s} {'trials':>7s} "
          f"{'wall s':>8s}  vs random (Welch t)")
    for name, entry in entries.items():
        paper = PAPER_CIFAR10.get(name) if dataset == "cifar10" else None
        versus = f"   (paper {paper[0]:.2f} +- {paper[1]:.2f})" if paper else ""
        welch = ""
        if "welch_t_vs_random" in entry:
            delta = results[name]["mean"] - results["random"]["mean"]
            welch = f"  {delta:+.2f} (t = {entry['welch_t_vs_random']:.1f})"
        print(f"{dataset:15s} {name:24s} {entry['mean']:7.2f} +- {entry['std']:<4.2f} {entry['min']:7.2f} "
              f"{entry['max']:7.2f} {entry['trials']:7.1f} {entry['wall_seconds']:8.1f}{welch}{versus}")


def plot(results: dict[str, Any], config: StudyConfig, seeds: int, folder: Path) -> Path:
    from archsearch.report.curves import plot_anytime

    by_trials = config.max_trials is not None and config.budget_seconds is None
    name = f"{config.dataset}_anytime" + (f"_{config.max_trials}trials" if by_trials else "") + ".png"
    return plot_anytime(results, folder / name, x="trials" if by_trials else "cost", optimum=table_optimum(config),
                        ylabel="200-epoch test accuracy (%) of the best-so-far arch",
                        title=f"NAS-Bench-201 {config.dataset}, {protocol_key(config)}: {seeds} seeds, 95% band")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--datasets", default="cifar10")
    parser.add_argument("--strategies", default=",".join(STRATEGIES.names()),
                        help="comma-separated (default: every registered strategy)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-trials", type=int, default=None,
                        help="a trial budget instead of 12,000 simulated seconds")
    parser.add_argument("--plot", action="store_true", help="write <dataset>_anytime.png beside --out")
    parser.add_argument("--out", default=str(RESULTS / "nb201_protocol.json"))
    args = parser.parse_args()
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    out = Path(args.out)
    for dataset in args.datasets.split(","):
        budget = {"max_trials": args.max_trials, "budget_seconds": None} if args.max_trials else \
            {"budget_seconds": BUDGET_SECONDS}
        config = StudyConfig.from_mapping({"dataset": dataset, "fidelity": FIDELITY, **budget})
        results = compare_strategies(config, strategies, args.seeds, workers=args.workers)
        entries = {name: summarise(name, r, results, args.seeds, args.workers) for name, r in results.items()}
        print_results(dataset, results, entries)
        report = load_report(out)  # re-read: another run may have written meanwhile
        report.setdefault("results", {}).setdefault(dataset, {}).setdefault(protocol_key(config), {}).update(entries)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1))
        if args.plot:
            print(f"{dataset:15s} wrote {plot(results, config, args.seeds, out.parent)}")


if __name__ == "__main__":
    main()
