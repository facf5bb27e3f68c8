"""One test body over every registered estimator (as spaces and strategies have theirs), each made the way a
study makes it (``build_components``) at a tiny size: a Result with the declared metrics at each offered
fidelity, cost >= 0, the same metrics for the same seed in a fresh estimator, and the same after pickling
(worker processes receive estimators by pickle)."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

from archsearch.config import StudyConfig
from archsearch.core.registry import ESTIMATORS
from archsearch.study import build_components

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
