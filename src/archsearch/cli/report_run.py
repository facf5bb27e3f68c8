"""Running a study from the CLI with progress, and the closing summary (shared by search and resume)."""

from __future__ import annotations

from archsearch.cli.common import describe_best
from archsearch.cli.progress import ProgressReporter
from archsearch.study import Study


def run_study(study: Study, store_path: str, quiet: bool = False) -> int:
    reporter = ProgressReporter(study.config.name, enabled=not quiet)
    try:
        study.run(on_trial=reporter)
    finally:
        reporter.close(study.progress())
    config = study.config
    print(f"finished {config.name!r}: {len(study.trials)} trials, {study.cost_spent:,.0f} s of cost spent")
    for line in describe_best(config.space, study.best, study.components.objectives[0], study.components.report):
        print("  " + line)
    print(f"results stored in {store_path} as {config.name!r}; "
          f"see: archsearch show {config.name} --store {store_path}")
    return 0
