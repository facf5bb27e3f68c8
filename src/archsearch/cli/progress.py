"""Progress of a running search: a tqdm bar with ETA on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

from archsearch.study import Progress

PLAIN_INTERVAL_SECONDS = 10.0


class ProgressReporter:
    """Call with each ``Progress``; ``close()`` at the end. The bar tracks the budget in force."""

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.label, self.stream, self.enabled = label, stream or sys.stderr, enabled
        self._bar = None
        self._last_line = 0.0
        self._tty = self.stream.isatty()

    def __call__(self, progress: Progress) -> None:
        if not self.enabled:
            return
        if self._tty:
            self._update_bar(progress)
        elif time.monotonic() - self._last_line >= PLAIN_INTERVAL_SECONDS:
            self._last_line = time.monotonic()
            print(f"[{self.label}] {self._summary(progress)}", file=self.stream, flush=True)

    def _update_bar(self, progress: Progress) -> None:
        from tqdm import tqdm

        by_cost = progress.budget_seconds is not None
        total = progress.budget_seconds if by_cost else progress.max_trials
        done = progress.cost_spent if by_cost else progress.trials
        if self._bar is None:
            self._bar = tqdm(total=total, desc=self.label, unit="s" if by_cost else "trial", file=self.stream,
                             bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} {unit} [{elapsed}<{remaining}]{postfix}")
        self._bar.n = min(done, total or done)
        best = "-" if math.isnan(progress.best_value) else f"{progress.best_value:.3f}"
        self._bar.set_postfix_str(f"trials={progress.trials} best={best} failed={progress.failed}", refresh=False)
        self._bar.refresh()

    @staticmethod
    def _summary(progress: Progress) -> str:
        parts = [f"trials {progress.trials}" + (f"/{progress.max_trials}" if progress.max_trials else "")]
        if progress.budget_seconds:
            parts.append(f"cost {progress.cost_spent:,.0f}/{progress.budget_seconds:,.0f} s")
        best = "-" if math.isnan(progress.best_value) else f"{progress.best_value:.4f}"
        parts.append(f"best {best}")
        parts.append(f"failed {progress.failed}")
        return ", ".join(parts)

    def close(self, progress: Progress | None = None, finished: bool = True) -> None:
        """End the bar; without a terminal, a last line: ``done`` when the run finished, else ``stopped``."""
        if self._bar is not None:
            self._bar.close()
        elif self.enabled and progress is not None and not self._tty:
            state = "done" if finished else "stopped"
            print(f"[{self.label}] {state}: {self._summary(progress)}", file=self.stream, flush=True)
