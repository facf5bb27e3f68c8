"""``archsearch bench build``: throughput with 1 and 2 worker processes, then search quality on the table it built
(issue 11; not part of the test suite).

1. Throughput: ``bench build --sample N`` (the same N archs, seed 0) of the declared space
   ``perf/fixtures/bench_space.yaml`` (243 chains) on digits for ``--epochs`` epochs, with ``--executor processes``
   and 1, then 2 workers; wall seconds of the whole command (workers' start-up included) and archs per minute.
2. The table: ``bench build --all`` of the same space with 2 workers (every one of the 243 archs), written as
   ``perf/results/bench_chain_digits.parquet`` (resumable: a store in the temp folder keeps the trials).
3. Search quality on that table: ``compare_strategies`` (the machinery of ``archsearch compare --table``) over
   ``--seeds`` seeds of ``--trials`` trials each; the regret of a run is the table's best test accuracy minus
   the test accuracy of the run's best arch by validation accuracy; the strategy with the lowest mean regret is
   compared with random search (a two-sided Mann-Whitney U test over seeds).

    .venv/bin/python perf/bench_build.py [--sample 16] [--epochs 2] [--seeds 50] [--trials 25]

Writes perf/results/bench_build.json.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "perf" / "results"
SPACE = ROOT / "perf" / "fixtures" / "bench_space.yaml"
TABLE = RESULTS / "bench_chain_digits.parquet"
STORE = Path(tempfile.gettempdir()) / "archsearch_bench_build.db"  # keeps a killed build resumable
STRATEGIES = ("random", "exhaustive", "regularized-evolution", "local-search", "bananas")


def build(selection: list[str], workers: int, epochs: float, store: Path, out: Path) -> dict[str, Any]:
    """One ``archsearch bench build`` command; its wall seconds and the archs it trained."""
    command = [sys.executable, "-m", "archsearch.cli.main", "bench", "build", "--space-file", str(SPACE),
               "--dataset", "digits", "--epochs", str(epochs), *selection, "--executor", "processes",
               "--workers", str(workers), "--store", str(store), "--out", str(out), "--quiet"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench build failed: {done.stderr.strip()}")
    trained = int(re.search(r"trained (\d+) archs", done.stdout).group(1))
    return {"workers": workers, "archs": trained, "wall_seconds": seconds,
            "archs_per_minute": 60 * trained / seconds if trained else None, "output": done.stdout.strip()}


def throughput(sample: int, epochs: float) -> list[dict[str, Any]]:
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for workers in (1, 2):
            run = build(["--sample", str(sample)], workers, epochs, Path(folder) / f"w{workers}.db",
                        Path(folder) / f"w{workers}.parquet")
            print(f"{workers} worker(s): {run['archs']} archs in {run['wall_seconds']:.1f} s = "
                  f"{run['archs_per_minute']:.1f} archs/min", flush=True)
            runs.append(run)
    return runs


def regret(seeds: int, trials: int) -> dict[str, Any]:
    from scipy.stats import mannwhitneyu

    from archsearch.compare import compare_strategies, table_optimum
    from archsearch.config import StudyConfig

    config = StudyConfig.from_mapping({"table": str(TABLE), "max_trials": trials})
    config.finish_budget()
    optimum = table_optimum(config)
    started = time.perf_counter()
    results = compare_strategies(config, STRATEGIES, seeds)
    summary = {}
    for name, result in results.items():
        regrets = optimum - np.asarray(result["final_test"], dtype=float)
        summary[name] = {"mean_regret": float(regrets.mean()), "std_regret": float(regrets.std(ddof=1)),
                         "median_regret": float(np.median(regrets)), "found_optimum": int((regrets == 0).sum()),
                         "regrets": regrets.tolist()}
        print(f"{name:24s} regret {summary[name]['mean_regret']:.2f} +- {summary[name]['std_regret']:.2f} "
              f"(median {summary[name]['median_regret']:.2f}; optimum found in {summary[name]['found_optimum']}"
              f"/{seeds} runs)", flush=True)
    best = min((n for n in summary if n != "random"), key=lambda n: summary[n]["mean_regret"])
    test = mannwhitneyu(summary[best]["regrets"], summary["random"]["regrets"], alternative="two-sided")
    print(f"best: {best}, mean regret {summary[best]['mean_regret']:.2f} vs random "
          f"{summary['random']['mean_regret']:.2f} (Mann-Whitney p = {test.pvalue:.3g})", flush=True)
    return {"optimum_test_acc": optimum, "seeds": seeds, "trials": trials, "objective": config.objective,
            "report": config.report, "strategies": summary, "best": best, "p_value_vs_random": float(test.pvalue),
            "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=16, help="archs per throughput build (default 16)")
    parser.add_argument("--epochs", type=float, default=2.0, help="training epochs of every arch (default 2)")
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--trials", type=int, default=25, help="trials per search on the table (default 25)")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    report: dict[str, Any] = {"space": str(SPACE.relative_to(ROOT)), "dataset": "digits", "epochs": args.epochs}
    if not args.skip_throughput:
        report["throughput"] = throughput(args.sample, args.epochs)
    table = build(["--all"], 2, args.epochs, STORE, TABLE)
    print(f"table: {table['archs']} archs trained now in {table['wall_seconds']:.1f} s -> {TABLE.name}", flush=True)
    report["table_build"] = table
    report["regret"] = regret(args.seeds, args.trials)
    (RESULTS / "bench_build.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {RESULTS / 'bench_build.json'}")


if __name__ == "__main__":
    main()
