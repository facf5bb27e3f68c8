"""One test body over every registered estimator (as spaces and strategies have theirs), each made the way a
study makes it (``build_components``) at a tiny size: a Result with the declared metrics at each offered
fidelity, cost >= 0, the same metrics for the same seed in a fresh estimator, and the same after pickling
(worker processes receive estimators by pickle); an evaluation it cannot do is a ``failed`` trial with the reason,
whether ``evaluate`` returns it so or raises (the study's scheduler records what it raised as the reason)."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

from archsearch.config import StudyConfig
from archsearch.core.arch import Arch
from archsearch.core.estimator import Estimator
from archsearch.core.registry import ESTIMATORS
from archsearch.core.result import Result
from archsearch.core.strategy import TrialRequest
from archsearch.execution.serial import SerialExecutor
from archsearch.study import build_components
from archsearch.study.scheduler import Flight, Scheduler

TINY_NET = {"channels": 4, "cells_per_stage": 1}
CONFIGS: dict[str, dict[str, Any]] = {
    "tabular": {},
    "train": {"dataset": "digits", "fidelity": 0.3, "device": "cpu",
              "estimator_options": {"net": TINY_NET, "measure": ["params"], "batch_size": 64}},
    "activation": {"space": "activation", "dataset": "mnist1d", "fidelity": 1, "benchmark": None,
                   "estimator_options": {"batch_size": 64, "device": "cpu", "fraction": 0.2}},
    "zero-cost": {"dataset": "digits", "benchmark": None, "device": "cpu", "objective": "synflow:max",
                  "report": "synflow:max", "estimator_options": {"net": TINY_NET, "batch_size": 16}},
    "nb301": {"space": "darts", "benchmark": None, "objective": "valid_acc:max", "report": "valid_acc:max"},
}
TIMED = ("_seconds", "latency")  # measured wall-clock metrics differ from run to run by nature
ARCHS = {"activation": "sigmoid_mul(beta_mul(x), x(x))"}  # a function that trains (most random ones do not)
FOREIGN = Arch({"not_a_dim": "x"})  # an arch of no space: no estimator can build or look it up
UNEVALUABLE = {"activation": "sub(x(x), x(x))"}  # an arch of the space it fails: constant, the numerical guard


def test_every_registered_estimator_has_a_contract_config() -> None:
    assert set(ESTIMATORS.names()) == set(CONFIGS)


def make(name: str) -> Any:
    try:
        config = StudyConfig.from_mapping({"name": name, "estimator": name, "max_trials": 1, "benchmark": "nb201",
                                           **CONFIGS[name]})
        return build_components(config)
    except Exception as exc:  # an optional extra missing (onnxruntime for nb301)
        if "pip install" in str(exc):
            pytest.skip(str(exc))
        raise


def untimed(metrics: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if not any(mark in k for mark in TIMED)}


@pytest.fixture(params=sorted(CONFIGS))
def components(request: pytest.FixtureRequest) -> Any:
    return make(request.param)


def _arch(components: Any) -> Any:
    text = ARCHS.get(components.estimator.name)
    return components.space.parse(text) if text else components.space.sample(np.random.default_rng(0))


def test_results_carry_the_declared_metrics_at_every_offered_fidelity(components: Any) -> None:
    estimator, arch = components.estimator, _arch(components)
    for fidelity in (estimator.fidelities() or (None,))[:2]:  # the two cheapest rungs
        result = estimator.evaluate(arch, fidelity)
        assert result.status == "ok", result.error
        assert set(estimator.metric_names(fidelity)) <= set(result.metrics), fidelity
        assert result.cost_seconds >= 0.0 and result.arch == arch


def test_the_same_seed_gives_the_same_metrics_also_after_pickling(components: Any) -> None:
    estimator, arch = components.estimator, _arch(components)
    first = estimator.evaluate(arch).metrics
    again = make(estimator.name).estimator.evaluate(arch).metrics
    unpickled = pickle.loads(pickle.dumps(estimator)).evaluate(arch).metrics
    assert untimed(first) == untimed(again) == untimed(unpickled)


def recorded(estimator: Estimator, arch: Arch, fidelity: float | None = None) -> Result:
    """The trial the study records: ``evaluate``'s result, or the failed one the scheduler makes of what it raised."""
    scheduler = Scheduler(SerialExecutor(), estimator.evaluate, None, None, 0)
    scheduler.submit_all([Flight(TrialRequest(arch, fidelity))])
    return scheduler.next_result()[1]  # type: ignore[return-value]


def test_an_arch_it_cannot_evaluate_is_a_failed_trial_with_the_reason(components: Any) -> None:
    estimator = components.estimator
    archs = [FOREIGN, *([components.space.parse(UNEVALUABLE[estimator.name])] if estimator.name in UNEVALUABLE else [])]
    for arch in archs:
        result = recorded(estimator, arch)
        assert result.status == "failed" and result.error, result
        assert result.arch == arch and result.cost_seconds >= 0.0


def test_a_fidelity_it_does_not_offer_is_a_failed_trial_with_the_reason(components: Any) -> None:
    estimator = components.estimator
    if not estimator.fidelities():
        pytest.skip(f"estimator {estimator.name!r} offers any fidelity")
    beyond = max(estimator.fidelities()) + 1
    result = recorded(estimator, _arch(components), beyond)
    assert result.status == "failed" and "fidelity" in (result.error or ""), result
    assert result.fidelity == beyond


@pytest.mark.parametrize("name", ESTIMATORS.names())
def test_a_factory_that_takes_any_option_names_the_study_context(name: str) -> None:
    """A study passes its seed, device, ... only to the parameters a factory names (``**options`` receives
    nothing of the context); an estimator that forwarded them through ``**options`` trained every seed alike."""
    import inspect

    parameters = inspect.signature(ESTIMATORS.load(name)).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    assert {"seed", "device", "data_dir", "download", "dataset", "fidelity"} <= set(parameters)
