"""Building generic tables: train every (or a seeded sample of) architecture of a space, store, write the table.

What NAS-Bench-101/201 did for their cell spaces (Ying et al., ICML 2019: every cell, 4 budgets, 3 seeds;
Dong & Yang, ICLR 2020: every cell, 200 and 12 epochs), for any space and a small budget: a build is a
study whose strategy is :class:`~archsearch.strategies.exhaustive.ExhaustiveSearch` (every valid arch once,
in a seeded order; ``--sample N`` takes the first N), whose estimator trains at ``epochs`` (``train``, or
``activation``: a fixed child network per activation function, Ramachandran et al. 2017), on any executor,
stored in the SQLite store under one experiment name: a killed build resumes where its store left it and
trains none of the done archs again. The ok trials become the table's rows, with the learning curves, params,
FLOPs and measured latency the estimator records; an arch whose evaluation failed (an activation the
numerical guard rejects, a diverged training) is a row with its reason in column ``failure`` and no metrics.
:func:`archsearch.benchmarks.builder.export_benchmark` writes a registered table (NAS-Bench-201) in the same
format.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from archsearch.benchmarks.builder import COST_COLUMN, direction_of
from archsearch.benchmarks.table_meta import FAILURE_COLUMN, FIDELITY_COLUMN, TableMeta
from archsearch.config import StudyConfig
from archsearch.core.errors import UserError
from archsearch.store.base import Store, TrialRecord

# -- defaults in one visible block --------------------------------------------------------------
BUILD_STRATEGY = "exhaustive"
BUILD_ESTIMATORS = ("train", "activation")  # estimators that train what they score
BUILD_OBJECTIVE = "valid_acc"
BUILD_REPORT = "test_acc"
TRIAL_SECONDS = "trial_seconds"  # build + measure + train, per arch (a metric of the table)
CURVE_PREFIX = "curve_"
MATCHING_KEYS = ("space", "space_options", "strategy", "strategy_options", "estimator", "estimator_options",
                 "dataset", "fidelity", "max_trials", "seed", "data_dir")  # what a resumed build must share


def build_config(base: StudyConfig, epochs: float, count: int, name: str) -> StudyConfig:
    """The study config of a build: ``base`` (space, dataset, executor, estimator options ...) with the
    exhaustive strategy, its training estimator (:data:`BUILD_ESTIMATORS`, default ``train``) at ``epochs`` and
    ``count`` trials."""
    estimator = base.estimator if base.was_set("estimator") else BUILD_ESTIMATORS[0]
    if estimator not in BUILD_ESTIMATORS:
        raise UserError(f"bench build trains archs: estimator {base.estimator!r} cannot build a table; choose "
                        f"{' or '.join(BUILD_ESTIMATORS)}")
    data = {**base.to_dict(), "name": name, "strategy": BUILD_STRATEGY, "estimator": estimator, "benchmark": None,
            "table": None, "fidelity": float(epochs), "max_trials": int(count), "budget_seconds": None,
            "objective": f"{BUILD_OBJECTIVE}:max", "report": f"{BUILD_REPORT}:max", "prerank": None,
            "warm_start": None}
    config = StudyConfig.from_mapping(data)
    config.validate()
    return config


def check_same_build(stored: Mapping[str, Any], config: StudyConfig) -> None:
    """UserError when a stored experiment of the same name is a different build."""
    wanted = config.to_dict()
    for key in MATCHING_KEYS:
        if stored.get(key) != wanted.get(key):
            problem = (f"experiment {config.name!r} in the store is another build ({key} {stored.get(key)!r}, "
                       f"not {wanted.get(key)!r})")
            raise UserError(f"{problem}; give another name or store", cli=f"{problem}; give another --name or --store")


def run_build(config: StudyConfig, store: Store, on_trial: Callable[[Any], None] | None = None,
              on_message: Callable[[str], None] | None = None) -> Any:
    """Create the build study, or resume it when the store has it (its done archs are not trained again)."""
    from archsearch.config import RUNTIME_KEYS
    from archsearch.study import Study

    names = {experiment.name: experiment for experiment in store.experiments()}
    if config.name in names:
        check_same_build(names[config.name].config, config)
        runtime = {key: getattr(config, key) for key in RUNTIME_KEYS
                   if key != "threads" or config.threads is not None}  # else the count the build recorded
        study = Study.resume(config.name, store, runtime=runtime)
        if on_message is not None:
            on_message(f"resuming build {config.name!r}: {len(study.trials)} of {config.max_trials} archs done")
    else:
        study = Study.create(config, store)
    if not study.done():
        study.run(on_trial=on_trial, on_message=on_message)
    return study


# -- rows and metadata --------------------------------------------------------------------------
def built_table(config: StudyConfig, space: Any, trials: Sequence[TrialRecord]) -> tuple[TableMeta, list[dict]]:
    """The metadata and rows of a build: its ok trials (the last one of an arch evaluated twice), and a row with
    the reason (column ``failure``) and cost but no metrics for an arch whose every trial failed."""
    keyed = [(json.dumps(t.arch, sort_keys=True), t) for t in trials]
    ok_by_arch = {key: t for key, t in keyed if t.status == "ok"}
    ok = list(ok_by_arch.values())
    failed_archs = list({key: t for key, t in keyed if t.status != "ok" and key not in ok_by_arch}.values())
    if not ok:
        raise UserError(f"build {config.name!r} has no successful trial to write (see: archsearch show {config.name})")
    metrics: dict[str, str] = {}
    curves: dict[str, str] = {}
    for trial in ok:
        metrics.update({name: direction_of(name) for name in trial.metrics if name not in metrics})
        curves.update({name: CURVE_PREFIX + name for name in trial.curves if name not in curves})
    metrics[TRIAL_SECONDS] = "min"
    if COST_COLUMN not in metrics or BUILD_OBJECTIVE not in metrics:
        raise UserError(f"build {config.name!r}: its trials carry no {COST_COLUMN} / {BUILD_OBJECTIVE}")
    report = BUILD_REPORT if BUILD_REPORT in metrics else BUILD_OBJECTIVE
    meta = TableMeta(space=config.space, space_options=dict(config.space_options), dataset=config.dataset,
                     dims=dict(space.dims()), fidelities=(float(config.fidelity),), metrics=metrics,
                     objective=BUILD_OBJECTIVE, report=report, cost=COST_COLUMN, curves=curves,
                     net=dict(config.estimator_options.get("net") or {}),
                     description=f"archsearch bench build {config.name!r}: {len(ok)} archs trained for "
                                 f"{config.fidelity:g} epochs on {config.dataset} (seed {config.seed}) with estimator "
                                 f"{config.estimator}; {len(failed_archs)} failed (column {FAILURE_COLUMN})")
    rows = [{**t.arch, FIDELITY_COLUMN: t.fidelity, **t.metrics, TRIAL_SECONDS: t.cost,
             **{curves[name]: list(values) for name, values in t.curves.items()}} for t in ok]
    rows += [{**t.arch, FIDELITY_COLUMN: t.fidelity, COST_COLUMN: t.cost, TRIAL_SECONDS: t.cost,
              FAILURE_COLUMN: t.error or "failed"} for t in failed_archs]  # what the failed evaluation cost
    return meta, rows
