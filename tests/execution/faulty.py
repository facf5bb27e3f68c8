"""An estimator whose trials misbehave on purpose (importable by spawned worker processes)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from archsearch.core.arch import Arch
from archsearch.core.estimator import Estimator
from archsearch.core.result import Result


SLOW_SECONDS = 2.0


class FaultyEstimator(Estimator):
    """``mode``: ``die-once`` (the worker process dies on an arch's first attempt), ``always-die``, ``hang``, or
    ``slow`` (each trial takes ``SLOW_SECONDS`` without using the CPU)."""

    name = "faulty"

    def __init__(self, mode: str, marks: str) -> None:
        self.mode, self.marks = mode, marks

    def evaluate(self, arch: Arch, fidelity: float | None = None) -> Result:
        mark = Path(self.marks) / hashlib.sha256(arch.key().encode()).hexdigest()[:16]  # same in every process
        if self.mode == "always-die" or (self.mode == "die-once" and not mark.exists()):
            mark.touch()
            os._exit(1)  # as a SIGKILL or the OOM killer would: no exception, no result
        if self.mode == "hang":
            time.sleep(120)
        if self.mode == "slow":
            time.sleep(SLOW_SECONDS)
        return Result(arch, {"valid_acc": float(len(arch.key()) % 7), "final_test_acc": 1.0}, 1.0, fidelity)

    def metrics(self) -> tuple[str, ...]:
        return ("valid_acc", "final_test_acc")


def run_search(store: str, marks: str, mode: str, trials: int, workers: int, executor: str, address: str) -> None:
    """A search driver with this estimator (``python -m tests.execution.faulty ...``, as a separate process)."""
    import dataclasses

    from archsearch.cli.report_run import run_study
    from archsearch.config import StudyConfig
    from archsearch.store.sqlite import SQLiteStore
    from archsearch.study import Study, build_components

    config = StudyConfig.from_mapping({"name": mode, "strategy": "random", "max_trials": trials, "executor": executor,
                                       "workers": workers, **({"address": address} if address else {})})
    config.finish_budget()
    components = dataclasses.replace(build_components(config), estimator=FaultyEstimator(mode, marks))
    sqlite = SQLiteStore(store)
    try:
        run_study(Study.create(config, sqlite, components=components), store)
    finally:
        sqlite.close()


if __name__ == "__main__":
    import sys

    store, marks, mode, trials, workers, executor, address = sys.argv[1:8]
    run_search(store, marks, mode, int(trials), int(workers), executor, address)
