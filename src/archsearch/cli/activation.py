"""``archsearch activation-search`` and ``archsearch activation-eval``: search symbolic activation functions
(Ramachandran, Zoph & Le 2017) and judge what a search found against ReLU, Swish, GELU, ... over seeds.

``activation-search`` is ``search`` with the ``activation`` space, its estimator (a fixed child network) and
the REINFORCE controller as defaults; it ends with the top-k functions (formula, known name, accuracies) and,
with ``--plot``, their curves beside ReLU. ``activation-eval`` trains the child with each function on a dataset
(ideally not the one searched on) for several seeds, every function from the same initial weights and batches
per seed, and reports mean +- std with a paired t-test against ReLU. The top functions, the seed runs and the
statistics are :mod:`archsearch.activation_study`'s; this module parses and prints.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from archsearch.activation_study import (DEFAULT_BASELINES, DEFAULT_DATASET as DEFAULT_EVAL_DATASET,
                                         DEFAULT_EPOCHS as DEFAULT_EVAL_EPOCHS, DEFAULT_SEEDS, SIGNIFICANCE,
                                         ActivationEvaluation, TopFunctions, prepare_evaluation, table_functions,
                                         study_functions, top_functions)
from archsearch.cli import search
from archsearch.cli.common import ExampleHelpFormatter, add_store_argument, check_plot_path, open_store
from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.store.base import Store, TrialRecord

SEARCH_DEFAULTS = {"space": "activation", "strategy": "reinforce"}
DEFAULT_TOP = 10
T = TypeVar("T")

SEARCH_EXAMPLE = ("example: archsearch activation-search --dataset mnist1d --max-trials 200 --set estimator.epochs=3 "
                  "--store runs.db --name act --plot top.png")
EVAL_EXAMPLE = ("example: archsearch activation-eval --from-study act --store runs.db --top 5 --dataset mnist5k "
                "--seeds 5 --epochs 3   (adds relu, swish and gelu)")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "activation-search", help="search activation functions (space activation, REINFORCE by default)",
        description="Search symbolic activation functions b(u1(x1), u2(x2)) (Ramachandran et al. 2017): 'search' "
                    "with --space activation (or activation2), the activation estimator (a fixed child network, "
                    "mnist1d by default) and --strategy reinforce as defaults; prints the top functions.",
        epilog=SEARCH_EXAMPLE, formatter_class=ExampleHelpFormatter)
    search.add_search_arguments(parser)
    parser.add_argument("--top", type=int, default=DEFAULT_TOP, help=f"functions listed at the end (default {DEFAULT_TOP})")
    parser.add_argument("--plot", metavar="FILE", help="plot the top functions beside ReLU (.png/.svg)")
    parser.set_defaults(run=run_search)

    parser = commands.add_parser(
        "activation-eval", help="evaluate activation functions over seeds against ReLU, Swish, GELU",
        description="Train the activation estimator's child network with each function for several seeds (same "
                    "initial weights and batches per seed for every function) and report mean +- std and a paired "
                    "t-test against ReLU. Functions: arch strings of the space, baseline names, and/or a study's top.",
        epilog=EVAL_EXAMPLE, formatter_class=ExampleHelpFormatter)
    parser.add_argument("functions", nargs="*", help="arch strings ('sigmoid_mul(beta_mul(x), x(x))') or baseline "
                                                     "names (relu, swish, silu, gelu, elu, selu, leaky_relu, ...)")
    parser.add_argument("--from-study", metavar="NAME", help="add the top functions of this activation search")
    parser.add_argument("--from-table", metavar="TABLE", help="add the top functions of this activation table (a "
                                                              "benchmark name, e.g. activation-mnist1d, or a file)")
    parser.add_argument("--top", type=int, default=5, help="how many of --from-study's / --from-table's best "
                                                            "(default 5)")
    add_store_argument(parser)
    parser.add_argument("--baselines", default=",".join(DEFAULT_BASELINES),
                        help=f"comma-separated baselines added (default {','.join(DEFAULT_BASELINES)}; '' for none)")
    parser.add_argument("--space", default=None, help="space of the arch strings (default: the study's, else activation)")
    parser.add_argument("--dataset", default=DEFAULT_EVAL_DATASET, help=f"dataset (default {DEFAULT_EVAL_DATASET})")
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help=f"seeds per function (default {DEFAULT_SEEDS})")
    parser.add_argument("--epochs", type=float, default=DEFAULT_EVAL_EPOCHS, help="training epochs per run")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="estimator option, e.g. --set estimator.fraction=0.5 or --set estimator.net.channels=8")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.set_defaults(run=run_eval)


# -- activation-search -----------------------------------------------------------------------------------
def run_search(args: argparse.Namespace) -> int:
    check_plot_path(args.plot)
    if args.top < 1:
        raise UserError(f"--top must be at least 1, got {args.top}")
    if args.name is None:
        args.name = f"activation-search-{time.strftime('%Y%m%d-%H%M%S')}"
    code = search.run(args, defaults=SEARCH_DEFAULTS)
    found = _with_store(args.store, lambda store: top_functions(store, args.name, args.top))
    if not found.is_activation_search:
        return code
    print(f"top {len(found.top)} of {len(found.trials)} functions by {found.metric} ({found.failed} failed or "
          f"rejected by the guard):")
    for line in describe_functions(found):
        print("  " + line)
    if args.plot:
        plot_functions(found.space, [Arch(t.arch) for t in found.top], args.plot)
        print(f"plot written to {args.plot}")
    return code


def _with_store(path: str, read: Callable[[Store], T]) -> T:
    """``read(store)`` on the store at ``path``, opened read-only and closed after."""
    store = open_store(path, create=False, write=False)
    try:
        return read(store)
    finally:
        store.close()


def describe_functions(found: TopFunctions) -> list[str]:
    """A table of the top functions: metric, test accuracy, known name, formula and arch string."""
    space, metric = found.space, found.metric
    lines = [f"{'#':>3} {metric:>10} {'test_acc':>9}  {'name':<16} formula  |  arch"]
    for rank, trial in enumerate(found.top, start=1):
        lines.append(_function_row(space, rank, trial, metric))
    return lines


def _function_row(space: Any, rank: int, trial: TrialRecord, metric: str) -> str:
    arch = Arch(trial.arch)
    name = space.known_name(arch) or "-"
    return (f"{rank:>3} {trial.metrics.get(metric, math.nan):>10.2f} {trial.metrics.get('test_acc', math.nan):>9.2f}"
            f"  {name:<16} {space.formula(arch)}  |  {space.format(arch)}")


def plot_functions(space: Any, archs: list[Arch], path: str, labels: list[str] | None = None) -> None:
    """One panel per function on [-5, 5] (every beta = 1), ReLU dashed beside it."""
    from archsearch.report.diagrams import activation_curves

    activation_curves(space, archs, labels).savefig(path)


# -- activation-eval -------------------------------------------------------------------------------------
def run_eval(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise UserError(f"--top must be at least 1, got {args.top}")
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise UserError(f"folder for --json does not exist: {Path(args.json).parent}")
    space, functions = args.space, list(args.functions)
    if args.from_study:
        space, top = _with_store(args.store, lambda store: study_functions(store, args.from_study, args.top, space))
        functions += top
    if args.from_table:
        table_space, top = table_functions(args.from_table, args.top)
        if space is not None and space != table_space:
            raise UserError(f"table {args.from_table!r} holds space {table_space!r}, not {space!r}")
        space, functions = table_space, functions + top
    evaluation = prepare_evaluation(functions, space=space or "activation", dataset=args.dataset, seeds=args.seeds,
                                    epochs=args.epochs, baselines=args.baselines.split(","), device=args.device,
                                    options=_estimator_options(args.overrides))
    print(f"activation-eval on {args.dataset} ({evaluation.estimator.describe()['child']['kind']}), "
          f"{args.epochs:g} epochs, {args.seeds} seeds x {len(evaluation.functions)} functions")

    def show(function: str, summary: dict[str, Any]) -> None:
        print(f"  {evaluation.label(function):<44} test {summary['test_mean']:6.2f} +- {summary['test_std']:5.2f}"
              f"  valid {summary['valid_mean']:6.2f} +- {summary['valid_std']:5.2f}{_versus(summary)}", flush=True)

    table = evaluation.run(show)
    _print_verdict(evaluation, table)
    if args.json:
        Path(args.json).write_text(json.dumps(evaluation.to_dict(), indent=1, default=str))
        print(f"results written to {args.json}")
    return 0


def _estimator_options(pairs: list[str]) -> dict[str, Any]:
    """``--set estimator.X=V`` pairs as nested options (YAML-parsed values)."""
    from archsearch.config import StudyConfig

    config = StudyConfig()
    for pair in pairs:
        if not pair.partition("=")[0].strip().startswith("estimator."):
            raise UserError(f"activation-eval takes only --set estimator.<option>=VALUE, got {pair!r}")
    config.apply_overrides(pairs)
    return dict(config.estimator_options)


def _versus(summary: dict[str, Any]) -> str:
    if not math.isfinite(summary.get("diff_vs_relu", math.nan)):
        return f"  ({summary['failed_runs']} failed)" if summary["failed_runs"] else ""
    return f"  vs ReLU {summary['diff_vs_relu']:+.2f} (paired t p={summary['p_vs_relu']:.3f})"


def _print_verdict(evaluation: ActivationEvaluation, table: dict[str, dict[str, Any]]) -> None:
    if "relu" not in table:
        return
    compared = {f: t for f, t in table.items() if math.isfinite(t.get("p_holm_vs_relu", math.nan))}
    if compared:
        print(f"Holm-adjusted p-values over the {len(compared)} functions compared with ReLU:")
        for function, summary in compared.items():
            print(f"  {evaluation.label(function):<44} {summary['diff_vs_relu']:+6.2f}  p={summary['p_vs_relu']:.4f}"
                  f"  Holm p={summary['p_holm_vs_relu']:.4f}")
    better = evaluation.better_than_relu(table)
    if better:
        print(f"beat ReLU beyond the noise (paired t-test, Holm-adjusted p < {SIGNIFICANCE}): "
              + "; ".join(evaluation.label(f) for f in better))
    else:
        print(f"no function beat ReLU beyond the noise (paired t-test, Holm-adjusted p < {SIGNIFICANCE})")
