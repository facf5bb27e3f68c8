"""Per-trial strategy overhead on the NB201 table, alone and beside a busy process, and the wall time of the
8-strategy compare of the paper protocol (issue 25, goals 2 and 4; not part of the test suite).

Overhead: for each ask/tell strategy, ``--seeds`` 100-trial searches (NB201 table, CIFAR-10, 12-epoch validation
accuracy, serial executor) into a SQLite store on disk, as ``archsearch search`` runs them. Each trial's overhead is
the wall time of the loop between two trials with the table lookups taken out: the strategy's tell and ask, the
checkpoint (``state_dict``) and the store's commit, measured by wrapping the estimator's ``evaluate`` (the lookup)
and the study's per-trial callback; the parts (tell, ask, checkpoint, commit) are timed by wrapping those calls.
Reported: the median and p90 over every trial of every seed, per strategy. ``--load`` runs everything a second time
with ``python3 -c "while True: pass"`` started beside it (and killed after). Goal: median <= 5 ms.

Compare (``--compare``): the wall time of ``archsearch compare`` of the 8 strategies of perf/README.md's "NB201
paper protocol" table x ``--compare-seeds`` seeds, ``--workers`` workers, in a fresh process. Goal: < 120 s.

    OMP_NUM_THREADS=1 .venv/bin/python perf/strategy_overhead.py --seeds 3 --load --compare \\
        --out perf/results/strategy_overhead.json

Results merge into ``--out`` under ``--label`` (e.g. ``before``, ``after``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
ASK_TELL = ("random", "regularized-evolution", "local-search", "guided-local-search", "bananas", "reinforce",
            "hyperband", "bohb", "nsga2", "mo-regularized-evolution", "exhaustive", "optuna")
PROTOCOL_EIGHT = ("random", "regularized-evolution", "local-search", "guided-local-search", "bananas", "reinforce",
                  "bohb", "hyperband")
PARTS = ("tell", "ask", "checkpoint", "commit")
BUSY = [sys.executable, "-c", "while True: pass"]
GOAL_MS = 5.0
GOAL_COMPARE_S = 120.0


class Timer:
    """Accumulates the seconds spent in wrapped calls since the last ``take``."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, part: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[part] = self.spent.get(part, 0.0) + time.perf_counter() - started
        return timed

    def take(self) -> dict[str, float]:
        spent, self.spent = self.spent, {}
        return spent


def one_search(strategy: str, seed: int, trials: int, folder: Path) -> list[dict[str, float]]:
    """One search of ``trials`` trials; per trial the seconds of its overhead and of each part (milliseconds)."""
    from archsearch.config import StudyConfig
    from archsearch.store.sqlite import SQLiteStore
    from archsearch.study import Study

    config = StudyConfig.from_mapping({"strategy": strategy, "dataset": "cifar10", "fidelity": 12, "seed": seed,
                                       "max_trials": trials, "budget_seconds": None, "name": f"{strategy}-{seed}"})
    store = SQLiteStore(folder / f"{strategy}-{seed}.db")
    study = Study.create(config, store)
    timer = Timer()
    estimator, strategy_object = study.components.estimator, study.components.strategy
    estimator.evaluate = timer.wrap("lookup", estimator.evaluate)
    strategy_object.tell = timer.wrap("tell", strategy_object.tell)
    strategy_object.ask_trials = timer.wrap("ask", strategy_object.ask_trials)
    study._checkpoint = timer.wrap("checkpoint", study._checkpoint)
    store.record_trial = timer.wrap("commit", store.record_trial)
    rows: list[dict[str, float]] = []
    last = [time.perf_counter()]

    def on_trial(_: Any) -> None:
        now = time.perf_counter()
        spent = timer.take()
        row = {part: 1e3 * spent.get(part, 0.0) for part in PARTS}
        row["overhead"] = 1e3 * (now - last[0] - spent.get("lookup", 0.0))
        rows.append(row)
        last[0] = time.perf_counter()

    study.run(on_trial=on_trial)
    store.close() if hasattr(store, "close") else None
    return rows[1:]  # the first interval holds the study's set-up, not a trial


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(strategies: list[str], seeds: int, trials: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in strategies:
            started = time.perf_counter()
            rows = [row for seed in range(seeds) for row in one_search(name, seed, trials, Path(folder))]
            overhead = [row["overhead"] for row in rows]
            out[name] = {"median_ms": round(statistics.median(overhead), 3),
                         "p90_ms": round(percentile(overhead, 0.9), 3),
                         "mean_ms": round(statistics.fmean(overhead), 3),
                         "parts_median_ms": {p: round(statistics.median(r[p] for r in rows), 3) for p in PARTS},
                         "trials": len(rows), "wall_s": round(time.perf_counter() - started, 2)}
            print(f"  {name:26s} median {out[name]['median_ms']:8.2f} ms  p90 {out[name]['p90_ms']:8.2f} ms  "
                  f"mean {out[name]['mean_ms']:8.2f} ms  parts {out[name]['parts_median_ms']}", flush=True)
    return out


@contextlib.contextmanager
def busy(load: bool) -> Iterator[None]:
    process = subprocess.Popen(BUSY) if load else None
    try:
        yield
    finally:
        if process is not None:
            process.kill()
            process.wait()


def compare_wall(seeds: int, workers: int, strategies: tuple[str, ...]) -> dict[str, Any]:
    """The wall seconds of ``archsearch compare`` (a fresh process) and its per-strategy means and wall times."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "compare.json"
        command = [str(Path(sys.executable).parent / "archsearch"), "compare", "--benchmark", "nb201", "--dataset",
                   "cifar10", "--fidelity", "12", "--budget-seconds", "12000", "--strategies", ",".join(strategies),
                   "--seeds", str(seeds), "--workers", str(workers), "--quiet", "--json", str(out)]
        started = time.perf_counter()
        subprocess.run(command, check=True)
        wall = time.perf_counter() - started
        results = json.loads(out.read_text())
    per = results.get("results", results)
    summary = {name: {"mean": round(r["mean"], 3), "std": round(r["std"], 3), "wall_s": round(r["wall_seconds"], 1)}
               for name, r in per.items() if isinstance(r, dict) and "mean" in r}
    return {"wall_s": round(wall, 1), "seeds": seeds, "workers": workers, "command": " ".join(command[1:]),
            "strategies": summary}


def markdown(report: dict[str, Any], before: str, after: str) -> str:
    """A table of median / p90 / mean ms per trial, ``before`` and ``after`` labels, alone and busy."""
    lines = ["| strategy | alone before | alone after | busy before | busy after |", "|---|---|---|---|---|"]
    old, new = report.get(before, {}), report.get(after, {})
    for name in new.get("alone", {}):
        cells = []
        for key in ("alone", "busy"):
            for entry in (old.get(key, {}).get(name), new.get(key, {}).get(name)):
                cells.append("" if entry is None else
                             f"{entry['median_ms']:.2f} / {entry['p90_ms']:.1f} / {entry['mean_ms']:.1f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", default=",".join(ASK_TELL))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--load", action="store_true", help="also measure beside a busy process")
    parser.add_argument("--compare", action="store_true", help="also time the 8-strategy compare")
    parser.add_argument("--compare-seeds", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--label", default="after")
    parser.add_argument("--out", default=str(RESULTS / "strategy_overhead.json"))
    parser.add_argument("--markdown", nargs=2, metavar=("BEFORE", "AFTER"),
                        help="only print the table of two stored labels of --out")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(Path(args.out).read_text()), *args.markdown))
        return
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    entry: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.machine(),
                             "seeds": args.seeds, "trials": args.trials, "cpus": os.cpu_count(),
                             "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    for load in ([False, True] if args.load else [False]):
        key = "busy" if load else "alone"
        print(f"per-trial overhead ({key}), {args.seeds} seeds x {args.trials} trials:", flush=True)
        with busy(load):
            entry[key] = measure(strategies, args.seeds, args.trials)
    if args.compare:
        entry["compare"] = compare_wall(args.compare_seeds, args.workers, PROTOCOL_EIGHT)
        print(f"compare of {len(PROTOCOL_EIGHT)} strategies x {args.compare_seeds} seeds, {args.workers} workers: "
              f"{entry['compare']['wall_s']} s (goal < {GOAL_COMPARE_S:g} s)", flush=True)
        for name, r in entry["compare"]["strategies"].items():
            print(f"  {name:26s} {r['mean']:.2f} +- {r['std']:.2f}  {r['wall_s']:7.1f} s")
    path = Path(args.out)
    report = json.loads(path.read_text()) if path.is_file() else {}
    report.setdefault(args.label, {}).update(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))
    print(f"wrote {path} [{args.label}]")


if __name__ == "__main__":
    main()
