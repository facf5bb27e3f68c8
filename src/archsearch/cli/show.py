"""``archsearch show``: an experiment's history and its best architecture (text or JSON)."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from archsearch.cli.common import (ExampleHelpFormatter, add_store_argument, check_plot_path, describe_best,
                                   describe_front, format_arch, front_summary, open_store, stored_goal, stored_objectives)
from archsearch.config import StudyConfig
from archsearch.store.base import EpochRecord, ExperimentRecord, TrialRecord, stored_result
from archsearch.study import best_trial

TAIL = 20


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "show", help="print an experiment's history and best architecture",
        description="Print an experiment's configuration, trials and best architecture. Safe while it runs.",
        epilog="example: archsearch show demo --store runs.db --json", formatter_class=ExampleHelpFormatter)
    parser.add_argument("name", nargs="?", help="experiment name (omit to list the experiments in the store)")
    add_store_argument(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--all", action="store_true", help=f"list every trial (default: the last {TAIL})")
    parser.add_argument("--reference-point", default=None,
                        help="hypervolume reference, one raw value per objective (default: the search's own, "
                             "else the worst value of each objective)")
    parser.add_argument("--plot", metavar="FILE",
                        help="write the Pareto plot (each pair of objectives, front highlighted) to FILE (.png/.svg)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_plot_path(args.plot)
    store = open_store(args.store, create=False, write=False)
    try:
        if args.name is None:
            return _list_experiments(store.experiments(), args.json)
        experiment = store.get_experiment(args.name)
        trials = store.trials(experiment.id)
        epochs = store.epochs(experiment.id)
    finally:
        store.close()
    document = experiment_document(experiment, trials)
    document["epochs"] = [e.to_dict() for e in epochs]
    goal = stored_goal(experiment.config)
    front = _front(experiment, trials, args.reference_point) if goal.multi else None
    if front is not None:
        document["front"] = {"trials": [t.number for t in front["trials"]], "hypervolume": front["hypervolume"],
                             "reference_point": front["reference_point"], "reference_choice": front["reference_choice"]}
    if args.json:
        print(json.dumps(document, indent=1))
    else:
        _print_epochs(experiment.config["space"], epochs)
        _print_text(experiment, trials, show_all=args.all)
        if front is not None:
            print("\n".join(describe_front(experiment.config["space"], front, goal)))
    if args.plot:
        from archsearch.report.pareto import plot_fronts, value_matrix

        plot_fronts({experiment.name: value_matrix([stored_result(t) for t in trials], goal)}, goal, args.plot,
                    title=f"{experiment.name}: {len(trials)} trials")
        print(f"wrote {args.plot}")
    return 0


def _front(experiment: ExperimentRecord, trials: list[TrialRecord], reference_text: str | None) -> dict[str, Any]:
    """The front with the reference point from the flag, else the stored config's, else the worst values."""
    config = StudyConfig.from_mapping({"objective": experiment.config["objective"],
                                       "reference_point": reference_text or experiment.config.get("reference_point")})
    return front_summary(trials, stored_goal(experiment.config), config.reference())


def experiment_document(experiment: ExperimentRecord, trials: list[TrialRecord]) -> dict[str, Any]:
    config = experiment.config
    space = config["space"]
    best = best_trial(trials, stored_goal(config))
    return {
        "name": experiment.name, "space": space, "strategy": config["strategy"], "seed": experiment.seed,
        "status": experiment.status, "config": config,
        "trials": [{"number": t.number, "arch": format_arch(space, t.arch), "fidelity": t.fidelity,
                    "metrics": t.metrics, "cost": t.cost, "status": t.status, "error": t.error} for t in trials],
        "best": None if best is None else {"trial": best.number, "arch": format_arch(space, best.arch),
                                           "metrics": best.metrics},
    }


def _list_experiments(experiments: list[ExperimentRecord], as_json: bool) -> int:
    if as_json:
        print(json.dumps([{"name": e.name, "status": e.status, "strategy": e.config.get("strategy"),
                           "space": e.config.get("space"), "seed": e.seed} for e in experiments], indent=1))
        return 0
    if not experiments:
        print("the store has no experiments")
    for e in experiments:
        print(f"{e.name:40s} {e.status:9s} {e.config.get('strategy')} on {e.config.get('space')}, seed {e.seed}")
    return 0


def _print_text(experiment: ExperimentRecord, trials: list[TrialRecord], show_all: bool) -> None:
    config = experiment.config
    objective, report = stored_objectives(config)
    metric = objective.metric
    print(f"experiment {experiment.name!r} ({experiment.status}): {config['strategy']} on {config['space']}"
          f"{' / ' + config['benchmark'] if config.get('benchmark') else ''}, dataset {config['dataset']}, "
          f"seed {experiment.seed}")
    print(f"trials: {len(trials)}, failed: {sum(t.status == 'failed' for t in trials)}, "
          f"cost: {sum(t.cost for t in trials):,.0f} s")
    shown = trials if show_all else trials[-TAIL:]
    if len(shown) < len(trials):
        print(f"(last {len(shown)} trials; --all lists every one)")
    print(f"{'#':>6}  {'status':7} {metric:>10} {config['report']:>15} {'cost':>9}  arch")
    for t in shown:
        value = t.metrics.get(metric, math.nan)
        reported = t.metrics.get(report.metric, math.nan)
        print(f"{t.number:>6}  {t.status:7} {value:>10.4f} {reported:>15.4f} {t.cost:>9.1f}  "
              f"{format_arch(config['space'], t.arch)}")
    goal = stored_goal(config)
    for line in describe_best(config["space"], best_trial(trials, goal), objective, report, goal):
        print(line)


def _print_epochs(space: str, epochs: list[EpochRecord]) -> None:
    """The one-shot search's epochs (losses, accuracies, entropy, collapse signs) and its ranking."""
    for e in (e for e in epochs if e.kind == "prerank"):
        print(f"zero-cost pre-ranking: {e.metrics['pool']:.0f} random archs in {e.seconds:.1f} s, best "
              f"{e.metrics['top']:.0f} asked first; best score {e.metrics['best_score']:.4g}: {format_arch(space, e.arch or {})}")
    meta = [e for e in epochs if e.kind == "meta"]
    if meta:
        print(f"meta-architecture search: {meta[-1].epoch + 1} outer steps, {meta[-1].seconds:,.1f} s")
        print(f"{'step':>6} {'loss':>8} {'meta-val':>9}  meta-architecture (the strongest op per edge)")
        for e in meta:
            print(f"{e.epoch + 1:>6} {e.metrics.get('loss', math.nan):>8.3f} {e.metrics.get('val_acc', math.nan):>9.2f}"
                  f"  {format_arch(space, e.arch or {})}")
    epochs = [e for e in epochs if e.kind not in ("prerank", "meta")]
    if not epochs:
        return
    print(f"one-shot search: {sum(e.kind == 'epoch' for e in epochs)} epochs, {sum(e.seconds for e in epochs):,.1f} s")
    print(f"{'epoch':>6} {'train_acc':>9} {'arch_acc':>9} {'derived':>9} {'entropy':>8} {'free ops':>8} "
          f"{'eigenval':>9} {'seconds':>8}")
    for e in epochs:
        if e.kind == "ranking":
            print(f"ranking: {len(e.ranking)} candidates by shared-weight accuracy, best "
                  f"{e.metrics.get('best_shared_acc', math.nan):.2f}: {format_arch(space, e.arch or {})}")
            continue
        m = e.metrics
        print(f"{e.epoch + 1:>6} {m.get('train_acc', math.nan):>9.2f} {m.get('arch_acc', math.nan):>9.2f} "
              f"{m.get('derived_valid_acc', math.nan):>9.2f} {m.get('entropy', math.nan):>8.3f} "
              f"{m.get('param_free_share', math.nan):>8.2f} {m.get('hessian_eigenvalue', math.nan):>9.4g} {e.seconds:>8.1f}")
    last = next((e for e in reversed(epochs) if e.kind == "epoch" and e.arch), None)
    if last is not None:
        print(f"derived arch: {format_arch(space, last.arch)}")
