"""``archsearch resume``: continue a stopped or killed search exactly where its store left it."""

from __future__ import annotations

import argparse

from archsearch.cli.common import STUDY_FLAGS, ExampleHelpFormatter, add_store_argument, open_store
from archsearch.config import RUNTIME_KEYS
from archsearch.cli.report_run import run_study
from archsearch.study import Study


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "resume", help="continue a stopped or killed search",
        description="Continue a search from its last committed trial; the history equals an uninterrupted run.",
        epilog="example: archsearch resume demo --store runs.db", formatter_class=ExampleHelpFormatter)
    parser.add_argument("name", help="experiment name")
    add_store_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    for flag in ("--executor", "--workers", "--address", "--gpus-per-trial", "--trial-timeout", "--max-retries",
                 "--threads"):
        key, kind, text = STUDY_FLAGS[flag]
        parser.add_argument(flag, dest=key, type=kind, default=None, help=f"{text} (default: as the search ran)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    store = open_store(args.store, create=False)
    try:
        runtime = {key: getattr(args, key) for key in RUNTIME_KEYS if getattr(args, key, None) is not None}
        study = Study.resume(args.name, store, runtime=runtime)
        done = len(study.trials)
        print(f"resuming {args.name!r} after {done} trials ({study.cost_spent:,.0f} s of cost spent)")
        return run_study(study, args.store, quiet=args.quiet)
    finally:
        store.close()
