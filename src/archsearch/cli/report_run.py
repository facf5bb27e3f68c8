"""Running a study from the CLI with progress, and the closing summary (shared by search and resume)."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from archsearch.cli.common import (DEFAULT_STORE, describe_best, describe_front, failure_lines, format_arch, format_metrics,
                                   front_summary)
from archsearch.cli.progress import ProgressReporter
from archsearch.report.tracking import StudyTracking, Tracker
from archsearch.store.base import EpochRecord
from archsearch.study import Progress, Study

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXPECT_AFTER_SECONDS = 1.0  # a first trial this long makes run_study print the expected time (any estimator)
EPOCH_METRICS = ("train_loss", "train_acc", "arch_acc", "derived_valid_acc", "entropy", "param_free_share",
                 "temperature", "hessian_eigenvalue", "best_shared_acc")


def run_study(study: Study, store_path: str, quiet: bool = False, trackers: Sequence[Tracker] = ()) -> int:
    reporter = ProgressReporter(study.config.name, enabled=not quiet)
    tracking = StudyTracking(study, trackers, store_path)

    def message(text: str) -> None:
        if not quiet:
            print(text, file=sys.stderr, flush=True)

    def epoch(record: EpochRecord) -> None:
        message(epoch_line(study, record))

    first = len(study.trials)

    def trial(progress: Progress) -> None:
        if progress.trials == first + 1 and (line := expected_time_line(study)) is not None:
            message(line)
        reporter(progress)
        tracking.on_trial()

    config = study.config
    tracking.start()
    try:
        with _terminate_as_interrupt():
            study.run(on_trial=trial, on_epoch=epoch, on_message=message)
    except KeyboardInterrupt:
        tracking.finish(completed=False)
        reporter.close(study.progress(), finished=False)
        print(f"archsearch: interrupted; {study.stored_trials} finished trials of {config.name!r} are stored in "
              f"{store_path}; continue with: {resume_command(config.name, store_path)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    reporter.close(study.progress())
    tracking.finish(completed=True)
    print(f"finished {config.name!r}: {len(study.trials)} trials, {study.cost_spent:,.0f} s of cost spent")
    goal = study.components.goal
    for line in describe_best(config.space, study.best, goal.objectives[0], study.components.report, goal):
        print("  " + line)
    if goal.multi:
        for line in describe_front(config.space, front_summary(study.trials, goal, config.reference()), goal):
            print("  " + line)
    for line in failure_lines(study.trials):
        print("  " + line)
    where = f"./{store_path} (the default store; --store FILE picks another)" if store_path == DEFAULT_STORE else store_path
    print(f"results stored in {where} as {config.name!r}; "
          f"see: archsearch show {config.name} --store {store_path}")
    return 0


def epoch_line(study: Study, record: EpochRecord) -> str:
    """One line per one-shot epoch: the key metrics and the derived arch."""
    metrics = {k: record.metrics[k] for k in EPOCH_METRICS if k in record.metrics}
    what = "ranking" if record.kind == "ranking" else f"epoch {record.epoch + 1}/{study.components.strategy.recipe.epochs}"
    arch = f"; arch {format_arch(study.config.space, record.arch)}" if record.arch else ""
    return f"[{study.config.name}] {what} ({record.seconds:.1f} s): {format_metrics(metrics)}{arch}"


def expected_time_line(study: Study) -> str | None:
    """After the first trial of a run: its wall time x the trials left / workers (capped by the seconds left of
    a budget), when the estimator trains networks or the trial took a second or more; None otherwise."""
    last, config = study.trials[-1], study.config
    if study.one_shot or last.started is None or last.finished is None:
        return None
    seconds = last.finished - last.started
    if not (study.components.estimator.uses_threads or seconds >= EXPECT_AFTER_SECONDS):
        return None
    workers = max(1, config.workers)
    estimates = []
    if config.max_trials is not None:
        estimates.append((config.max_trials - len(study.trials)) * seconds / workers)
    if config.budget_seconds is not None:
        estimates.append(max(0.0, config.budget_seconds - study.cost_spent) / workers)
    if not estimates:
        return None
    return (f"[{config.name}] first trial took {seconds:.1f} s; the rest of the budget will take about "
            f"{_duration(min(estimates))} ({workers} worker{'s' if workers > 1 else ''})")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def resume_command(name: str, store_path: str) -> str:
    """The exact command that continues ``name`` (quoted for a POSIX shell)."""
    return f"archsearch resume {shlex.quote(name)} --store {shlex.quote(os.fspath(store_path))}"


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, a scheduler's stop) ends the run like Ctrl-C: stored as interrupted, resumable."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
