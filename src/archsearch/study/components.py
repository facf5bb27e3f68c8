"""A study's components: the space, strategy, estimator and goal a validated config names, the metric checks
that make a search fail before it starts, the one-shot engine with its memory check, and each trial's thread count.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from archsearch.benchmarks import load_benchmark
from archsearch.config import StudyConfig
from archsearch.core.options import check_options
from archsearch.core.errors import UserError
from archsearch.core.estimator import Estimator
from archsearch.core.objectives import Goal, Objective
from archsearch.core.registry import ESTIMATORS, STRATEGIES
from archsearch.core.space import SearchSpace
from archsearch.core.strategy import Strategy
from archsearch.core.threads import ThreadPolicy, trial_threads
from archsearch.spaces import space_from_config


@dataclass
class Components:
    space: SearchSpace
    strategy: Strategy
    estimator: Estimator
    goal: Goal  # objectives, constraints, reward
    report: Objective
    fidelities: tuple[float, ...] = ()  # the ladder offered to multi-fidelity strategies

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return self.goal.objectives

    def bind_strategy(self, seed: int) -> None:
        self.strategy.bind(self.space, self.goal, np.random.default_rng(seed), self.fidelities)


def build_components(config: StudyConfig) -> Components:
    """Space, strategy, estimator and objectives from a validated config (UserError when they clash)."""
    config.validate()
    space = space_from_config(config)
    strategy = STRATEGIES.create(config.strategy, **config.strategy_options)
    if config.benchmark is not None:
        benchmark_space = getattr(load_benchmark(config.benchmark), "space_name", config.space)
        if benchmark_space != config.space:
            raise UserError(f"benchmark {config.benchmark!r} tabulates space {benchmark_space!r}, not {config.space!r}")
    estimator = _create_estimator(config, space)
    space = estimator.search_space(space)  # e.g. a partial table's archs only
    goal, report = config.goal(), Objective.parse(config.report)
    _check_metrics(estimator, config.fidelity, [*goal.metrics(), report.metric])
    return Components(space, strategy, estimator, goal, report, _fidelity_ladder(estimator, goal))


def _fidelity_ladder(estimator: Estimator, goal: Goal) -> tuple[float, ...]:
    """The estimator's fidelities at which every metric of the goal is available."""
    ladder = [float(f) for f in estimator.fidelities()
              if all(metric in _available_metrics(estimator, f) for metric in goal.metrics())]
    return tuple(sorted(ladder))


def _available_metrics(estimator: Estimator, fidelity: float | None) -> tuple[str, ...]:
    """The metrics an estimator's results carry at ``fidelity`` (empty: unknown)."""
    return tuple(estimator.metric_names(fidelity))


def _create_estimator(config: StudyConfig, space: SearchSpace) -> Estimator:
    factory = ESTIMATORS.load(config.estimator)
    check_options("estimator", config.estimator, factory, config.estimator_options)
    context = {"benchmark": config.benchmark, "dataset": config.dataset, "fidelity": config.fidelity, "space": space,
               "seed": config.seed, "device": config.device, "data_dir": config.data_dir,
               "download": config.download}
    accepted = inspect.signature(factory).parameters
    kwargs = {k: v for k, v in context.items() if k in accepted and v is not None}
    return factory(**{**kwargs, **config.estimator_options})  # an estimator option (estimator.device) wins


def _check_metrics(estimator: Estimator, fidelity: float | None, metrics: Sequence[str]) -> None:
    available = _available_metrics(estimator, fidelity)
    if not available:
        return
    for metric in metrics:
        if metric not in available:
            raise UserError(f"metric {metric!r} is not available from estimator {estimator.name!r} "
                            f"at fidelity {fidelity}; available: {', '.join(available)}")


def is_one_shot(strategy: Strategy) -> bool:
    return "supernet" in strategy.requires


def record_threads(config: StudyConfig, components: Components) -> ThreadPolicy | None:
    """Each trial's thread count, chosen by the thread policy and recorded in the config (a resume trains
    with the same count); None when the config fixes it or Ray tasks take their CPUs' count."""
    trains = components.estimator.uses_threads or is_one_shot(components.strategy)
    policy = trial_threads(config.threads, config.executor, config.workers, trains)
    if policy is not None and policy.enabled:
        config.threads = policy.intra_op
    return policy


def one_shot_engine(config: StudyConfig, components: Components) -> Any:
    """The one-shot engine of a study, its peak memory estimated; UserError above ``config.max_memory``."""
    from archsearch.core.options import parse_memory
    from archsearch.estimators.supernet import OneShotSearch

    strategy = components.strategy
    engine = OneShotSearch(components.space, strategy, config.dataset, seed=config.seed, device=config.device,
                           data_dir=config.data_dir, download=config.download)
    engine.memory = estimate = engine.memory_estimate()
    limit = None if config.max_memory is None else parse_memory(config.max_memory)
    if limit is not None and estimate.total_mib > limit:
        raise UserError(f"the one-shot search needs about {estimate.total_mib:.0f} MiB, over --max-memory "
                        f"{limit:.0f} MiB: lower strategy.batch_size (now {strategy.recipe.batch_size}) or the "
                        f"supernet (strategy.net.channels, cells), or raise --max-memory")
    return engine
