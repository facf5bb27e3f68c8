"""Searches of the activation table (issue 23, part 3): can they find the top of the 6,561 functions?

On the shipped ``activation-mnist1d`` table (milliseconds per query), each strategy runs ``--seeds`` seeds of
``--max-trials`` queries (the paper's controller evaluated 10,000 candidates per space; 1,000 here), objective
and report the table's mean validation accuracy over its two training seeds. Per strategy: the mean simple regret
(the table's best objective minus the best one found, after N queries, in points), the fraction of seeds whose
best found function is in the table's top 1 % (by the objective), the queries until the first top-1 % function
(median over the seeds that found one), and the anytime curve of the best-so-far objective (95 % band).

Strategies: REINFORCE with Zoph & Le's LSTM controller (the controller the activation paper used: an RNN that
emits the core unit's choices, trained on the validation accuracy; the paper used PPO, we use REINFORCE with an
EMA baseline), regularized evolution, BANANAS (``batch_size`` 25 instead of the paper's 10: 40 predictor fits
per 1,000-query run instead of 100, for CPU time) and random search.

    .venv/bin/python perf/activation_table_search.py [--seeds 30] [--max-trials 1000] [--workers 2]
        [--strategies reinforce,regularized-evolution,bananas,random]

Writes perf/results/activation_table_search.json (merged per strategy) and activation_table_search.png.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from archsearch.benchmarks import load_benchmark  # noqa: E402
from archsearch.compare import compare_strategies  # noqa: E402
from archsearch.config import StudyConfig  # noqa: E402

BENCHMARK, DATASET, FIDELITY, OBJECTIVE = "activation-mnist1d", "mnist1d", 3, "valid_acc_mean"
STRATEGY_OPTIONS: dict[str, dict[str, Any]] = {"bananas": {"batch_size": 25}}
TOP_FRACTION = 0.01
REGRET_FLOOR = 0.01  # the plot's lowest regret (log axis)
RESULTS = ROOT / "perf" / "results"


def table_scores() -> np.ndarray:
    """The objective of every candidate that trained (failed ones excluded), descending."""
    values = load_benchmark(BENCHMARK).column(DATASET, FIDELITY, OBJECTIVE)
    return np.sort(values[np.isfinite(values)])[::-1]


def run_strategy(name: str, seeds: int, max_trials: int, workers: int) -> dict[str, Any]:
    config = StudyConfig.from_mapping({
        "benchmark": BENCHMARK, "estimator": "tabular", "space": "activation", "dataset": DATASET,
        "fidelity": FIDELITY, "objective": f"{OBJECTIVE}:max", "report": f"{OBJECTIVE}:max",
        "max_trials": max_trials, "budget_seconds": None, "strategy_options": STRATEGY_OPTIONS.get(name, {})})
    return compare_strategies(config, [name], seeds, workers=workers)[name]


def summarise(result: dict[str, Any], scores: np.ndarray) -> dict[str, Any]:
    best, threshold = float(scores[0]), float(scores[max(0, math.ceil(TOP_FRACTION * len(scores)) - 1)])
    curves = np.asarray([run["reported"] for run in result["trajectories"]], dtype=float)  # (seeds, trials)
    curves = np.where(np.isfinite(curves), curves, -np.inf)
    regret = best - curves
    hits = curves >= threshold
    first = [int(np.argmax(row)) + 1 for row in hits if row.any()]
    checkpoints = [n for n in (10, 30, 100, 300, 1000) if n <= curves.shape[1]]
    return {"seeds": curves.shape[0], "trials": curves.shape[1],
            "mean_regret": {str(n): float(np.mean(regret[:, n - 1])) for n in checkpoints},
            "final_regret": [float(r) for r in regret[:, -1]],
            "top1pct_fraction": float(hits[:, -1].mean()), "queries_to_top1pct_median":
                float(np.median(first)) if first else None,
            "final_best": [float(v) for v in curves[:, -1]], "wall_seconds": result["wall_seconds"],
            "table_best": best, "top1pct_threshold": threshold,
            "anytime_mean": [float(v) for v in np.mean(np.minimum(regret, 100.0), axis=0)]}


def plot(entries: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.2))
    for name, entry in entries.items():
        mean = np.maximum(np.asarray(entry["anytime_mean"]), REGRET_FLOOR)  # 0 (every seed found the best) drawn low
        axis.plot(np.arange(1, len(mean) + 1), mean, label=f"{name} ({entry['seeds']} seeds)")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_ylim(bottom=REGRET_FLOOR)
    axis.set_xlabel("queries of the table")
    axis.set_ylabel("mean regret of the best-so-far (points)")
    axis.set_title("activation-mnist1d: 6,561 one-unit functions")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="lower left")
    figure.tight_layout()
    figure.savefig(out, dpi=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--max-trials", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--strategies", default="reinforce,regularized-evolution,bananas,random")
    parser.add_argument("--out", default=str(RESULTS / "activation_table_search.json"))
    args = parser.parse_args()
    out = Path(args.out)
    scores = table_scores()
    stored = json.loads(out.read_text()) if out.is_file() else {}
    for name in [s.strip() for s in args.strategies.split(",") if s.strip()]:
        entry = summarise(run_strategy(name, args.seeds, args.max_trials, args.workers), scores)
        stored[name] = entry
        out.write_text(json.dumps(stored, indent=1) + "\n")
        print(f"{name:24s} regret@100 {entry['mean_regret'].get('100', math.nan):6.3f} "
              f"final {np.mean(entry['final_regret']):6.3f}  top-1% in {entry['top1pct_fraction']:.0%} of seeds "
              f"(median {entry['queries_to_top1pct_median']} queries)  {entry['wall_seconds']:.0f} s", flush=True)
    plot(stored, out.with_suffix(".png"))
    if "random" in stored:
        for name, entry in stored.items():
            entry["regret_ratio_vs_random"] = {n: stored["random"]["mean_regret"][n] / max(r, 1e-9)
                                               for n, r in entry["mean_regret"].items()}
            print(f"{name:24s} random's mean regret / its own after N queries: " + ", ".join(
                f"{n}: {ratio:.2f}x" for n, ratio in entry["regret_ratio_vs_random"].items()))
        out.write_text(json.dumps(stored, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
