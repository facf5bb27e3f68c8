"""``archsearch compare``: several strategies x many seeds under one protocol, summarised as a table,
JSON and an anytime plot."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from archsearch.cli.common import ExampleHelpFormatter, add_study_arguments, check_plot_path, study_config
from archsearch.compare import SEED_EXECUTORS, compare_strategies, compare_stored, table_optimum
from archsearch.config import StudyConfig
from archsearch.core.errors import UserError

EXAMPLE = ("example: archsearch compare --benchmark nb201 --dataset cifar10 --strategies random,regularized-evolution "
           "--seeds 100 --fidelity 12 --budget-seconds 12000 --json out.json --report compare.html --workers 4")
PLAIN_INTERVAL_SECONDS = 10.0
DEFAULT_STRATEGIES = "random,regularized-evolution"


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "compare", help="compare strategies over many seeds (in memory, nothing stored)",
        description="Run each strategy for seeds 0..N-1 under one protocol and report the mean and standard "
                    "deviation (ddof=1) of the reported metric of each run's best arch, with an optional "
                    "anytime plot (mean best-so-far with a 95%% band across seeds).",
        epilog=EXAMPLE, formatter_class=ExampleHelpFormatter)
    add_study_arguments(parser, skip=("--strategy", "--seed", "--executor", "--workers"))
    parser.add_argument("--strategies", default=None,
                        help="comma-separated strategy names, each with options as name:key=value[:key=value] "
                             "(e.g. optuna:sampler=nsgaii); default: random,regularized-evolution")
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds, 0..N-1 (default 10)")
    parser.add_argument("--workers", dest="seed_workers", type=int, default=1,
                        help="seeds run in parallel: processes, or Ray tasks with --executor ray (default 1)")
    parser.add_argument("--executor", dest="seed_executor", choices=SEED_EXECUTORS, default="processes",
                        help="where seeds run: processes (a local pool of --workers) or ray (tasks on a local Ray, or "
                             "the cluster at --address); results equal the serial run's")
    parser.add_argument("--from-store", metavar="STORE", default=None,
                        help="compare the studies already in STORE (a SQLite file or postgresql:// URL), one run per "
                             "study, grouped by strategy, instead of running seeds")
    parser.add_argument("--experiments", default=None, metavar="NAMES",
                        help="with --from-store: comma-separated experiment names (default: all in the store)")
    parser.add_argument("--json", dest="json_out", metavar="FILE", help="write the results as JSON to FILE")
    parser.add_argument("--trajectories", action="store_true",
                        help="include every run's anytime trajectory (cost, reported best-so-far) in --json")
    parser.add_argument("--plot", metavar="FILE", help="write the anytime curves to FILE (.png or .svg)")
    parser.add_argument("--plot-x", choices=("cost", "trials"), default="cost",
                        help="x axis of --plot: simulated seconds or trials (default cost)")
    parser.add_argument("--report", dest="report_html", metavar="FILE",
                        help="write a self-contained HTML report (anytime curves with 95%% bands, final values, "
                             "Mann-Whitney U between strategies) to FILE")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.from_store is not None:
        config, results = _stored(args)
    else:
        config = study_config(args)
        strategies = _check_arguments(args, config)
        address, config.address = config.address, None  # --address places the seeds; each seed runs serially
        if address is not None and args.seed_executor != "ray":
            raise UserError("--address needs --executor ray")
        progress = _SeedProgress(len(strategies) * args.seeds, enabled=not args.quiet)
        try:
            results = compare_strategies(config, strategies, args.seeds, on_done=progress, workers=args.seed_workers,
                                         executor=args.seed_executor, address=address)
        finally:
            progress.close()
    elapsed = time.perf_counter() - started
    _print_table(config, results, args.seeds)
    if config.goal().multi:
        _print_hypervolumes(config, results)
    print(f"({_plural(len(results), 'strategy', 'strategies')} x {_plural(args.seeds, 'seed')} in {elapsed:.1f} s "
          f"wall clock, {_plural(args.seed_workers, 'worker')})")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(_document(config, args, results), indent=1, allow_nan=False))
        print(f"wrote {args.json_out}")
    if args.plot and config.goal().multi:
        from archsearch.report.pareto import plot_fronts

        pooled = {name: np.asarray([point for front in summary["fronts"] for point in front], dtype=float)
                  for name, summary in results.items()}
        plot_fronts(pooled, config.goal(), args.plot,
                    title=f"{config.benchmark or config.space} {config.dataset}: the fronts of {args.seeds} seeds pooled")
        print(f"wrote {args.plot}")
    elif args.plot:
        from archsearch.report.curves import plot_anytime

        objective = config.objectives()[0]
        plot_anytime(results, args.plot, x=args.plot_x, optimum=table_optimum(config),
                     ylabel=f"{config.report} of the best-so-far arch (by {objective})",
                     title=f"{config.benchmark or config.space} {config.dataset}: mean and 95% band over "
                           f"{args.seeds} seeds")
        print(f"wrote {args.plot}")
    if args.report_html:
        _write_report(args, config, results, elapsed)
    return 0


def _stored(args: argparse.Namespace) -> tuple[StudyConfig, dict[str, Any]]:
    """The studies of --from-store summarised; ``args.seeds`` becomes the most runs of one strategy."""
    from archsearch.store.factory import open_store

    _check_outputs(args)
    names = [n.strip() for n in args.experiments.split(",") if n.strip()] if args.experiments else None
    store = open_store(args.from_store, create=False, write=False)
    try:
        config, results = compare_stored(store, names)
    finally:
        store.close()
    args.seeds = max(len(summary["final_test"]) for summary in results.values())
    return config, results


def _write_report(args: argparse.Namespace, config: StudyConfig, results: dict[str, Any], elapsed: float) -> None:
    import shlex

    from archsearch.report.compare_report import compare_report
    from archsearch.report.study_report import write_report

    command = shlex.join(["archsearch", *getattr(args, "argv", ["compare"])])
    document = compare_report(config, results, args.seeds, command, optimum=table_optimum(config), wall_seconds=elapsed)
    write_report(args.report_html, document)
    print(f"wrote {args.report_html}")


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _check_arguments(args: argparse.Namespace, config: StudyConfig) -> list[str]:
    """Every argument error as a UserError before anything runs; the strategy names in order."""
    if config.strategy_options:
        raise UserError("compare runs several strategies: strategy options (--set strategy.X) are not accepted")
    if args.seeds < 1:
        raise UserError(f"--seeds must be at least 1, got {args.seeds}")
    if config.warm_start is not None:
        raise UserError("compare runs every seed in memory, with no stored study to warm-start from: use "
                        "'archsearch search --warm-start NAME' (perf/warm_start_nb201.py compares cold and warm)")
    if args.seed_workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.seed_workers}")
    strategies = list(dict.fromkeys(s.strip() for s in (args.strategies or DEFAULT_STRATEGIES).split(",") if s.strip()))
    if not strategies:
        raise UserError("--strategies needs at least one name")
    _check_outputs(args)
    return strategies


def _check_outputs(args: argparse.Namespace) -> None:
    """--json, --trajectories, --plot and --report name usable files (UserError otherwise)."""
    if args.json_out and not Path(args.json_out).resolve().parent.is_dir():
        raise UserError(f"folder for --json does not exist: {Path(args.json_out).parent}")
    if args.json_out and Path(args.json_out).is_dir():
        raise UserError(f"--json needs a file path, not a folder: {args.json_out}")
    if args.trajectories and not args.json_out:
        raise UserError("--trajectories adds to the --json output: give --json FILE too")
    check_plot_path(args.plot)
    if args.report_html:
        from archsearch.cli.report import check_output

        check_output(args.report_html)


def _document(config: StudyConfig, args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    kept = {name: {k: v for k, v in summary.items() if args.trajectories or k not in ("trajectories", "fronts")}
            for name, summary in results.items()}
    document = {"benchmark": config.benchmark, "dataset": config.dataset, "fidelity": config.fidelity,
                "budget_seconds": config.budget_seconds, "max_trials": config.max_trials,
                "objective": config.objective, "constraint": config.constraint, "reward": config.reward,
                "report": config.report, "seeds": args.seeds,
                "workers": args.seed_workers, "results": kept}
    return _finite_or_null(document)


def _finite_or_null(value: Any) -> Any:
    """NaN/inf (a run without an ok trial) become JSON null, so that the file is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v) for v in value]
    return value


def _print_table(config: StudyConfig, results: dict[str, Any], seeds: int) -> None:
    print(f"{config.report} of each run's best arch by {config.objective}, over {_plural(seeds, 'seed')}:")
    print(f"{'strategy':28s} {'mean +- std':>16s} {'min':>8s} {'max':>8s} {'trials/run':>11s} {'wall s':>8s}")
    for name, summary in results.items():
        values = [v for v in summary["final_test"] if math.isfinite(v)]
        low, high = (min(values), max(values)) if values else (math.nan, math.nan)
        print(f"{name:28s} {summary['mean']:>7.2f} +- {summary['std']:<5.2f} {low:>8.2f} {high:>8.2f} "
              f"{summary['trials']:>11.1f} {summary['wall_seconds']:>8.1f}")
        if summary.get("runs_without_result"):
            print(f"  ({summary['runs_without_result']} of {seeds} runs of {name} found no successful arch; "
                  "the mean is over the others)")


def _print_hypervolumes(config: StudyConfig, results: dict[str, Any]) -> None:
    reference = next(iter(results.values())).get("reference_point")
    if reference is None:
        print("hypervolume: no run found a feasible architecture")
        return
    given = "given" if config.reference_point is not None else "worst value of each objective over all runs"
    print(f"hypervolume of each run's front of {config.objective} (reference point "
          f"{', '.join(f'{v:.6g}' for v in reference)}: {given}):")
    print(f"{'strategy':28s} {'mean +- std':>24s} {'front size':>11s}")
    for name, summary in results.items():
        sizes = np.mean([len(front) for front in summary["fronts"]])
        print(f"{name:28s} {summary['hv_mean']:>11.5g} +- {summary['hv_std']:<9.3g} {sizes:>11.1f}")


class _SeedProgress:
    """Finished runs: a tqdm bar on a terminal, a plain line every few seconds otherwise (on stderr)."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.total, self.enabled, self.done = total, enabled, 0
        self._bar = None
        self._tty = sys.stderr.isatty()
        self._last_line = time.monotonic()

    def __call__(self, strategy: str, seed: int) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self._tty:
            if self._bar is None:
                from tqdm import tqdm

                self._bar = tqdm(total=self.total, desc="compare", unit="run", file=sys.stderr)
            self._bar.set_postfix_str(f"{strategy} seed {seed}", refresh=False)
            self._bar.update(1)
        elif time.monotonic() - self._last_line >= PLAIN_INTERVAL_SECONDS:
            self._last_line = time.monotonic()
            print(f"[compare] {self.done}/{self.total} runs ({strategy} seed {seed})", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
