"""Comparing strategies over many seeds under one protocol (e.g. the NAS-Bench-201 paper's:
12-epoch validation accuracy as the objective, 12,000 simulated seconds on CIFAR-10, the 200-epoch
test accuracy of the best arch reported; Dong & Yang, ICLR 2020, Table 5). Runs in memory: nothing
is stored.

Each run also records its anytime trajectory: after every trial, the cumulative (simulated) cost and
the reported metric of the best arch so far by the objective (the Study's own incremental best), which
``archsearch.report.curves`` turns into anytime curves. Seeds may run in worker processes
(``workers > 1``); every run depends only on its config and seed, so the results equal the serial ones.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np

from archsearch.config import StudyConfig
from archsearch.core.errors import UserError
from archsearch.core.objectives import Goal, Objective
from archsearch.benchmarks import load_benchmark
from archsearch.execution.processes import ProcessExecutor
from archsearch.store.memory import InMemoryStore
from archsearch.store.base import stored_result
from archsearch.study import Progress, Study, build_components


@dataclass(frozen=True)
class SeedRun:
    """One in-memory search: its reported value and its anytime trajectory (one entry per trial)."""

    seed: int
    final: float  # the reported metric of the best arch by the objective (nan without an ok trial)
    cost: tuple[float, ...]  # cumulative (simulated) seconds after each trial, non-decreasing
    reported: tuple[float, ...]  # reported metric of the best-so-far arch after each trial (nan before any ok)
    front: tuple[tuple[float, ...], ...] = ()  # multi-objective: raw objective values of the run's feasible front
    worst: tuple[float, ...] = ()  # multi-objective: the worst raw value of each objective over the run

    @property
    def trials(self) -> int:
        return len(self.cost)

    def trajectory(self) -> dict[str, list[float]]:
        return {"cost": list(self.cost), "reported": list(self.reported)}


def run_seed(config: StudyConfig, seed: int) -> SeedRun:
    """One in-memory search of ``config`` with ``seed``, with its trajectory."""
    run_config = StudyConfig.from_mapping({**config.to_dict(), "seed": seed, "name": f"seed-{seed}"})
    study = Study.create(run_config, InMemoryStore())
    cost: list[float] = []
    reported: list[float] = []

    def record(progress: Progress) -> None:
        cost.append(float(progress.cost_spent))
        reported.append(study.reported_value())  # the Study's incremental best, by the objective

    study.run(on_trial=record)
    front: tuple[tuple[float, ...], ...] = ()
    worst: tuple[float, ...] = ()
    goal = study.components.goal
    if goal.multi:
        from archsearch.core.pareto import front_indices, raw_values, worst_reference

        results = [stored_result(t) for t in study.trials]
        front = tuple(tuple(raw_values(results[i], goal)) for i in front_indices(results, goal))
        worst = tuple(worst_reference(results, goal) or ())
    return SeedRun(seed, study.reported_value(), tuple(cost), tuple(reported), front, worst)


def run_seed_from_mapping(config: dict[str, Any], seed: int) -> SeedRun:
    """``run_seed`` for a worker process: the config travels as a plain dict (spawn-safe)."""
    return run_seed(StudyConfig.from_mapping(config), seed)


def compare_strategies(base: StudyConfig, strategies: Sequence[str], seeds: int,
                       on_done: Callable[[str, int], None] | None = None, workers: int = 1) -> dict[str, Any]:
    """Per strategy (a name, or a name with options: :func:`strategy_config`), over seeds ``0 .. seeds-1``: ``final_test`` (one value per seed, in seed order),
    ``mean``, ``std`` (ddof=1), ``trials`` (mean trials per run), ``wall_seconds`` (of that strategy's
    seeds) and ``trajectories`` (per seed ``{"cost": [...], "reported": [...]}``).

    Every strategy is built (and a bad name or option raises ``UserError``) before any run starts.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UserError(f"workers must be an integer of at least 1, got {workers!r}")
    if seeds < 1:
        raise UserError(f"seeds must be at least 1, got {seeds}")
    configs: dict[str, StudyConfig] = {}
    for strategy in dict.fromkeys(strategies):
        config = strategy_config(base, strategy)
        build_components(config)  # fail fast on a bad name or option
        configs[strategy] = config
    results: dict[str, Any] = {}
    all_runs: dict[str, list[SeedRun]] = {}
    with _SeedRunner(min(workers, seeds)) as runner:
        for strategy, config in configs.items():
            started = time.perf_counter()
            runs = []
            for run in runner.runs(config, range(seeds)):
                runs.append(run)
                if on_done is not None:
                    on_done(strategy, run.seed)
            results[strategy] = summarise(runs, time.perf_counter() - started)
            all_runs[strategy] = runs
    goal = base.goal()
    if goal.multi:
        add_hypervolumes(results, all_runs, goal, base.reference())
    return results


def strategy_config(base: StudyConfig, spec: str) -> StudyConfig:
    """``base`` with the strategy of ``spec``: a name, or ``name:key=value[:key=value ...]`` with its options
    (YAML values; dotted keys nest), e.g. ``optuna:sampler=nsgaii`` or
    ``optuna:sampler=tpe:sampler_options.n_startup_trials=20``; the spec is the strategy's label in the results."""
    name, *pairs = spec.split(":")
    config = StudyConfig.from_mapping({**base.to_dict(), "strategy": name.strip()})
    config.apply_overrides([f"strategy.{pair.strip()}" for pair in pairs])
    return config


def add_hypervolumes(results: dict[str, Any], runs: dict[str, list[SeedRun]], goal: Goal,
                     reference: list[float] | None) -> list[float] | None:
    """Per strategy: ``hypervolume`` (per seed), ``hv_mean``, ``hv_std`` and ``fronts`` (raw values per seed),
    all w.r.t. one reference point: the given one, else the worst value of each objective over every run
    of every strategy (stored as ``reference_point`` in each summary)."""
    from archsearch.core.pareto import hypervolume
    from archsearch.core.pareto import to_losses

    if reference is None:
        worst = np.asarray([run.worst for strategy_runs in runs.values() for run in strategy_runs if run.worst])
        reference = None if worst.size == 0 else [
            float(worst[:, k].min() if o.direction == "max" else worst[:, k].max()) for k, o in enumerate(goal.objectives)]
    for strategy, strategy_runs in runs.items():
        volumes = [0.0 if reference is None or not run.front else
                   hypervolume([to_losses(point, goal) for point in run.front], to_losses(reference, goal))
                   for run in strategy_runs]
        array = np.asarray(volumes)
        results[strategy].update({
            "hypervolume": volumes, "hv_mean": float(array.mean()),
            "hv_std": float(array.std(ddof=1)) if len(volumes) > 1 else 0.0,
            "reference_point": reference, "fronts": [[list(p) for p in run.front] for run in strategy_runs]})
    return reference


def summarise(runs: Sequence[SeedRun], wall_seconds: float) -> dict[str, Any]:
    """The per-strategy summary of ``compare_strategies``."""
    values = [run.final for run in runs]
    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]  # a run without an ok trial (e.g. on a partial table) has no value
    return {"final_test": values, "mean": float(array.mean()) if array.size else math.nan,
            "std": float(array.std(ddof=1)) if array.size > 1 else 0.0, "runs_without_result": len(values) - array.size,
            "trials": float(np.mean([run.trials for run in runs])), "wall_seconds": float(wall_seconds),
            "trajectories": [run.trajectory() for run in runs]}


def table_optimum(config: StudyConfig) -> float | None:
    """The best value of the reported metric in the config's benchmark table (None without one)."""
    if config.benchmark is None:
        return None
    table = load_benchmark(config.benchmark)
    report = Objective.parse(config.report)
    fidelity = config.fidelity if config.fidelity is not None else max(table.fidelities(config.dataset))
    try:
        values = np.asarray(table.column(config.dataset, int(fidelity), report.metric), dtype=float)
    except UserError:
        return None
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    best = values.max() if report.direction == "max" else values.min()
    return float(best) if math.isfinite(best) else None


class _SeedRunner:
    """Runs seeds serially, or in a spawn-context process pool when ``workers > 1`` (results in seed order)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessExecutor | None = None

    def __enter__(self) -> "_SeedRunner":
        if self.workers > 1:
            self._pool = ProcessExecutor(self.workers)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def runs(self, config: StudyConfig, seeds: Sequence[int]) -> Iterator[SeedRun]:
        if self._pool is None:
            return (run_seed(config, seed) for seed in seeds)
        return self._pool.map(run_seed_from_mapping, repeat(config.to_dict()), seeds)
