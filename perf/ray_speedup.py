"""Speed-up of 2 Ray workers over 1 on this 2-core machine, for real short training trials (issue 9; not part of
the test suite).

The same random search (seed 0, ``--trials`` NB201 cells trained on mnist5k for ``--epochs`` epochs at 8 channels,
one thread per trial) runs with a local Ray of 1 and of 2 workers (Ray started once per setting, outside the
timing) and, for reference, with the processes executor. Reports wall seconds of the search, trials per minute and
the speed-up, and checks that both runs evaluated the same archs with the same metrics (trials are seeded by
arch, not by worker).

    .venv/bin/python perf/ray_speedup.py [--trials 8] [--epochs 1]

Writes perf/results/ray_speedup.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from archsearch.config import StudyConfig
from archsearch.execution.processes import make_executor
from archsearch.store.sqlite import SQLiteStore
from archsearch.study import Study

RESULTS = Path(__file__).parent / "results"


def run(executor_kind: str, workers: int, trials: int, epochs: float, folder: Path) -> dict[str, Any]:
    config = StudyConfig.from_mapping({
        "name": f"{executor_kind}-{workers}", "strategy": "random", "estimator": "train", "dataset": "mnist5k",
        "max_trials": trials, "executor": executor_kind, "workers": workers, "estimator.epochs": epochs,
        "estimator.measure": [], "estimator.net": {"channels": 8, "cells_per_stage": 1}})
    config.finish_budget()
    executor = make_executor(executor_kind, workers)
    try:
        store = SQLiteStore(folder / f"{executor_kind}-{workers}.db")
        study = Study.create(config, store, executor=executor)
        started = time.perf_counter()
        study.run()
        seconds = time.perf_counter() - started
        store.close()
    finally:
        executor.shutdown()
    results = sorted((str(sorted(t.arch.items())), t.metrics.get("valid_acc")) for t in study.trials)
    return {"seconds": seconds, "trials_per_minute": 60 * trials / seconds, "results": results,
            "train_seconds_mean": sum(t.metrics.get("train_seconds", 0.0) for t in study.trials) / trials}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=float, default=1.0)
    args = parser.parse_args()
    report: dict[str, Any] = {"trials": args.trials, "epochs": args.epochs, "runs": {}}
    with tempfile.TemporaryDirectory() as folder:
        for kind, workers in (("ray", 1), ("ray", 2), ("processes", 2)):
            entry = run(kind, workers, args.trials, args.epochs, Path(folder))
            report["runs"][f"{kind}-{workers}"] = {k: v for k, v in entry.items() if k != "results"}
            report["runs"][f"{kind}-{workers}"]["same_results_as_ray_1"] = (
                entry["results"] == report.setdefault("_reference", entry["results"]))
            print(f"{kind} x{workers}: {entry['seconds']:.1f} s, {entry['trials_per_minute']:.1f} trials/min, "
                  f"{entry['train_seconds_mean']:.1f} s of training per trial", flush=True)
    report.pop("_reference")
    runs = report["runs"]
    report["speedup_ray_2_over_1"] = runs["ray-1"]["seconds"] / runs["ray-2"]["seconds"]
    print(f"speed-up of 2 Ray workers over 1: {report['speedup_ray_2_over_1']:.2f}x")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ray_speedup.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {RESULTS / 'ray_speedup.json'}")


if __name__ == "__main__":
    main()
