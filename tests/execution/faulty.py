"""An estimator whose trials misbehave on purpose (importable by spawned worker processes)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from archsearch.core.arch import Arch
from archsearch.core.estimator import Estimator
from archsearch.core.result import Result


class FaultyEstimator(Estimator):
    """``mode``: ``die-once`` (the worker process dies on an arch's first attempt), ``always-die``, ``hang``."""

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
        return Result(arch, {"valid_acc": float(len(arch.key()) % 7), "final_test_acc": 1.0}, 1.0, fidelity)

    def metrics(self) -> tuple[str, ...]:
        return ("valid_acc", "final_test_acc")
