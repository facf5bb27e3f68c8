"""``archsearch search``: start a new search and run it to its budget."""

from __future__ import annotations

import argparse
import time
from typing import Any

from archsearch.cli.common import (ExampleHelpFormatter, add_log_to_argument, add_store_argument,
                                   add_study_arguments, open_store, study_config)
from archsearch.cli.report_run import run_study
from archsearch.config import StudyConfig
from archsearch.report.tracking import make_tracker
from archsearch.study import Study, build_components

EXAMPLE = ("example: archsearch search --space nb201 --strategy regularized-evolution --benchmark nb201 "
           "--dataset cifar10 --fidelity 12 --budget-seconds 12000 --seed 0 --store runs.db --name demo")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "search", help="run a new search (defaults: regularized evolution on NAS-Bench-201, CIFAR-10)",
        description="Run a new search. With no arguments: regularized evolution on the NAS-Bench-201 table, "
                    "CIFAR-10, the NB201 paper protocol (12-epoch validation accuracy, 12,000 simulated seconds).",
        epilog=EXAMPLE, formatter_class=ExampleHelpFormatter)
    add_search_arguments(parser)
    parser.set_defaults(run=run)


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    """The study flags, --store, --name and --quiet (shared with ``activation-search``)."""
    add_study_arguments(parser)
    add_store_argument(parser)
    parser.add_argument("--name", default=None, help="experiment name (default: made from strategy, space, time)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    add_log_to_argument(parser)


def run(args: argparse.Namespace, defaults: dict[str, Any] | None = None) -> int:
    """Run a new search; ``defaults`` replace StudyConfig's defaults (``activation-search``'s space and strategy)."""
    config = study_config(args, defaults)
    if args.name is not None:
        config.set("name", args.name)
    if not config.name:
        config.name = f"{config.strategy}-{config.space}-{config.dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
    components = build_components(config)  # all config errors surface before the store is opened or created
    trackers = [make_tracker(spec) for spec in args.log_to]
    store = open_store(args.store, create=True)
    try:
        study = Study.create(config, store, components=components)
        label = getattr(components.space, "label", None)  # a declared space's name
        print(f"search {config.name!r}: {config.strategy} on {config.space}{f' {label!r}' if label else ''} "
              f"({'benchmark ' + config.benchmark + ', ' if config.benchmark else ''}{config.dataset}), "
              f"{_fidelity_text(study)}, {_budget_text(config)}, seed {config.seed}")
        policy = study.thread_policy
        if policy is not None and policy.reduced and not args.quiet:  # fewer threads than the cores allow: say why
            print(f"threads per trial: {config.threads} ({policy.reason}; --threads N fixes the count)")
        dataset = getattr(components.estimator, "dataset", None)
        if hasattr(dataset, "describe"):
            info = dataset.describe()
            sizes = info["sizes"]
            print(f"dataset {info['name']}: inputs {'x'.join(map(str, info['shape']))}, {info['num_classes']} classes, "
                  f"train/valid/test {sizes['train']}/{sizes['valid']}/{sizes['test']}, "
                  f"device {getattr(components.estimator, 'device', 'cpu')}")
        return run_study(study, args.store, quiet=args.quiet, trackers=trackers)
    finally:
        store.close()


def _fidelity_text(study: Study) -> str:
    strategy = study.components.strategy
    if strategy.multi_fidelity and strategy.fidelities:
        return "fidelities " + ", ".join(f"{f:g}" for f in strategy.fidelities)
    return f"fidelity {study.config.fidelity:g}" if study.config.fidelity is not None else "default fidelity"


def _budget_text(config: StudyConfig) -> str:
    parts = []
    if config.budget_seconds is not None:
        parts.append(f"budget {config.budget_seconds:,.0f} s")
    if config.max_trials is not None:
        parts.append(f"max {config.max_trials} trials")
    return " and ".join(parts)
