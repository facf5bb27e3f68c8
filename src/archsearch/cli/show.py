"""``archsearch show``: an experiment's history and its best architecture (text or JSON)."""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

from archsearch.cli.common import (ExampleHelpFormatter, add_store_argument, check_plot_path, describe_best,
                                   describe_front, failure_lines, format_arch, front_summary, open_store, stored_goal,
                                   stored_objectives)
from archsearch.cli.report_run import resume_command
from archsearch.config import StudyConfig
from archsearch.core.errors import UserError
from archsearch.store.base import EpochRecord, ExperimentRecord, TrialRecord, stored_result
from archsearch.study import best_trial, study_cost
from archsearch.study.records import short_reason, trials_dataframe

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
    parser.add_argument("--csv", metavar="FILE", help="write the trials as a table (one row per trial: arch, status, "
                                                      "cost, metric_<name>, arch_<dim>) to FILE")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_plot_path(args.plot)
    if args.csv is not None and (args.name is None or not Path(args.csv).resolve().parent.is_dir()):
        raise UserError("--csv needs an experiment name" if args.name is None
                        else f"folder for --csv does not exist: {Path(args.csv).parent}")
    store = open_store(args.store, create=False, write=False)
    try:
        if args.name is None:
            return _list_experiments([(e, store.trials(e.id)) for e in store.experiments()], args.json)
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
        _print_text(experiment, trials, epochs, show_all=args.all)
        if experiment.status in ("interrupted", "failed"):
            print(f"{experiment.status}: continue with: {resume_command(experiment.name, args.store)}")
        if front is not None:
            print("\n".join(describe_front(experiment.config["space"], front, goal)))
    if args.csv:
        write_trials_csv(experiment, trials, args.csv)
    if args.plot:
        from archsearch.report.pareto import plot_fronts, value_matrix

        plot_fronts({experiment.name: value_matrix([stored_result(t) for t in trials], goal)}, goal, args.plot,
                    title=f"{experiment.name}: {len(trials)} trials")
        print(f"wrote {args.plot}")
    return 0


def write_trials_csv(experiment: ExperimentRecord, trials: list[TrialRecord], path: str) -> None:
    """The trials as ``trials_dataframe`` gives them (the space's arch strings), written as CSV."""
    from archsearch.spaces import space_from_config

    trials_dataframe(trials, space_from_config(experiment.config)).to_csv(path)
    print(f"wrote {path} ({len(trials)} trials)")


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


def _list_experiments(experiments: list[tuple[ExperimentRecord, list[TrialRecord]]], as_json: bool) -> int:
    """One row per experiment: name, status, strategy and space, seed, trials, best objective, reported value,
    created time."""
    rows = [_summary_row(experiment, trials) for experiment, trials in experiments]
    if as_json:
        print(json.dumps(rows, indent=1))
        return 0
    if not rows:
        print("the store has no experiments")
        return 0
    print(f"{'name':30s} {'status':11s} {'strategy on space':34s} {'seed':>4} {'trials':>7} {'best':>10} "
          f"{'reported':>10}  created")
    for row in rows:
        print(f"{row['name']:30s} {row['status']:11s} {row['strategy'] + ' on ' + row['space']:34s} {row['seed']:>4} "
              f"{row['trials']:>7} {_number(row['best'], '10.4f')} {_number(row['reported'], '10.4f')}  {row['created']}")
    return 0


def _summary_row(experiment: ExperimentRecord, trials: list[TrialRecord]) -> dict[str, Any]:
    config = experiment.config
    best = None
    if config.get("kind") != "meta-search":
        objective, report = stored_objectives(config)
        found = best_trial(trials, stored_goal(config))
        best = None if found is None else (found.metrics.get(objective.metric), found.metrics.get(report.metric))
    return {"name": experiment.name, "status": experiment.status, "strategy": str(config.get("strategy")),
            "space": str(config.get("space")), "seed": experiment.seed, "trials": len(trials),
            "failed": sum(t.status == "failed" for t in trials),
            "best": None if best is None else best[0], "reported": None if best is None else best[1],
            "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(experiment.created))}


def _number(value: float | None, spec: str) -> str:
    """``value`` formatted, or ``-`` right-aligned in the same width when it is missing or nan."""
    width = int(spec.split(".")[0] or 0)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'-':>{width}}"
    return f"{value:{spec}}"


def _print_text(experiment: ExperimentRecord, trials: list[TrialRecord], epochs: list[EpochRecord],
                show_all: bool) -> None:
    config = experiment.config
    objective, report = stored_objectives(config)
    metric = objective.metric
    print(f"experiment {experiment.name!r} ({experiment.status}): {config['strategy']} on {config['space']}"
          f"{' / ' + config['benchmark'] if config.get('benchmark') else ''}, dataset {config['dataset']}, "
          f"seed {experiment.seed}")
    print(f"trials: {len(trials)}, failed: {sum(t.status == 'failed' for t in trials)}, "
          f"cost: {study_cost(trials, epochs):,.0f} s")
    shown = trials if show_all else trials[-TAIL:]
    if len(shown) < len(trials):
        print(f"(last {len(shown)} trials; --all lists every one)")
    print(f"{'#':>6}  {'status':7} {metric:>10} {config['report']:>15} {'cost':>9}  arch")
    for t in shown:
        why = f"  ({short_reason(t.error, 80)})" if t.status == "failed" else ""
        print(f"{t.number:>6}  {t.status:7} {_number(t.metrics.get(metric), '10.4f')} "
              f"{_number(t.metrics.get(report.metric), '15.4f')} {t.cost:>9.1f}  {format_arch(config['space'], t.arch)}{why}")
    goal = stored_goal(config)
    for line in describe_best(config["space"], best_trial(trials, goal), objective, report, goal):
        print(line)
    for line in failure_lines(trials):
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
        columns = (("train_acc", "9.2f"), ("arch_acc", "9.2f"), ("derived_valid_acc", "9.2f"), ("entropy", "8.3f"),
                   ("param_free_share", "8.2f"), ("hessian_eigenvalue", "9.4g"))
        values = " ".join(_number(e.metrics.get(key), spec) for key, spec in columns)
        print(f"{e.epoch + 1:>6} {values} {e.seconds:>8.1f}")
    last = next((e for e in reversed(epochs) if e.kind == "epoch" and e.arch), None)
    if last is not None:
        print(f"derived arch: {format_arch(space, last.arch)}")
