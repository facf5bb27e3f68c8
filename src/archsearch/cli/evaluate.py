"""``archsearch evaluate``: score given architectures with an estimator (e.g. look one up in NB201)."""

from __future__ import annotations

import argparse
import json

from archsearch.cli.common import ExampleHelpFormatter, add_study_arguments, format_metrics, study_config
from archsearch.study import build_components


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate", help="evaluate architectures given as strings (native or JSON)",
        description="Evaluate one or more architectures with the configured estimator and print their metrics.",
        epilog="example: archsearch evaluate --fidelity 200 "
               "'|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|'",
        formatter_class=ExampleHelpFormatter)
    parser.add_argument("archs", nargs="+", metavar="ARCH", help="architecture string, e.g. NB201's |op~0|+|...|")
    add_study_arguments(parser, skip=("--strategy", "--budget-seconds", "--max-trials", "--executor", "--workers"))
    parser.add_argument("--json", action="store_true", help="print one JSON object per line")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = study_config(args)
    components = build_components(config)
    space, estimator = components.space, components.estimator
    archs = [space.parse(text) for text in args.archs]  # every string is checked before any evaluation
    for arch in archs:
        result = estimator.evaluate(arch, config.fidelity)
        if args.json:
            print(json.dumps({**result.to_dict(), "arch": space.format(arch)}))
        else:
            print(f"{space.format(arch)}\n  status={result.status} cost={result.cost_seconds:.1f}s "
                  f"{format_metrics(result.metrics)}{'  error: ' + result.error if result.error else ''}")
    return 0
