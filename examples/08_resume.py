"""Crash-safe search: a study journaled to SQLite is interrupted, then resumed to its full budget.

Every trial is committed to the SQLite store (WAL) in one transaction with the strategy's checkpoint: its
state after that trial, its RNG included, and the trials still in flight. ``Study.resume`` reloads the
checkpoint, re-runs the trials that were in flight and continues; with the serial executor the resumed
history is exactly the uninterrupted one, which this script checks. Here the interruption is a
``KeyboardInterrupt`` raised after some trials (what Ctrl-C does); a SIGKILL of the process loses no
committed trial either. From the command line the same is ``archsearch resume NAME --store runs.db``.

Papers: Real et al., AAAI 2019 (regularized evolution, the strategy resumed here).

    python examples/08_resume.py                    # 100 trials, interrupted after 40
    python examples/08_resume.py --tiny             # 20 trials, interrupted after 8
"""

from __future__ import annotations

import argparse
from pathlib import Path

from archsearch.config import StudyConfig
from archsearch.store import InMemoryStore, SQLiteStore
from archsearch.study import Progress, Study


def make_config(trials: int) -> StudyConfig:
    config = StudyConfig.from_mapping({"name": "resume-demo", "strategy": "regularized-evolution", "seed": 0,
                                       "max_trials": trials})  # the NB201 table, CIFAR-10, 12 epochs
    config.finish_budget()
    return config


def interrupt_after(count: int):  # noqa: ANN201 - a callback for Study.run(on_trial=...)
    def on_trial(progress: Progress) -> None:
        if progress.trials == count:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C here
    return on_trial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--interrupt-after", type=int, default=40)
    parser.add_argument("--store", default="resume-demo.db")
    parser.add_argument("--tiny", action="store_true", help="20 trials, interrupted after 8")
    args = parser.parse_args()
    if args.tiny:
        args.trials, args.interrupt_after = 20, 8
    Path(args.store).unlink(missing_ok=True)  # a fresh store each run (experiment names are unique in a store)

    store = SQLiteStore(args.store)
    try:
        Study.create(make_config(args.trials), store).run(on_trial=interrupt_after(args.interrupt_after))
    except KeyboardInterrupt:
        print(f"interrupted after {len(store.trials(1))} trials; status {store.get_experiment('resume-demo').status!r}")
    finally:
        store.close()  # releases the experiment's lock, as the end of a process does

    store = SQLiteStore(args.store, create=False)  # e.g. a new process: archsearch resume resume-demo
    try:
        study = Study.resume("resume-demo", store)
        print(f"resuming after {len(study.trials)} trials ({study.cost_spent:,.0f} simulated s spent)")
        study.run()
        print(f"finished: {len(study.trials)} trials, status {store.get_experiment('resume-demo').status!r}, "
              f"best valid {study.best.metrics['valid_acc']:.2f}%, test {study.reported_value():.2f}%")
    finally:
        store.close()

    uninterrupted = Study.create(make_config(args.trials), InMemoryStore()).run()
    same = [(t.arch, t.metrics) for t in study.trials] == [(t.arch, t.metrics) for t in uninterrupted.trials]
    print(f"same history as an uninterrupted run: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
