"""Transfer, the activation paper's test (issue 23, part 4): do the table's best functions beat ReLU elsewhere?

The ``activation-mnist1d`` table's top ``--top`` functions (by the mean validation accuracy over its two seeds),
with ReLU, Swish and GELU, each trained on another, bigger task: the pre-activation ResNet child on mnist5k
(images instead of 1-D signals, convolutions instead of an MLP, more epochs than the table's 3), ``--seeds``
paired seeds (every function starts from the same weights and sees the same batches per seed). Per function:
mean +- std of the test accuracy, the paired t-test against ReLU and its p-value Holm-adjusted over the
functions compared (:func:`archsearch.core.stats.holm`) — ``archsearch activation-eval --from-table
activation-mnist1d`` does the same on one process:

    archsearch activation-eval --from-table activation-mnist1d --top 10 --baselines relu,swish,gelu \\
        --dataset mnist5k --seeds 10 --epochs 5 --set estimator.batch_size=32 --set estimator.net.channels=8

This script runs the (function, seed) trainings on ``--workers`` processes of one thread each and keeps every
finished run in its JSON, so a stopped run resumes where it stopped.

    .venv/bin/python perf/activation_transfer.py [--top 10] [--seeds 10] [--epochs 5] [--workers 2]

Writes perf/results/activation_transfer.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from archsearch.activation_study import summarise, table_functions  # noqa: E402
from archsearch.core.stats import holm  # noqa: E402

BENCHMARK, DATASET, BASELINES = "activation-mnist1d", "mnist5k", ("relu", "swish", "gelu")
OPTIONS = {"batch_size": 32, "net": {"channels": 8}}  # the ResNet child at 8-16 channels, 125 steps per epoch
OUT = ROOT / "perf" / "results" / "activation_transfer.json"


def train_one(function: str, seed: int, epochs: float, units: int = 1) -> dict[str, Any]:
    """One run of the transfer task: ``function`` (a baseline or an arch string of the ``units``-unit space)."""
    import torch

    from archsearch.estimators.activation import ActivationEstimator
    from archsearch.spaces.activation import ActivationSpace

    torch.set_num_threads(1)
    estimator = ActivationEstimator(ActivationSpace(units), DATASET, epochs=epochs, **OPTIONS)
    result = estimator.evaluate_function(function, seed)
    return {"function": function, "seed": seed, "status": result.status, "error": result.error,
            "valid_acc": result.metric("valid_acc"), "test_acc": result.metric("test_acc"),
            "seconds": result.cost_seconds}


def summary_of(functions: list[str], runs: list[dict[str, Any]]) -> dict[str, Any]:
    by_function = {f: [r for r in runs if r["function"] == f] for f in functions}
    table = {f: summarise(by_function[f], by_function["relu"]) for f in functions if by_function[f]}
    compared = [f for f in table if f != "relu" and "p_vs_relu" in table[f]]
    for function, adjusted in zip(compared, holm([table[f]["p_vs_relu"] for f in compared])):
        table[function]["p_holm_vs_relu"] = adjusted
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--epochs", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    _, top = table_functions(BENCHMARK, args.top)
    functions = [*BASELINES, *top]
    stored = json.loads(OUT.read_text()) if OUT.is_file() else {}
    runs = [r for r in stored.get("runs", []) if stored.get("epochs") == args.epochs]
    done = {(r["function"], r["seed"]) for r in runs}
    jobs = [(f, s) for s in range(args.seeds) for f in functions if (f, s) not in done]
    print(f"{len(functions)} functions x {args.seeds} seeds: {len(jobs)} runs to train ({len(done)} stored)")

    def write() -> None:
        document = {"dataset": DATASET, "epochs": args.epochs, "options": OPTIONS, "seeds": args.seeds,
                    "functions": functions, "summary": summary_of(functions, runs), "runs": runs}
        OUT.write_text(json.dumps(document, indent=1) + "\n")

    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(train_one, f, s, args.epochs) for f, s in jobs]
        for future in as_completed(futures):
            runs.append(future.result())
            write()
            print(f"  {runs[-1]['function']:40s} seed {runs[-1]['seed']}: test {runs[-1]['test_acc']:.2f} "
                  f"({runs[-1]['seconds']:.0f} s)", flush=True)
    write()
    print_summary(summary_of(functions, runs))
    return 0


def print_summary(table: dict[str, Any], label: Any = str) -> None:
    """One line per function: test accuracy, difference to ReLU, p and Holm's p (``label(function)``: its name)."""
    nan = float("nan")
    for function, entry in table.items():
        print(f"{label(function):50s} test {entry['test_mean']:6.2f} +- {entry['test_std']:5.2f}  "
              f"diff {entry.get('diff_vs_relu', nan):+6.2f}  p {entry.get('p_vs_relu', nan):.4f}  "
              f"Holm {entry.get('p_holm_vs_relu', nan):.4f}")


if __name__ == "__main__":
    sys.exit(main())
