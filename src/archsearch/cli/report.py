"""``archsearch report``: one self-contained HTML file about a stored search (safe while it runs)."""

from __future__ import annotations

import argparse
from pathlib import Path

from archsearch.cli.common import ExampleHelpFormatter, add_store_argument, open_store
from archsearch.core.errors import UserError

EXAMPLE = "example: archsearch report demo --store runs.db -o demo.html"
SUFFIXES = (".html", ".htm")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "report", help="write an HTML report of a stored search (plots inline, no external requests)",
        description="Write one self-contained HTML file about an experiment: its configuration and the command "
                    "that reproduces it, the anytime curve, the distribution of evaluated archs, the top-k table, "
                    "the Pareto front (multi-objective), learning curves, one-shot epochs and diagrams of the best "
                    "architectures. Reads the store only.",
        epilog=EXAMPLE, formatter_class=ExampleHelpFormatter)
    parser.add_argument("name", help="experiment name (archsearch show --store FILE lists them)")
    add_store_argument(parser)
    parser.add_argument("-o", "--output", default=None, metavar="FILE",
                        help="HTML file to write (default: NAME.html in the current folder)")
    parser.add_argument("--top", type=int, default=10, help="rows of the top-k table (default 10)")
    parser.add_argument("--reference-point", default=None, metavar="VALUES",
                        help="multi-objective: the hypervolume reference, one raw value per objective, e.g. 0,2.2e8 "
                             "(default: the experiment's reference_point, else the worst value of each objective, "
                             "which dead archs make generous)")
    parser.set_defaults(run=run)


def check_output(output: str, store: str | None = None) -> Path:
    """The report path: ends in .html/.htm, its folder exists, it is no folder and not the store itself."""
    path = Path(output)
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(f"the report file must end in .html, got {output!r}")
    if path.is_dir():
        raise UserError(f"the report path is a folder: {output}")
    if not path.resolve().parent.is_dir():
        raise UserError(f"folder for the report does not exist: {path.parent}")
    if store is not None and Path(store).exists() and path.resolve() == Path(store).resolve():
        raise UserError(f"the report would overwrite the store {store}")
    return path


def run(args: argparse.Namespace) -> int:
    from archsearch.cli.reproduce import reproduce_command
    from archsearch.report.study_report import study_report, write_report

    if args.top < 1:
        raise UserError(f"--top must be at least 1, got {args.top}")
    path = check_output(args.output or f"{args.name}.html", args.store)
    store = open_store(args.store, create=False, write=False)
    try:
        experiment = store.get_experiment(args.name)
        trials = store.trials(experiment.id)
        epochs = store.epochs(experiment.id)
    finally:
        store.close()
    command = reproduce_command(experiment.config, args.store)
    document = study_report(experiment, trials, epochs, args.store, top_k=args.top, reproduce=command,
                            reference_point=args.reference_point)
    write_report(str(path), document)
    print(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KiB): {len(trials)} trials of {args.name!r}")
    return 0
