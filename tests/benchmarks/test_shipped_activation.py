"""archsearch's own table ``activation-mnist1d`` ships in the package: every one-unit activation function with
two seeds, the guard's rejections as failed rows, searchable by name, and its rows reproduced by a fresh
evaluation with the same estimator and seed."""

from __future__ import annotations

import math

import pytest
import torch

from archsearch.benchmarks import load_benchmark
from archsearch.benchmarks.shipped import ACTIVATION_MNIST1D_EPOCHS
from archsearch.config import StudyConfig
from archsearch.estimators.activation import ActivationEstimator
from archsearch.spaces.activation import ActivationSpace
from archsearch.store.memory import InMemoryStore
from archsearch.study import Study

SPACE = ActivationSpace()
SWISH, RELU, CONSTANT = "sigmoid_mul(beta_mul(x), x(x))", "max(x(x), zero(x))", "sub(x(x), x(x))"


@pytest.fixture(scope="module")
def table():
    return load_benchmark("activation-mnist1d")


def test_it_holds_every_function_with_two_seeds(table) -> None:
    meta = table.meta
    assert (meta.space, meta.dataset, meta.fidelities, meta.missing) == ("activation", "mnist1d", (3.0,), "fail")
    assert len(table) == table.rows(3) == 27 * 27 * 9 and (meta.objective, meta.report) == ("valid_acc_mean",
                                                                                          "test_acc_mean")
    swish = table.query(SPACE.parse(SWISH), "mnist1d", 3)
    assert swish["valid_acc_mean"] == pytest.approx((swish["valid_acc"] + swish["valid_acc_seed1"]) / 2)
    assert table.failure(SPACE.parse(CONSTANT), "mnist1d", 3) == "numerical guard: constant output"
    assert 0 < table.failures(3) < len(table) // 4
    assert math.isnan(table.query(SPACE.parse(CONSTANT), "mnist1d", 3)["valid_acc_mean"])


def test_a_search_of_it_by_name_meets_the_guard_as_a_real_search_does() -> None:
    config = StudyConfig.from_mapping({"benchmark": "activation-mnist1d", "strategy": "random", "max_trials": 200})
    study = Study.create(config, InMemoryStore()).run()
    assert study.config.space == "activation" and study.config.report == "test_acc_mean:max"
    failed = [t for t in study.trials if t.status == "failed"]
    assert len(study.trials) == 200 and failed and all(t.error.startswith("numerical guard") for t in failed)
    assert study.best.metrics["valid_acc_mean"] > 40


@pytest.mark.parametrize("arch", [SWISH, RELU])
def test_its_rows_match_a_fresh_evaluation(table, arch: str) -> None:
    """Seed 0's columns are what the activation estimator with study seed 0 gives (one thread, as built)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = ActivationEstimator(SPACE, "mnist1d", epochs=ACTIVATION_MNIST1D_EPOCHS, seed=0).evaluate(
            SPACE.parse(arch))
    finally:
        torch.set_num_threads(threads)
    row = table.query(SPACE.parse(arch), "mnist1d", 3)
    assert result.metric("valid_acc") == pytest.approx(row["valid_acc"], abs=0.5)  # 2 of 400 examples
    assert result.metric("test_acc") == pytest.approx(row["test_acc"], abs=0.3)
