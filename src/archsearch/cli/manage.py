"""``archsearch rm``, ``archsearch mv`` and ``archsearch cp``: remove, rename and copy an experiment.

Each is one transaction of the store (``Store.delete_experiment``, ``rename_experiment``, ``copy_experiment``).
``rm`` and ``mv`` refuse an experiment that a process runs. ``cp`` copies everything a resume needs (trials,
checkpoint, one-shot epochs and state) into another store, or into the same one under another name.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from pathlib import Path

from archsearch.cli.common import ExampleHelpFormatter, add_store_argument, open_store
from archsearch.core.errors import UserError
from archsearch.store.base import check_name


def add_parser(commands: argparse._SubParsersAction) -> None:
    _command(commands, "rm", run_rm, "remove an experiment from the store",
             "Remove an experiment with its trials, checkpoint and one-shot state, in one transaction. Refused "
             "while a process runs it.", "archsearch rm demo --store runs.db")
    mv = _command(commands, "mv", run_mv, "rename an experiment",
                  "Rename an experiment (its stored config too), in one transaction. Refused while a process runs "
                  "it, or when the new name is taken.", "archsearch mv demo baseline --store runs.db")
    mv.add_argument("new_name", metavar="new", help="its new name")
    cp = _command(commands, "cp", run_cp, "copy an experiment into another store (or under another name)",
                  "Copy an experiment with everything a resume needs (trials, strategy checkpoint, one-shot epochs "
                  "and state) into another store, created if missing, in one transaction; the copy resumes there "
                  "to the same history.", "archsearch cp demo --to archive.db --store runs.db")
    cp.add_argument("--to", metavar="STORE", default=None,
                    help="store to copy into (default: the same store; then give --name)")
    cp.add_argument("--name", dest="new_name", default=None, help="name of the copy (default: the same name)")


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


def run_cp(args: argparse.Namespace) -> int:
    if args.new_name is not None:
        check_name(args.new_name)
    target_path = args.to or args.store
    name = args.new_name or args.name
    same = Path(target_path).resolve() == Path(args.store).resolve()
    if same and name == args.name:
        raise UserError(f"a copy of {args.name!r} needs another store (--to OTHER.db) or another name (--name NEW)")
    source = open_store(args.store, create=False, write=same)  # only read when the copy goes elsewhere
    try:
        data = source.export_experiment(args.name)  # before the target is opened: a wrong name creates nothing
        target = source if same else open_store(target_path, create=True)
        try:
            target.import_experiment(data, name)
        finally:
            if target is not source:
                target.close()
    finally:
        source.close()
    print(f"copied {args.name!r} ({len(data.trials)} trials) to {target_path} as {name!r}; "
          f"continue it there with: {shlex.join(['archsearch', 'resume', name, '--store', target_path])}")
    return 0
