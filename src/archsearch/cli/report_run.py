"""Running a study from the CLI with progress, and the closing summary (shared by search and resume)."""

from __future__ import annotations

import sys
from typing import Callable

from archsearch.cli.common import describe_best, describe_front, format_arch, format_metrics, front_summary
from archsearch.cli.progress import ProgressReporter
from archsearch.store.base import EpochRecord
from archsearch.study import Progress, Study

EXPECT_AFTER_SECONDS = 1.0  # a first trial this long makes run_study print the expected time (any estimator)
EPOCH_METRICS = ("train_loss", "train_acc", "arch_acc", "derived_valid_acc", "entropy", "param_free_share",
                 "temperature", "hessian_eigenvalue", "best_shared_acc")


def run_study(study: Study, store_path: str, quiet: bool = False) -> int:
    reporter = ProgressReporter(study.config.name, enabled=not quiet)

    def message(text: str) -> None:
        if not quiet:
            print(text, file=sys.stderr, flush=True)

    def epoch(record: EpochRecord) -> None:
        message(epoch_line(study, record))

    first = len(study.trials)
    expected = _expected_time(study, message)

    def trial(progress: Progress) -> None:
        if progress.trials == first + 1:
            expected()
        reporter(progress)

    try:
        study.run(on_trial=trial, on_epoch=epoch, on_message=message)
    finally:
        reporter.close(study.progress())
    config = study.config
    print(f"finished {config.name!r}: {len(study.trials)} trials, {study.cost_spent:,.0f} s of cost spent")
    goal = study.components.goal
    for line in describe_best(config.space, study.best, goal.objectives[0], study.components.report, goal):
        print("  " + line)
    if goal.multi:
        for line in describe_front(config.space, front_summary(study.trials, goal, config.reference()), goal):
            print("  " + line)
    print(f"results stored in {store_path} as {config.name!r}; "
          f"see: archsearch show {config.name} --store {store_path}")
    return 0


def epoch_line(study: Study, record: EpochRecord) -> str:
    """One line per one-shot epoch: the key metrics and the derived arch."""
    metrics = {k: record.metrics[k] for k in EPOCH_METRICS if k in record.metrics}
    what = "ranking" if record.kind == "ranking" else f"epoch {record.epoch + 1}/{study.components.strategy.recipe.epochs}"
    arch = f"; arch {format_arch(study.config.space, record.arch)}" if record.arch else ""
    return f"[{study.config.name}] {what} ({record.seconds:.1f} s): {format_metrics(metrics)}{arch}"


def _expected_time(study: Study, message: Callable[[str], None]) -> Callable[[], None]:
    """After the first trial of this run: its wall time x the trials left / workers, when the estimator trains
    networks or the trial took a second or more."""
    def after_first_trial() -> None:
        last = study.trials[-1]
        seconds = (last.finished or 0.0) - (last.started or 0.0)
        trains = study.components.estimator.uses_threads  # a training estimator (a table lookup does not)
        if not (trains or seconds >= EXPECT_AFTER_SECONDS) or seconds > 1e6:
            return
        workers = max(1, study.config.workers)
        config, done = study.config, len(study.trials)
        estimates = []
        if config.max_trials is not None:
            estimates.append((config.max_trials - done) * seconds / workers)
        if config.budget_seconds is not None:
            estimates.append(max(0.0, config.budget_seconds - study.cost_spent) / workers)
        if estimates and not study.one_shot:
            left = min(estimates)
            message(f"[{config.name}] first trial took {seconds:.1f} s; the rest of the budget will take about "
                    f"{_duration(left)} ({workers} worker{'s' if workers > 1 else ''})")
    return after_first_trial


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
