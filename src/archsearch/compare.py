"""Comparing strategies over many seeds under one protocol (e.g. the NAS-Bench-201 paper's:
12-epoch validation accuracy as the objective, 12,000 simulated seconds on CIFAR-10, the 200-epoch
test accuracy of the best arch reported; Dong & Yang, ICLR 2020, Table 5). Runs in memory: nothing
is stored.

Each run also records its anytime trajectory: after every trial, the cumulative (simulated) cost and
the reported metric of the best arch so far by the objective (the Study's own incremental best), which
``archsearch.report.curves`` turns into anytime curves. Seeds may run in worker processes
(``workers > 1``) or as Ray tasks on a cluster (``executor="ray"``, issue 27; a run whose worker or node was lost
runs again, up to ``SEED_RETRIES`` times); every run depends only on its config and seed, so the results equal the
serial ones. ``compare_stored`` summarises studies already in a store (e.g. many drivers' studies in one
PostgreSQL database) the same way, one run per experiment, grouped by strategy.
"""

from __future__ import annotations

import logging
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
from archsearch.execution import WorkerLost
from archsearch.execution.processes import ProcessExecutor
from archsearch.store.memory import InMemoryStore
from archsearch.store.base import ExperimentRecord, Store, TrialRecord, stored_result
from archsearch.study import Progress, Study, build_components
from archsearch.study.records import trial_score

SEED_EXECUTORS = ("processes", "ray")
SEED_RETRIES = 2  # re-runs of a seed whose worker (or Ray node) was lost
PROTOCOL_KEYS = ("space", "benchmark", "table", "dataset", "fidelity", "objective", "constraint", "reward", "report")


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
    front, worst = _front(study.trials, study.components.goal)
    return SeedRun(seed, study.reported_value(), tuple(cost), tuple(reported), front, worst)


def _front(trials: Sequence[TrialRecord], goal: Goal) -> tuple[tuple[tuple[float, ...], ...], tuple[float, ...]]:
    """Multi-objective: the raw values of the feasible front of ``trials`` and the worst value of each objective."""
    if not goal.multi:
        return (), ()
    from archsearch.core.pareto import front_indices, raw_values, worst_reference

    results = [stored_result(t) for t in trials]
    front = tuple(tuple(raw_values(results[i], goal)) for i in front_indices(results, goal))
    return front, tuple(worst_reference(results, goal) or ())


def stored_run(experiment: ExperimentRecord, trials: Sequence[TrialRecord]) -> SeedRun:
    """The ``SeedRun`` of a stored study, as ``run_seed`` records it: per trial the cumulative cost and the reported
    metric of the best trial so far by the goal (the earliest on ties)."""
    config = StudyConfig.from_mapping(experiment.config)
    goal, report = config.goal(), Objective.parse(config.report).metric
    best: TrialRecord | None = None
    best_score, spent, cost, reported = -math.inf, 0.0, [], []
    for trial in trials:
        spent += trial.cost
        score = trial_score(trial, goal)
        if score > best_score:
            best, best_score = trial, score
        cost.append(spent)
        reported.append(math.nan if best is None else float(best.metrics.get(report, math.nan)))
    front, worst = _front(trials, goal)
    return SeedRun(experiment.seed, reported[-1] if reported else math.nan, tuple(cost), tuple(reported), front, worst)


def compare_stored(store: Store, names: Sequence[str] | None = None) -> tuple[StudyConfig, dict[str, Any]]:
    """The studies ``names`` of ``store`` (default: all) summarised as ``compare_strategies`` does, one run per
    study, grouped by strategy (runs in seed order); they must share a protocol (``PROTOCOL_KEYS``). Returns the
    config of the first study (the protocol) and the results."""
    experiments = [store.get_experiment(name) for name in names] if names else store.experiments()
    if not experiments:
        raise UserError("the store has no experiments to compare")
    first = experiments[0]
    for experiment in experiments[1:]:
        for key in PROTOCOL_KEYS:
            if experiment.config.get(key) != first.config.get(key):
                raise UserError(f"experiments {first.name!r} and {experiment.name!r} differ in {key} "
                                f"({first.config.get(key)!r} vs {experiment.config.get(key)!r}): compare studies "
                                "of one protocol (name them after --experiments)")
    groups: dict[str, list[tuple[SeedRun, float]]] = {}
    for experiment in experiments:
        run = stored_run(experiment, store.trials(experiment.id))
        groups.setdefault(str(experiment.config.get("strategy")), []).append((run, experiment.updated - experiment.created))
    results, all_runs = {}, {}
    for strategy, pairs in groups.items():
        runs = sorted((run for run, _ in pairs), key=lambda run: run.seed)
        results[strategy], all_runs[strategy] = summarise(runs, sum(wall for _, wall in pairs)), runs
    base = StudyConfig.from_mapping(first.config)
    if base.goal().multi:
        add_hypervolumes(results, all_runs, base.goal(), base.reference())
    return base, results


def run_seed_from_mapping(config: dict[str, Any], seed: int) -> SeedRun:
    """``run_seed`` for a worker process: the config travels as a plain dict (spawn-safe)."""
    return run_seed(StudyConfig.from_mapping(config), seed)


def compare_strategies(base: StudyConfig, strategies: Sequence[str], seeds: int,
                       on_done: Callable[[str, int], None] | None = None, workers: int = 1,
                       executor: str = "processes", address: str | None = None) -> dict[str, Any]:
    """Per strategy (a name, or a name with options: :func:`strategy_config`), over seeds ``0 .. seeds-1``: ``final_test`` (one value per seed, in seed order),
    ``mean``, ``std`` (ddof=1), ``trials`` (mean trials per run), ``wall_seconds`` (of that strategy's
    seeds) and ``trajectories`` (per seed ``{"cost": [...], "reported": [...]}``). Seeds run in ``workers``
    processes, or with ``executor="ray"`` as ``workers`` Ray tasks at a time on the cluster at ``address`` (None:
    a local Ray); each seed's study itself runs serially.

    Every strategy is built (and a bad name or option raises ``UserError``) before any run starts.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UserError(f"workers must be an integer of at least 1, got {workers!r}")
    if seeds < 1:
        raise UserError(f"seeds must be at least 1, got {seeds}")
    if executor not in SEED_EXECUTORS:
        raise UserError(f"unknown executor {executor!r} for the seeds; choose from: {', '.join(SEED_EXECUTORS)}")
    configs: dict[str, StudyConfig] = {}
    for strategy in dict.fromkeys(strategies):
        config = strategy_config(base, strategy)
        build_components(config)  # fail fast on a bad name or option
        configs[strategy] = config
    results: dict[str, Any] = {}
    all_runs: dict[str, list[SeedRun]] = {}
    with _SeedRunner(min(workers, seeds), executor, address) as runner:
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
    """Runs seeds serially, in a spawn-context process pool when ``workers > 1``, or as Ray tasks (results in seed
    order either way)."""

    def __init__(self, workers: int, executor: str = "processes", address: str | None = None) -> None:
        self.workers, self.executor, self.address = workers, executor, address
        self._pool: Any = None

    def __enter__(self) -> "_SeedRunner":
        if self.executor == "ray":
            from archsearch.execution.ray import RayExecutor

            self._pool = RayExecutor(self.workers, address=self.address)
        elif self.workers > 1:
            self._pool = ProcessExecutor(self.workers)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def runs(self, config: StudyConfig, seeds: Sequence[int]) -> Iterator[SeedRun]:
        if self._pool is None:
            return (run_seed(config, seed) for seed in seeds)
        if self.executor != "ray":
            return self._pool.map(run_seed_from_mapping, repeat(config.to_dict()), seeds)
        return self._tasks(config.to_dict(), list(seeds))

    def _tasks(self, mapping: dict[str, Any], seeds: list[int]) -> Iterator[SeedRun]:
        """Every seed submitted at once (Ray runs as many at a time as the cluster's CPUs allow); a seed whose
        worker or node was lost runs again, up to ``SEED_RETRIES`` times: a lost node costs only its runs."""
        futures = {seed: self._pool.submit(run_seed_from_mapping, mapping, seed) for seed in seeds}
        for seed in seeds:
            for attempt in range(SEED_RETRIES + 1):
                try:
                    yield futures[seed].result()
                    break
                except WorkerLost as exc:
                    if attempt == SEED_RETRIES:
                        raise UserError(f"seed {seed} lost its worker {SEED_RETRIES + 1} times ({exc})") from None
                    logging.getLogger(__name__).warning("seed %d lost its worker (%s); running it again", seed, exc)
                    futures[seed] = self._pool.submit(run_seed_from_mapping, mapping, seed)
