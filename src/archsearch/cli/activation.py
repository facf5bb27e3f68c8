"""``archsearch activation-search`` and ``archsearch activation-eval``: search symbolic activation functions
(Ramachandran, Zoph & Le 2017) and judge what a search found against ReLU, Swish, GELU, ... over seeds.

``activation-search`` is ``search`` with the ``activation`` space, its estimator (a fixed child network) and
the REINFORCE controller as defaults; it ends with the top-k functions (formula, known name, accuracies) and,
with ``--plot``, their curves beside ReLU. ``activation-eval`` trains the child with each function on a dataset
(ideally not the one searched on) for several seeds, every function from the same initial weights and batches
per seed, and reports mean +- std with a paired t-test against ReLU.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from archsearch.cli import search
from archsearch.cli.common import ExampleHelpFormatter, add_store_argument, check_plot_path, open_store
from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.registry import SPACES
from archsearch.spaces import space_from_config
from archsearch.store.base import ExperimentRecord, TrialRecord

SEARCH_DEFAULTS = {"space": "activation", "strategy": "reinforce"}
DEFAULT_TOP = 10
DEFAULT_BASELINES = ("relu", "swish", "gelu")
DEFAULT_SEEDS = 5
DEFAULT_EVAL_DATASET = "mnist5k"
DEFAULT_EVAL_EPOCHS = 3.0
SIGNIFICANCE = 0.05

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
    parser.add_argument("--top", type=int, default=5, help="how many of --from-study's best (default 5)")
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
    experiment, trials = load_study(args.store, args.name)
    space = space_from_config(experiment.config)
    if not hasattr(space, "formula"):
        return code
    metric, maximise = _objective(experiment.config)
    top = top_trials(trials, metric, maximise, args.top)
    failed = sum(t.status == "failed" for t in trials)
    print(f"top {len(top)} of {len(trials)} functions by {metric} ({failed} failed or rejected by the guard):")
    for line in describe_functions(space, top, metric):
        print("  " + line)
    if args.plot:
        plot_functions(space, [Arch(t.arch) for t in top], args.plot)
        print(f"plot written to {args.plot}")
    return code


def load_study(path: str, name: str) -> tuple[ExperimentRecord, list[TrialRecord]]:
    """An experiment of the store at ``path`` and its trials."""
    store = open_store(path, create=False, write=False)
    try:
        experiment = store.get_experiment(name)
        return experiment, store.trials(experiment.id)
    finally:
        store.close()


def _objective(config: dict[str, Any]) -> tuple[str, bool]:
    metric, _, direction = config["objective"].split(",")[0].partition(":")
    return metric, direction != "min"


def top_trials(trials: list[TrialRecord], metric: str, maximise: bool, k: int) -> list[TrialRecord]:
    """The best ``k`` ok trials by ``metric``, one per distinct arch (the earliest on ties)."""
    seen: set[str] = set()
    ok = [t for t in trials if t.status == "ok" and math.isfinite(t.metrics.get(metric, math.nan))]
    ok.sort(key=lambda t: (-t.metrics[metric] if maximise else t.metrics[metric], t.number))
    out = []
    for trial in ok:
        key = Arch(trial.arch).key()
        if key not in seen:
            seen.add(key)
            out.append(trial)
    return out[:k]


def describe_functions(space: Any, trials: list[TrialRecord], metric: str) -> list[str]:
    lines = [f"{'#':>3} {metric:>10} {'test_acc':>9}  {'name':<16} formula  |  arch"]
    for rank, trial in enumerate(trials, start=1):
        arch = Arch(trial.arch)
        name = space.known_name(arch) or "-"
        lines.append(f"{rank:>3} {trial.metrics.get(metric, math.nan):>10.2f} {trial.metrics.get('test_acc', math.nan):>9.2f}"
                     f"  {name:<16} {space.formula(arch)}  |  {space.format(arch)}")
    return lines


def plot_functions(space: Any, archs: list[Arch], path: str, labels: list[str] | None = None) -> None:
    """One panel per function on [-5, 5] (every beta = 1), ReLU dashed beside it."""
    from archsearch.report.diagrams import activation_curves

    activation_curves(space, archs, labels).savefig(path)


# -- activation-eval -------------------------------------------------------------------------------------
def run_eval(args: argparse.Namespace) -> int:
    from archsearch.estimators.activation import ActivationEstimator
    from archsearch.nn.activation import BASELINES

    if args.seeds < 1:
        raise UserError(f"--seeds must be at least 1, got {args.seeds}")
    if args.top < 1:
        raise UserError(f"--top must be at least 1, got {args.top}")
    if not (math.isfinite(args.epochs) and args.epochs > 0):
        raise UserError(f"--epochs must be a positive number, got {args.epochs}")
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise UserError(f"folder for --json does not exist: {Path(args.json).parent}")
    space_name, functions = _functions(args)
    baselines = [b.strip().lower() for b in args.baselines.split(",") if b.strip()]
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise UserError(f"unknown baseline {unknown[0]!r}; choose from: {', '.join(BASELINES)}")
    functions = _unique(baselines + functions)
    if not functions:
        raise UserError("no function to evaluate: give arch strings, --from-study NAME or --baselines")
    options = _estimator_options(args.overrides)
    options.update({"epochs": args.epochs})
    estimator = ActivationEstimator(SPACES.create(space_name), args.dataset, device=args.device, **options)
    for function in functions:
        estimator.resolve(function)  # a malformed arch string fails now, before any training
    print(f"activation-eval on {args.dataset} ({estimator.describe()['child']['kind']}), {args.epochs:g} epochs, "
          f"{args.seeds} seeds x {len(functions)} functions")
    runs: dict[str, list[dict[str, Any]]] = {}
    for function in functions:
        runs[function] = []
        for seed in range(args.seeds):
            result = estimator.evaluate_function(function, seed)
            runs[function].append({"seed": seed, "status": result.status, "error": result.error,
                                   "valid_acc": result.metric("valid_acc"), "test_acc": result.metric("test_acc"),
                                   "seconds": result.cost_seconds})
        summary = summarise(runs[function], runs.get("relu"))
        print(f"  {_label(estimator, function):<44} test {summary['test_mean']:6.2f} +- {summary['test_std']:5.2f}"
              f"  valid {summary['valid_mean']:6.2f} +- {summary['valid_std']:5.2f}{_versus(summary)}", flush=True)
    table = {f: summarise(runs[f], runs.get("relu")) for f in functions}
    _print_verdict(estimator, table)
    if args.json:
        document = {"dataset": args.dataset, "epochs": args.epochs, "seeds": args.seeds, "space": space_name,
                    "estimator": estimator.describe(),
                    "functions": {f: {"label": _label(estimator, f), **table[f], "runs": runs[f]} for f in functions}}
        Path(args.json).write_text(json.dumps(document, indent=1, default=str))
        print(f"results written to {args.json}")
    return 0


def _functions(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The space and the function strings: given ones, then the study's top (as native strings)."""
    functions = list(args.functions)
    space_name = args.space
    if args.from_study:
        experiment, trials = load_study(args.store, args.from_study)
        study_space = experiment.config["space"]
        if space_name is not None and space_name != study_space:
            raise UserError(f"--space {space_name} differs from study {args.from_study!r}'s space {study_space!r}")
        space_name = study_space
        space = space_from_config(experiment.config)
        if not hasattr(space, "formula"):
            raise UserError(f"study {args.from_study!r} searched space {space_name!r}, not activation functions")
        metric, maximise = _objective(experiment.config)
        functions += [space.format(Arch(t.arch)) for t in top_trials(trials, metric, maximise, args.top)]
    space_name = space_name or "activation"
    SPACES.check(space_name)
    return space_name, functions


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _estimator_options(pairs: list[str]) -> dict[str, Any]:
    """``--set estimator.X=V`` pairs as nested options (YAML-parsed values)."""
    from archsearch.config import StudyConfig

    config = StudyConfig()
    for pair in pairs:
        if not pair.partition("=")[0].strip().startswith("estimator."):
            raise UserError(f"activation-eval takes only --set estimator.<option>=VALUE, got {pair!r}")
    config.apply_overrides(pairs)
    return dict(config.estimator_options)


def _label(estimator: Any, function: str) -> str:
    arch, factory = estimator.resolve(function)
    if factory is not None:
        return function.strip().lower()
    name = estimator.space.known_name(arch)
    formula = estimator.space.formula(arch)
    return f"{formula} ({name})" if name else formula


def summarise(runs: list[dict[str, Any]], relu: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Mean and std (ddof 1) of the ok runs; the paired t-test of test accuracy against ReLU on shared seeds."""
    ok = [r for r in runs if r["status"] == "ok"]
    out: dict[str, Any] = {"ok_runs": len(ok), "failed_runs": len(runs) - len(ok)}
    for metric in ("test", "valid"):
        values = np.array([r[f"{metric}_acc"] for r in ok], dtype=float)
        out[f"{metric}_mean"] = float(values.mean()) if len(values) else math.nan
        out[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else math.nan
    out.update(paired_test(runs, relu) if relu is not None and runs is not relu else {})
    return out


def paired_test(runs: list[dict[str, Any]], reference: list[dict[str, Any]]) -> dict[str, float]:
    """Mean test-accuracy difference to ``reference`` over the seeds both finished, and the paired t-test's
    two-sided p-value (the same initial weights and batches per seed make the runs pairs)."""
    from scipy import stats

    by_seed = {r["seed"]: r["test_acc"] for r in reference if r["status"] == "ok"}
    pairs = [(r["test_acc"], by_seed[r["seed"]]) for r in runs if r["status"] == "ok" and r["seed"] in by_seed]
    if len(pairs) < 2:
        return {"diff_vs_relu": math.nan, "p_vs_relu": math.nan}
    diffs = np.array([a - b for a, b in pairs])
    p_value = float(stats.ttest_rel([a for a, _ in pairs], [b for _, b in pairs]).pvalue) if diffs.std() > 0 else (
        0.0 if diffs.mean() != 0 else 1.0)
    return {"diff_vs_relu": float(diffs.mean()), "p_vs_relu": p_value}


def _versus(summary: dict[str, Any]) -> str:
    if not math.isfinite(summary.get("diff_vs_relu", math.nan)):
        return f"  ({summary['failed_runs']} failed)" if summary["failed_runs"] else ""
    return f"  vs ReLU {summary['diff_vs_relu']:+.2f} (paired t p={summary['p_vs_relu']:.3f})"


def _print_verdict(estimator: Any, table: dict[str, dict[str, Any]]) -> None:
    better = [f for f, s in table.items() if f != "relu" and s.get("diff_vs_relu", math.nan) > 0
              and s.get("p_vs_relu", 1.0) < SIGNIFICANCE]
    if "relu" not in table:
        return
    if better:
        print(f"beat ReLU beyond the noise (paired t-test p < {SIGNIFICANCE}): "
              + "; ".join(_label(estimator, f) for f in better))
    else:
        print(f"no function beat ReLU beyond the noise (paired t-test p < {SIGNIFICANCE})")
