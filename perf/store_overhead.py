"""Per-trial overhead of the search loop: ask + tell + durable commit (issue 9; not part of the test suite).

Regularized evolution on the NAS-Bench-201 table (CIFAR-10, a lookup per trial), 10,000 trials, 8 simulated
workers (8 trials in flight: an executor whose trials finish at once), into

- the SQLite store on disk as archsearch runs it (WAL, ``synchronous=NORMAL``: every commit survives a killed
  process; each trial is one transaction with the strategy checkpoint and the trials in flight),
- the same with ``synchronous=FULL`` (an fsync per commit: survives a power loss too),
- the in-memory store (no durability; what ``compare`` uses).

Reports wall seconds per trial (everything: ask, the table lookup, tell, checkpoint, commit), the part spent in
the store's commit and in the strategy's ask/tell, and the store's size per 10,000 trials.

    .venv/bin/python perf/store_overhead.py [--trials 10000] [--workers 8] [--repeats 3]

Writes perf/results/store_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from archsearch.config import StudyConfig
from archsearch.execution.serial import SerialExecutor
from archsearch.store.memory import InMemoryStore
from archsearch.store.sqlite import SQLiteStore
from archsearch.study import Study

RESULTS = Path(__file__).parent / "results"


class SimulatedWorkers(SerialExecutor):
    """``workers`` trials in flight; each finishes as it is submitted (the table needs no worker)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers


class Timed:
    """Wraps a method and adds its wall time to ``seconds``."""

    def __init__(self, owner: Any, name: str) -> None:
        self.inner, self.seconds = getattr(owner, name), 0.0
        setattr(owner, name, self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def run_once(kind: str, trials: int, workers: int, folder: Path) -> dict[str, float]:
    config = StudyConfig.from_mapping({"name": f"overhead-{kind}", "max_trials": trials, "seed": 0})
    config.finish_budget()
    path = folder / f"{kind}.db"
    store = InMemoryStore() if kind == "memory" else SQLiteStore(path)
    if kind == "sqlite-full":
        store._db.execute("PRAGMA synchronous = FULL")
    study = Study.create(config, store, executor=SimulatedWorkers(workers))
    commit = Timed(store, "record_trial")
    ask = Timed(study.components.strategy, "ask_trials")
    tell = Timed(study.components.strategy, "tell")
    estimate = Timed(study.components.estimator, "evaluate")
    started = time.perf_counter()
    study.run()
    seconds = time.perf_counter() - started
    store.close()
    size = sum(p.stat().st_size for p in folder.glob(f"{kind}.db*")) if kind != "memory" else 0
    assert len(study.trials) == trials
    return {"ms_per_trial": 1000 * seconds / trials, "commit_ms": 1000 * commit.seconds / trials,
            "ask_tell_ms": 1000 * (ask.seconds + tell.seconds) / trials,
            "table_lookup_ms": 1000 * estimate.seconds / trials, "store_mb": size / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    report: dict[str, Any] = {"trials": args.trials, "workers": args.workers, "repeats": args.repeats, "stores": {}}
    for kind in ("sqlite", "sqlite-full", "memory"):
        runs = []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as folder:
                runs.append(run_once(kind, args.trials, args.workers, Path(folder)))
        summary = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        summary["ms_per_trial_runs"] = [run["ms_per_trial"] for run in runs]
        report["stores"][kind] = summary
        print(f"{kind:12s} {summary['ms_per_trial']:.3f} ms/trial (median of {args.repeats}; commit "
              f"{summary['commit_ms']:.3f}, ask+tell {summary['ask_tell_ms']:.3f}, lookup {summary['table_lookup_ms']:.3f})"
              f", store {summary['store_mb']:.1f} MB per {args.trials:,} trials", flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "store_overhead.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {RESULTS / 'store_overhead.json'}")


if __name__ == "__main__":
    main()
