"""Arguments and output helpers shared by the subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from archsearch.config import StudyConfig
from archsearch.report.formatting import (describe_best, describe_front, format_arch, format_metrics,  # noqa: F401
                                          front_summary, stored_goal, stored_objectives)
from archsearch.store.base import Store, TrialRecord
from archsearch.store.factory import open_store as open_location
from archsearch.study.records import failure_reasons

DEFAULT_STORE = "runs.db"
STORE_HELP = (f"SQLite store file (default: {DEFAULT_STORE}) or a PostgreSQL database URL, "
              "postgresql://USER@HOST:PORT/DATABASE (the postgres extra)")

# CLI flag -> config key (flags default to None so that only given flags override the config file)
STUDY_FLAGS: dict[str, tuple[str, Any, str]] = {
    "--space": ("space", str, "search space (archsearch list spaces)"),
    "--space-file": ("space_file", str, "YAML/JSON file declaring the space (a chain of layers or a cell whose "
                                        "dims choose ops); sets --space declared"),
    "--strategy": ("strategy", str, "search strategy (archsearch list strategies)"),
    "--estimator": ("estimator", str, "performance estimator (archsearch list estimators)"),
    "--benchmark": ("benchmark", str, "tabular benchmark to query (archsearch list benchmarks)"),
    "--table": ("table", str, "a generic table file (.parquet/.csv with .meta.yaml beside it, e.g. from 'archsearch "
                              "bench build') to search; its metadata sets space, dataset, fidelity, objective, report"),
    "--dataset": ("dataset", str, "dataset, e.g. cifar10, cifar100, ImageNet16-120 on nb201"),
    "--fidelity": ("fidelity", float, "fidelity of each trial: epochs (nb201 table: 12 or 200; train: any)"),
    "--budget-seconds": ("budget_seconds", float, "stop once this many (simulated) seconds are spent"),
    "--max-trials": ("max_trials", int, "stop after this many trials"),
    "--seed": ("seed", int, "random seed (same seed, same history)"),
    "--objective": ("objective", list, "metric:direction to optimise, e.g. valid_acc:max; repeat for several "
                                      "objectives (multi-objective: nsga2, mo-regularized-evolution, random)"),
    "--constraint": ("constraint", list, "hard constraint, e.g. params<=2e6 or latency_ms<=5 (repeatable)"),
    "--reward": ("reward", str, "scalarise for one-objective strategies: mnasnet:latency_ms<=5 (ACC x (LAT/T)^-0.07) "
                                "or mnasnet-hard:latency_ms<=5"),
    "--reference-point": ("reference_point", str, "hypervolume reference, one raw value per objective, e.g. 0,2.2e8"),
    "--report-metric": ("report", str, "metric reported for the best arch, e.g. final_test_acc (config key: report)"),
    "--device": ("device", str, "auto (CUDA when available), cpu, cuda or cuda:N"),
    "--data-dir": ("data_dir", str, "where a file dataset lives (cifar10, image-folder; the .npz file for npz)"),
    "--download": ("download", bool, "download the dataset into --data-dir where it can (cifar10)"),
    "--executor": ("executor", str, "serial, processes (a local pool of --workers processes) or ray"),
    "--workers": ("workers", int, "trials in flight at once with --executor processes or ray"),
    "--address": ("address", str, "ray: join the cluster at auto or HOST:PORT (default: start a local Ray)"),
    "--gpus-per-trial": ("gpus_per_trial", float, "ray: GPUs reserved for each trial (default 0)"),
    "--trial-timeout": ("trial_timeout", float, "stop a trial after this many seconds and record it failed "
                                                "(processes, ray)"),
    "--max-retries": ("max_retries", int, "re-runs of a trial whose worker died before it is failed (default 2)"),
    "--threads": ("threads", int, "intra-op threads per trial (default: usable cores / workers, or $ARCHSEARCH_THREADS; "
                                  "see docs/threads.md)"),
    "--prerank": ("prerank", str, "zero-cost proxy (synflow, ...) that ranks a random pool; its best start the search"),
    "--prerank-pool": ("prerank_pool", int, "random archs scored by --prerank (default 100)"),
    "--prerank-top": ("prerank_top", int, "best-scored archs the strategy evaluates first (default 10)"),
    "--warm-start": ("warm_start", str, "another experiment in the store (same space, e.g. another dataset) used "
                                        "as a prior: its best archs first; BANANAS's predictor, REINFORCE's policy"),
    "--warm-start-top": ("warm_start_top", int, "how many of its best archs are evaluated first (default 10)"),
    "--max-memory": ("max_memory", str, "one-shot searches: refuse to start above this estimated peak (2GiB, 512MiB)"),
}


class ExampleHelpFormatter(argparse.HelpFormatter):
    """Wraps the description to the terminal; prints an epilog that starts with ``example`` verbatim, so the
    example commands keep their lines and can be copied (``RawDescriptionHelpFormatter`` for the epilog only)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.lstrip().startswith("example"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=DEFAULT_STORE, help=STORE_HELP)


def add_log_to_argument(parser: argparse.ArgumentParser) -> None:
    """``--log-to TRACKER`` (repeatable), read by ``report.tracking.make_tracker``."""
    parser.add_argument("--log-to", action="append", default=[], metavar="TRACKER",
                        help="also log the study to mlflow[:URI] (default sqlite:///mlflow.db) or tensorboard[:DIR] "
                             "(default runs/): config, one step per trial, curves, best arch, the HTML report")


def add_study_arguments(parser: argparse.ArgumentParser, skip: tuple[str, ...] = ()) -> None:
    for flag, (key, kind, text) in STUDY_FLAGS.items():
        if flag in skip:
            continue
        if kind is bool:
            parser.add_argument(flag, dest=key, action="store_const", const=True, default=None, help=text)
        elif kind is list:
            parser.add_argument(flag, dest=key, action="append", default=None, help=text)
        else:
            parser.add_argument(flag, dest=key, type=kind, default=None, help=text)
    parser.add_argument("--config", help="YAML/JSON file with the same keys (flags and --set override it)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key, e.g. --set strategy.population_size=20 (repeatable)")


def study_config(args: argparse.Namespace, defaults: dict[str, Any] | None = None) -> StudyConfig:
    """Defaults (``defaults`` replace StudyConfig's, e.g. a subcommand's own space) < --config file < flags < --set."""
    config = StudyConfig.from_file(args.config) if args.config else StudyConfig()
    for key, value in (defaults or {}).items():
        if not config.was_set(key):
            setattr(config, key, value)  # still a default: estimator defaults may follow it
    for key, _, _ in STUDY_FLAGS.values():
        value = getattr(args, key, None)
        if value is not None:
            config.set(key, value)
    config.apply_overrides(args.overrides)
    config.apply_estimator_defaults()  # validate() applies them too; commands print the config before it
    return config


def open_store(path: str, create: bool, write: bool = True) -> Store:
    """The store at ``path`` (a SQLite file, or a ``postgresql://`` URL); ``write=False`` for commands that only
    read it (a read-only file is fine)."""
    return open_location(path, create=create, write=write)


def check_plot_path(plot: str | None) -> None:
    """A plot path must end in .png/.svg and its folder must exist (UserError otherwise)."""
    if plot is None:
        return
    from pathlib import Path

    from archsearch.core.errors import UserError
    from archsearch.report.curves import SUFFIXES

    if Path(plot).suffix.lower() not in SUFFIXES:
        raise UserError(f"--plot must end in .png or .svg, got {plot!r}")
    if not Path(plot).resolve().parent.is_dir():
        raise UserError(f"folder for --plot does not exist: {Path(plot).parent}")


def failure_lines(trials: Sequence[TrialRecord]) -> list[str]:
    """The failed trials grouped by reason (empty when none failed)."""
    reasons = failure_reasons(trials)
    if not reasons:
        return []
    total = sum(count for _, count in reasons)
    return [f"failed trials: {total}, by reason:"] + [f"  {count:>5} x {'e.g. ' if count > 1 else ''}{reason}"
                                                       for reason, count in reasons]
