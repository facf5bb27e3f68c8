"""``archsearch rm`` and ``archsearch mv``: remove and rename an experiment (``archsearch cp``, the copy between
stores, is :mod:`archsearch.cli.cp`).

Each is one transaction of the store (``Store.delete_experiment``, ``rename_experiment``), refused for an
experiment that a process runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from archsearch.cli.common import ExampleHelpFormatter, add_store_argument, open_store
from archsearch.store.base import check_name


def add_parser(commands: argparse._SubParsersAction) -> None:
    _command(commands, "rm", run_rm, "remove an experiment from the store",
             "Remove an experiment with its trials, checkpoint and one-shot state, in one transaction. Refused "
             "while a process runs it.", "archsearch rm demo --store runs.db")
    mv = _command(commands, "mv", run_mv, "rename an experiment",
                  "Rename an experiment (its stored config too), in one transaction. Refused while a process runs "
                  "it, or when the new name is taken.", "archsearch mv demo baseline --store runs.db")
    mv.add_argument("new_name", metavar="new", help="its new name")


def _command(commands: argparse._SubParsersAction, name: str, run: Callable[[argparse.Namespace], int],
             summary: str, description: str, example: str) -> argparse.ArgumentParser:
    """The subcommand ``name`` with its NAME argument and --store."""
    parser = commands.add_parser(name, help=summary, description=description, epilog=f"example: {example}",
                                 formatter_class=ExampleHelpFormatter)
    parser.add_argument("name", help="experiment name")
    add_store_argument(parser)
    parser.set_defaults(run=run)
    return parser


def run_rm(args: argparse.Namespace) -> int:
    store = open_store(args.store, create=False)
    try:
        experiment = store.get_experiment(args.name)
        trials = len(store.trials(experiment.id))
        store.delete_experiment(args.name)
    finally:
        store.close()
    print(f"removed {args.name!r} ({trials} trials) from {args.store}")
    return 0


def run_mv(args: argparse.Namespace) -> int:
    check_name(args.new_name)
    store = open_store(args.store, create=False)
    try:
        store.rename_experiment(args.name, args.new_name)
    finally:
        store.close()
    print(f"renamed {args.name!r} to {args.new_name!r} in {args.store}")
    return 0
