"""``archsearch compare``: several strategies x many seeds under one protocol, summarised as JSON."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from archsearch.cli.common import add_study_arguments, study_config
from archsearch.compare import compare_strategies
from archsearch.core.errors import UserError

EXAMPLE = ("example: archsearch compare --benchmark nb201 --dataset cifar10 --strategies random,regularized-evolution "
           "--seeds 100 --fidelity 12 --budget-seconds 12000 --json out.json")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "compare", help="compare strategies over many seeds (in memory, nothing stored)",
        description="Run each strategy for seeds 0..N-1 under one protocol and report the mean and standard "
                    "deviation (ddof=1) of the reported metric of each run's best arch.",
        epilog=EXAMPLE)
    add_study_arguments(parser, skip=("--strategy", "--seed"))
    parser.add_argument("--strategies", default="random,regularized-evolution",
                        help="comma-separated strategy names (default: random,regularized-evolution)")
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds, 0..N-1 (default 10)")
    parser.add_argument("--json", dest="json_out", metavar="FILE", help="write the results as JSON to FILE")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = study_config(args)
    if config.strategy_options:
        raise UserError("compare runs several strategies: strategy options (--set strategy.X) are not accepted")
    if args.seeds < 1:
        raise UserError(f"--seeds must be at least 1, got {args.seeds}")
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    if not strategies:
        raise UserError("--strategies needs at least one name")
    if args.json_out and not Path(args.json_out).resolve().parent.is_dir():
        raise UserError(f"folder for --json does not exist: {Path(args.json_out).parent}")
    started = time.perf_counter()
    results = compare_strategies(config, strategies, args.seeds)
    elapsed = time.perf_counter() - started
    document = {"benchmark": config.benchmark, "dataset": config.dataset, "fidelity": config.fidelity,
                "budget_seconds": config.budget_seconds, "max_trials": config.max_trials,
                "objective": config.objective, "report": config.report, "seeds": args.seeds, "results": results}
    print(f"{'strategy':28s} {config.report + ' (mean +- std)':>30s}   seeds")
    for name, summary in results.items():
        print(f"{name:28s} {summary['mean']:>20.2f} +- {summary['std']:<6.2f}   {args.seeds}")
    print(f"({len(strategies)} strategies x {args.seeds} seeds in {elapsed:.1f} s wall clock)")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(document, indent=1))
        print(f"wrote {args.json_out}")
    return 0
