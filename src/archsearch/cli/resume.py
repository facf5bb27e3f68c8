"""``archsearch resume``: continue a stopped or killed search exactly where its store left it, with a new budget
if given (``--max-trials``, ``--budget-seconds``: a finished search is extended)."""

from __future__ import annotations

import argparse

from archsearch.cli.common import STUDY_FLAGS, ExampleHelpFormatter, add_log_to_argument, add_store_argument, open_store
from archsearch.config import RUNTIME_KEYS
from archsearch.cli.report_run import run_study
from archsearch.report.tracking import make_tracker
from archsearch.study import Study
from archsearch.study.budget import BUDGET_FLAGS, nothing_left


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "resume", help="continue a stopped or killed search",
        description="Continue a search from its last committed trial; the history equals an uninterrupted run. "
                    "--max-trials / --budget-seconds give it a new budget (not below what it did): it goes on as "
                    "if given that budget from the start, so a finished search is extended.",
        epilog="example: archsearch resume demo --store runs.db --max-trials 500",
        formatter_class=ExampleHelpFormatter)
    parser.add_argument("name", help="experiment name")
    add_store_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    add_log_to_argument(parser)  # a new tracking run, one step per trial from the resumed one on
    for flag in ("--executor", "--workers", "--address", "--gpus-per-trial", "--trial-timeout", "--max-retries",
                 "--threads"):
        key, kind, text = STUDY_FLAGS[flag]
        parser.add_argument(flag, dest=key, type=kind, default=None, help=f"{text} (default: as the search ran)")
    for flag in BUDGET_FLAGS.values():
        key, kind, text = STUDY_FLAGS[flag]
        parser.add_argument(flag, dest=key, type=kind, default=None,
                            help=f"a new budget: {text} (default: the stored one; not below what was done)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    trackers = [make_tracker(spec) for spec in args.log_to]  # a bad spec is refused before the store opens
    store = open_store(args.store, create=False)
    try:
        runtime = {key: getattr(args, key) for key in RUNTIME_KEYS if getattr(args, key, None) is not None}
        budget = {"max_trials": args.max_trials, "budget_seconds": args.budget_seconds}
        left = nothing_left(args.name, store, runtime, **budget)  # at once, from the store: nothing is loaded
        if left is not None:
            print(left.cli)
            return 0
        study = Study.resume(args.name, store, runtime=runtime, **budget)
        done = len(study.trials)
        print(f"resuming {args.name!r} after {done} trials ({study.cost_spent:,.0f} s of cost spent){_budget(args)}")
        return run_study(study, args.store, quiet=args.quiet, trackers=trackers)
    finally:
        store.close()


def _budget(args: argparse.Namespace) -> str:
    parts = [f"{args.max_trials} trials" if args.max_trials is not None else "",
             f"{args.budget_seconds:,.0f} s" if args.budget_seconds is not None else ""]
    given = " and ".join(part for part in parts if part)
    return f"; budget: {given}" if given else ""
