"""``archsearch``: entry point, subcommand dispatch and the one-line error contract.

Every ``UserError`` (and every argparse error) ends as one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Sequence

from archsearch import __version__
from archsearch.cli import activation, bench, compare, cp, evaluate, export, latency, list_components, manage, meta_search, meta_test, report, resume, scale, search, show, train
from archsearch.core.errors import UserError
from archsearch.core.threads import prepare_environment

SUBCOMMANDS = (search, resume, show, report, manage, cp, compare, evaluate, train, export, latency, scale, meta_search,
               meta_test, activation, bench, list_components)
EXIT_USER_ERROR = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (no usage block) and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {one_line(message)} (see --help)\n")


def one_line(message: str) -> str:
    """``message`` on one line: line breaks inside it (e.g. from a path or flag the user typed) become ``\\n``."""
    return "\\n".join(message.splitlines())


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="archsearch",
        description="Neural architecture search: spaces x strategies x estimators, with a crash-safe store.",
        epilog="example: archsearch search --strategy regularized-evolution --budget-seconds 12000 --store runs.db",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"archsearch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for module in SUBCOMMANDS:
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the command as typed (reports show it)
    if args.command is None:
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        # the thread policy's environment before torch loads: OpenMP reads its thread count and wait policy once
        prepare_environment(getattr(args, "threads", None))
        return int(args.run(args) or 0)
    except UserError as exc:
        print(f"archsearch: error: {one_line(exc.cli_message)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except sqlite3.IntegrityError as exc:  # e.g. two processes running one experiment
        print(f"archsearch: error: the store refused a write ({one_line(str(exc))}); "
              "is this experiment running elsewhere?", file=sys.stderr)
        return EXIT_USER_ERROR
    except sqlite3.DatabaseError as exc:  # a store damaged after it was opened
        print(f"archsearch: error: the store is damaged or unreadable: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # output piped into a pager or `head` that closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("archsearch: interrupted (what was stored before is kept)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
