"""Benchmarks (b), (c) and the search acceptance of issue 4, with the train estimator on embedded data.

(b) ``parallel``: trials per minute of short trials (digits, NB201 C=4 N=1, 1 epoch, random search, 40
    trials), ``--executor processes --workers 2`` vs serial, on this machine's cores, with and without the
    pool's start-up (spawning 2 interpreters that import torch).
(c) ``memory``: resident memory (RSS, from /proc) after each of 20 trials of a serial search in this
    process: it must stay flat (no growth per trial).
(s) ``search``: regularized evolution on mnist5k (NB201 C=8 N=1, a few epochs per trial, >= 20 trials): the
    best arch (by validation accuracy) against the median of the random archs it evaluated (its initial
    population, sampled uniformly).

    .venv/bin/python perf/train_search.py parallel memory search --out perf/results/train_search.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from archsearch.config import StudyConfig
from archsearch.store.memory import InMemoryStore
from archsearch.study import Study

TINY = {"channels": 4, "cells_per_stage": 1}
SMALL = {"channels": 8, "cells_per_stage": 1}


def study_config(name: str, **keys: Any) -> StudyConfig:
    return StudyConfig.from_mapping({"name": name, "estimator": "train", "device": "cpu", **keys})


def parallel(trials: int = 40) -> dict[str, Any]:
    from archsearch.execution.processes import make_executor

    rows: dict[str, Any] = {}
    for executor, workers in (("serial", 1), ("processes", 2)):
        config = study_config(executor, strategy="random", dataset="digits", fidelity=1, max_trials=trials,
                              executor=executor, workers=workers,
                              estimator_options={"net": TINY, "batch_size": 64, "measure": ["params", "flops"]})
        started = time.perf_counter()
        with make_executor(executor, workers) as pool:
            start_up = time.perf_counter() - started
            study = Study.create(config, InMemoryStore(), executor=pool).run()
            elapsed = time.perf_counter() - started
        rows[executor] = {"trials": len(study.trials), "seconds": elapsed, "start_up_seconds": start_up,
                          "trials_per_minute": 60 * len(study.trials) / elapsed,
                          "trials_per_minute_after_start_up": 60 * len(study.trials) / (elapsed - start_up)}
    for key in ("trials_per_minute", "trials_per_minute_after_start_up"):
        rows[f"speedup_{key}"] = rows["processes"][key] / rows["serial"][key]
    return rows


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory(trials: int = 20) -> dict[str, Any]:
    config = study_config("memory", strategy="random", dataset="mnist5k", fidelity=0.5, max_trials=trials,
                          estimator_options={"net": TINY, "fraction": 0.25})
    samples: list[float] = []
    Study.create(config, InMemoryStore()).run(on_trial=lambda progress: samples.append(rss_mib()))
    return {"rss_mib_per_trial": samples, "growth_trial5_to_last_mib": samples[-1] - samples[4],
            "peak_mib": max(samples)}


def search(trials: int = 24, epochs: float = 2.0, workers: int = 2) -> dict[str, Any]:
    config = study_config("re-mnist5k", strategy="regularized-evolution", dataset="mnist5k", fidelity=epochs,
                          max_trials=trials, seed=0, executor="processes" if workers > 1 else "serial",
                          workers=workers, estimator_options={"net": SMALL})
    started = time.perf_counter()
    study = Study.create(config, InMemoryStore()).run()
    elapsed = time.perf_counter() - started
    population = study.components.strategy.population_size
    random_trials = [t for t in study.trials[:population] if t.status == "ok"]
    best = study.best
    assert best is not None
    median_valid = statistics.median(t.metrics["valid_acc"] for t in random_trials)
    median_test = statistics.median(t.metrics["test_acc"] for t in random_trials)
    return {"trials": len(study.trials), "failed": sum(t.status != "ok" for t in study.trials),
            "seconds": elapsed, "population_size": population,
            "best_trial": best.number, "best_arch": study.components.space.format(
                study.components.space.validate(best.arch)),
            "best_valid_acc": best.metrics["valid_acc"], "best_test_acc": best.metrics["test_acc"],
            "random_median_valid_acc": median_valid, "random_median_test_acc": median_test,
            "best_beats_random_median": best.metrics["test_acc"] > median_test,
            "valid_acc_by_trial": [t.metrics.get("valid_acc") for t in study.trials]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="+", choices=["parallel", "memory", "search"])
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    results = {name: globals()[name]() for name in args.which}
    print(json.dumps(results, indent=1))
    if args.out:
        path = Path(args.out)
        previous = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**previous, **results, "cpu_count": os.cpu_count()}, indent=1))


if __name__ == "__main__":
    main()
