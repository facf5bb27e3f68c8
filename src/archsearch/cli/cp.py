"""``archsearch cp NAME --from A --to B``: copy an experiment between stores (SQLite files and PostgreSQL
databases alike, issue 27), or within one store under another name.

A thin command over :func:`archsearch.store.copy.copy_between`, which copies everything a resume needs (trials,
strategy checkpoint, one-shot epochs and state) in one transaction of the target.
"""

from __future__ import annotations

import argparse
import shlex

from archsearch.cli.common import DEFAULT_STORE, STORE_HELP, ExampleHelpFormatter
from archsearch.store.copy import copy_between

EXAMPLE = ("example: archsearch cp demo --from runs.db --to postgresql://me@dbhost/nas   (and back: "
           "archsearch cp demo --from postgresql://me@dbhost/nas --to archive.db)")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "cp", help="copy an experiment into another store (SQLite or PostgreSQL), or under another name",
        description="Copy an experiment with everything a resume needs (trials, strategy checkpoint, one-shot epochs "
                    "and state) into another store, created if missing, in one transaction; the copy resumes there "
                    "to the same history. Stores are SQLite files or postgresql:// URLs, in any combination.",
        epilog=EXAMPLE, formatter_class=ExampleHelpFormatter)
    parser.add_argument("name", help="experiment name")
    parser.add_argument("--from", "--store", dest="store", metavar="STORE", default=DEFAULT_STORE,
                        help=f"store to copy from: {STORE_HELP}")
    parser.add_argument("--to", metavar="STORE", default=None,
                        help="store to copy into (default: the same store; then give --name)")
    parser.add_argument("--name", dest="new_name", default=None, help="name of the copy (default: the same name)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    target = args.to or args.store
    copied = copy_between(args.name, args.store, target, args.new_name)
    name = copied.experiment.name
    print(f"copied {args.name!r} ({copied.trials} trials) to {target} as {name!r}; "
          f"continue it there with: {shlex.join(['archsearch', 'resume', name, '--store', str(target)])}")
    return 0
