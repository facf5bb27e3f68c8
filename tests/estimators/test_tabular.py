"""TabularEstimator over NAS-Bench-201: results, costs, fidelities, errors, pickling."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.registry import ESTIMATORS
from archsearch.estimators.tabular import TabularEstimator
from archsearch.spaces.nb201 import NB201Space

RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"


def test_evaluate_returns_ok_results_with_cost():
    estimator = TabularEstimator()
    space = NB201Space()
    rng = np.random.default_rng(0)
    for _ in range(200):
        result = estimator.evaluate(space.sample(rng))
        assert result.ok and result.error is None
        assert result.cost_seconds > 0
        assert result.fidelity == 12
        assert tuple(result.metrics) == estimator.metrics()


def test_known_result_and_fidelities():
    estimator = TabularEstimator("nb201", dataset="cifar10", fidelity=200)
    resnet = NB201Space().parse(RESNET)
    result = estimator.evaluate(resnet)
    assert result.fidelity == 200
    assert result.metric("final_test_acc") == pytest.approx(93.91, abs=1e-3)  # nats_bench.csv row 11472
    assert result.cost_seconds == pytest.approx(7.601139903 * 200, rel=1e-6)  # cifar10_avg.csv row 11472
    low = estimator.evaluate(resnet, fidelity=12)
    assert low.fidelity == 12 and low.cost_seconds == pytest.approx(7.601139903 * 12, rel=1e-6)
    assert low.metric("final_test_acc") == result.metric("final_test_acc")
    assert estimator.fidelities() == (12, 200)


def test_metric_names_per_fidelity():
    estimator = TabularEstimator(dataset="cifar100")
    assert estimator.fidelity == 12
    assert "valid_acc" in estimator.metrics()
    assert estimator.metric_names(200) == ("test_acc", "final_test_acc", "train_seconds", "params", "flops")
    result = estimator.evaluate(NB201Space().parse(RESNET), fidelity=200)
    assert result.ok and np.isnan(result.metric("valid_acc"))


def test_results_carry_params_and_flops():
    resnet = NB201Space().parse(RESNET)
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        for fidelity in (12, 200):
            estimator = TabularEstimator(dataset=dataset, fidelity=fidelity)
            result = estimator.evaluate(resnet)
            assert {"params", "flops"} <= set(estimator.metrics()) and {"params", "flops"} <= set(result.metrics)
            assert result.metric("params") > 0 and result.metric("flops") > 0
    c10 = TabularEstimator(dataset="cifar10").evaluate(resnet)
    # ResNet cell: 2 nor_conv_3x3 edges; 2 x 35,389,440 multiply-adds and 2 x 243,040 parameters over the all-none net
    assert c10.metric("params") == 73_306 + 2 * 243_040
    assert c10.metric("flops") == 7_783_040 + 2 * 35_389_440
    assert type(c10.metrics["flops"]) is float and type(c10.metrics["params"]) is float  # raw counts, as TrainEstimator


def test_describe_and_registry():
    estimator = ESTIMATORS.create("tabular", dataset="ImageNet16-120", fidelity=200)
    assert isinstance(estimator, TabularEstimator)
    info = estimator.describe()
    assert info["estimator"] == "tabular" and info["benchmark"] == "nb201"
    assert info["dataset"] == "ImageNet16-120" and info["fidelity"] == 200 and info["fidelities"] == [12, 200]


def test_user_errors():
    with pytest.raises(UserError, match="cifar10, cifar100, ImageNet16-120"):
        TabularEstimator(dataset="imagenet")
    with pytest.raises(UserError, match="12, 200"):
        TabularEstimator(fidelity=108)
    with pytest.raises(UserError, match="choose from"):
        TabularEstimator(benchmark="nb101")
    with pytest.raises(UserError, match="12, 200"):
        TabularEstimator().evaluate(NB201Space().parse(RESNET), fidelity=50)


def test_arch_not_in_table_fails_softly():
    estimator = TabularEstimator()
    result = estimator.evaluate(Arch({"layers": 3}))
    assert result.status == "failed" and not result.ok
    assert "NAS-Bench-201" in result.error
    assert result.metrics == {}


def test_pickles_by_name():
    estimator = TabularEstimator(dataset="cifar100", fidelity=200)
    payload = pickle.dumps(estimator)
    assert len(payload) < 1_000
    copy = pickle.loads(payload)
    assert copy.benchmark is estimator.benchmark and copy.describe() == estimator.describe()


def test_hot_path_is_cheap():
    estimator = TabularEstimator()
    space = NB201Space()
    archs = [estimator.benchmark.arch_at(i) for i in range(0, 15_625, 7)]
    start = time.perf_counter()
    for arch in archs:
        estimator.evaluate(arch)
    per_call = (time.perf_counter() - start) / len(archs)
    assert per_call < 200e-6  # ~5 us measured; 20,000 calls well under a second
    assert space.is_valid(archs[0])
