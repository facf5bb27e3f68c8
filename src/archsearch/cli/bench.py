"""``archsearch bench``: build a generic table by training a space's architectures (``bench build``), or write
a shipped benchmark in the generic table format (``bench export``). Either table is then searched with
``--table FILE`` (``archsearch search``, ``archsearch compare``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from archsearch.cli.common import DEFAULT_STORE, STORE_HELP, STUDY_FLAGS, open_store
from archsearch.config import StudyConfig
from archsearch.core.errors import UserError

BUILD_EXAMPLE = ("example: archsearch bench build --space-file examples/spaces/chain.yaml --dataset digits --epochs 2 "
                 "--sample 100 --set estimator.net.stem_channels=8 --executor processes --workers 2 --store bench.db "
                 "--out chain.parquet   (then: archsearch compare --table chain.parquet --strategies "
                 "random,regularized-evolution --seeds 50 --max-trials 20)")
EXPORT_EXAMPLE = "example: archsearch bench export nb201 --dataset cifar10 --out nb201-cifar10.parquet"
BUILD_FLAGS = ("--space", "--space-file", "--estimator", "--dataset", "--seed", "--device", "--data-dir", "--download", "--executor",
               "--workers", "--address", "--gpus-per-trial", "--trial-timeout", "--max-retries", "--threads")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench", help="build a generic table by training archs, or export a shipped benchmark as one",
        description="Tabular benchmarks as files: 'bench build' trains every (or a sample of) arch of a space\n"
                    "and writes a .parquet/.csv table with a .meta.yaml beside it; 'bench export' writes a shipped\n"
                    "benchmark (nb201) in the same format. Search either with --table FILE.",
        epilog=f"{BUILD_EXAMPLE}\n\n{EXPORT_EXAMPLE}", formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="bench_command", metavar="ACTION")
    _add_build(actions)
    _add_export(actions)
    parser.set_defaults(run=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _add_build(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "build", help="train archs of a space (estimator train or activation) and write the table",
        description="Train every valid arch (--all) or a seeded sample of distinct archs (--sample N) of a space for "
                    "--epochs epochs with the train estimator (--estimator activation: an activation space's "
                    "functions in a fixed child network), on any executor, as an experiment in the store (a "
                    "killed build resumes: run the same command again), then write the table: dims, metrics, "
                    "learning curves, params, FLOPs and measured latency.",
        epilog=BUILD_EXAMPLE)
    for flag in BUILD_FLAGS:
        key, kind, text = STUDY_FLAGS[flag]
        if kind is bool:
            parser.add_argument(flag, dest=key, action="store_const", const=True, default=None, help=text)
        else:
            parser.add_argument(flag, dest=key, type=kind, default=None, help=text)
    parser.add_argument("--epochs", type=float, required=True, help="training epochs of every arch (the table's fidelity)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every valid arch of the space")
    which.add_argument("--sample", type=int, metavar="N", help="N distinct archs, drawn with --seed")
    parser.add_argument("--out", required=True, help="table file to write: .parquet or .csv (.meta.yaml beside it)")
    parser.add_argument("--store", default=DEFAULT_STORE, help=f"store of the build: {STORE_HELP}")
    parser.add_argument("--name", default=None, help="experiment name of the build (default: from space, dataset, "
                                                     "epochs, selection and seed)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a config key or train option, e.g. estimator.net.channels=8, estimator.batch_size=64")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(run=run_build_command)


def _add_export(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "export", help="write a shipped benchmark (nb201) as a generic table",
        description="Write every arch of a registered benchmark, for one dataset and every fidelity it has, as a "
                    "generic table (searching it with --table gives the same history as --benchmark).",
        epilog=EXPORT_EXAMPLE)
    parser.add_argument("benchmark", help="registered benchmark (archsearch list benchmarks)")
    parser.add_argument("--dataset", required=True, help="one dataset of the benchmark, e.g. cifar10")
    parser.add_argument("--out", required=True, help="table file to write: .parquet or .csv (.meta.yaml beside it)")
    parser.set_defaults(run=run_export_command)


# -- build ----------------------------------------------------------------------------------------
def build_study_config(args: argparse.Namespace) -> tuple[StudyConfig, Any]:
    """The build's study config and space from the arguments (every user error before anything runs)."""
    from archsearch.bench_build import build_config
    from archsearch.spaces import space_from_config

    _check_out(args.out)
    config = StudyConfig()
    config.set("estimator", "train")
    for flag in BUILD_FLAGS:
        key = STUDY_FLAGS[flag][0]
        if getattr(args, key, None) is not None:
            config.set(key, getattr(args, key))
    config.apply_overrides(args.overrides)
    config.apply_estimator_defaults()
    if not (isinstance(args.epochs, float) and args.epochs > 0):
        raise UserError(f"--epochs must be positive, got {args.epochs}")
    space = space_from_config(config)
    count = _count(space, args.all, args.sample)
    name = args.name or _default_name(config, space, args)
    return build_config(config, args.epochs, count, name), space


def _count(space: Any, every: bool, sample: int | None) -> int:
    from archsearch.strategies.exhaustive import ENUMERATION_LIMIT, valid_archs

    if every:
        if space.size() > ENUMERATION_LIMIT:
            raise UserError(f"space {space.name!r} has {space.size():,} combinations, too many for --all; "
                            f"use --sample N")
        return sum(1 for _ in valid_archs(space))
    if sample is None or sample < 1:
        raise UserError(f"--sample needs a positive number of archs, got {sample}")
    if space.size() <= ENUMERATION_LIMIT:
        available = sum(1 for _ in valid_archs(space))
        if sample > available:
            raise UserError(f"--sample {sample} exceeds the {available} valid archs of space {space.name!r}; "
                            f"use --all")
    return sample


def _default_name(config: StudyConfig, space: Any, args: argparse.Namespace) -> str:
    label = getattr(space, "label", None) or config.space
    which = "all" if args.all else f"sample{args.sample}"
    return f"bench-{label}-{config.dataset}-e{args.epochs:g}-{which}-seed{config.seed}"


def _check_out(out: str) -> None:
    from archsearch.benchmarks.table_meta import SUFFIXES

    path = Path(out)
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(f"--out must end in .parquet or .csv, got {out!r}")
    if not path.resolve().parent.is_dir():
        raise UserError(f"folder for --out does not exist: {path.parent}")


def run_build_command(args: argparse.Namespace) -> int:
    from archsearch.bench_build import built_table, run_build
    from archsearch.benchmarks.table import write_table
    from archsearch.cli.progress import ProgressReporter

    config, space = build_study_config(args)
    print(f"bench build {config.name!r}: {config.max_trials} archs of {space.describe()}, {config.fidelity:g} "
          f"epochs on {config.dataset}, executor {config.executor} x {config.workers}")
    reporter = ProgressReporter(config.name, enabled=not args.quiet)
    store = open_store(args.store, create=True)
    started = time.perf_counter()
    try:
        before = _done(store, config.name)
        study = run_build(config, store, on_trial=reporter,
                          on_message=None if args.quiet else lambda text: print(text, file=sys.stderr, flush=True))
        reporter.close(study.progress())
        trained = len(study.trials) - before
        elapsed = time.perf_counter() - started
        meta, rows = built_table(config, space, study.trials)
        write_table(args.out, meta, rows)
    finally:
        store.close()
    failed = sum(t.status != "ok" for t in study.trials)
    rate = f", {60 * trained / elapsed:.1f} archs/min" if trained and elapsed > 0 else ""
    print(f"trained {trained} archs in {elapsed:.1f} s{rate} ({before} were done before); {failed} failed")
    print(f"wrote {args.out} ({len(rows)} archs) and {Path(args.out).stem}.meta.yaml; search it: "
          f"archsearch compare --table {args.out} --strategies random,regularized-evolution --max-trials 20")
    return 0


def _done(store: Any, name: str) -> int:
    for experiment in store.experiments():
        if experiment.name == name:
            return len(store.trials(experiment.id))
    return 0


# -- export ---------------------------------------------------------------------------------------
def run_export_command(args: argparse.Namespace) -> int:
    from archsearch.benchmarks.builder import export_benchmark

    _check_out(args.out)
    path = export_benchmark(args.benchmark, args.dataset, args.out)
    print(f"wrote {path} and {path.stem}.meta.yaml; search it: archsearch search --table {path}")
    return 0
