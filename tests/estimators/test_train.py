"""The train estimator: real (tiny) training on embedded data, seeded trials, failure paths, metrics."""

from __future__ import annotations

import math

import pytest

from archsearch.core.errors import UserError
from archsearch.estimators.train import TrainEstimator, trial_seed
from archsearch.spaces.nb201 import NB201Space

SPACE = NB201Space()
ARCH = SPACE.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
TINY = {"channels": 4, "cells_per_stage": 1}
TIMING = ("train_seconds", "latency_ms", "latency_batch_ms")


def estimator(**options: object) -> TrainEstimator:
    defaults: dict[str, object] = {"net": TINY, "measure": (), "batch_size": 64, "device": "cpu"}
    return TrainEstimator(SPACE, "digits", **{**defaults, **options})


def untimed(metrics: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if k not in TIMING}


def test_one_epoch_on_digits_is_above_chance() -> None:
    result = estimator(fidelity=1).evaluate(ARCH)
    assert result.status == "ok", result.error
    assert result.metrics["valid_acc"] > 30.0 and result.metrics["test_acc"] > 30.0  # chance is 10 %
    assert result.metrics["epochs"] == pytest.approx(1.0)
    assert len(result.curves["valid_acc"]) == 1 and result.curves["valid_acc"][0] == result.metrics["valid_acc"]
    assert result.cost_seconds >= result.metrics["train_seconds"] > 0


def test_a_trial_gives_the_same_result_when_rerun() -> None:
    first = estimator(fidelity=1, seed=3).evaluate(ARCH)
    again = estimator(fidelity=1, seed=3).evaluate(ARCH)
    other = estimator(fidelity=1, seed=4).evaluate(ARCH)
    assert untimed(first.metrics) == untimed(again.metrics) and first.curves == again.curves
    assert untimed(first.metrics) != untimed(other.metrics)
    assert trial_seed(3, ARCH) == trial_seed(3, SPACE.parse(SPACE.format(ARCH))) != trial_seed(4, ARCH)


def test_fidelity_is_epochs_and_learning_curve_grows() -> None:
    result = estimator(fidelity=3).evaluate(ARCH, 2)
    assert result.fidelity == 2 and len(result.curves["valid_acc"]) == 2 and len(result.curves["train_loss"]) == 2


def test_fraction_and_fractional_epochs() -> None:
    result = estimator(fraction=0.25).evaluate(ARCH, 0.5)
    assert result.status == "ok" and result.metrics["epochs"] == pytest.approx(0.5, abs=0.1)


def test_a_huge_learning_rate_fails_the_trial_with_the_reason() -> None:
    result = estimator(fidelity=2, lr=1e12).evaluate(ARCH)
    assert result.status == "failed" and "non-finite loss" in (result.error or "")


def test_the_time_limit_fails_the_trial_with_the_reason() -> None:
    result = estimator(fidelity=5, max_seconds=1e-4).evaluate(ARCH)
    assert result.status == "failed" and "time limit" in (result.error or "")


def test_patience_stops_early() -> None:
    result = estimator(fidelity=30, patience=1, lr=1e-6).evaluate(ARCH)  # no progress at a tiny lr
    assert result.status == "ok" and len(result.curves["valid_acc"]) < 30


def test_model_metrics_are_recorded() -> None:
    result = estimator(fidelity=0.2, measure=("params", "flops", "latency"), latency_batch=8).evaluate(ARCH)
    assert result.metrics["params"] > 0 and result.metrics["flops"] > 0
    assert 0 < result.metrics["latency_ms"] < 1000 and 0 < result.metrics["latency_batch_ms"] < 10_000
    assert set(estimator(measure=("params", "flops", "latency")).metrics()) >= {"params", "flops", "latency_ms"}


@pytest.mark.parametrize("options, message", [
    ({"learning_rate": 0.1}, "unknown option estimator.learning_rate"),
    ({"lr": -1}, "lr"),
    ({"batch_size": 0}, "batch_size"),
    ({"fraction": 1.5}, "fraction"),
    ({"device": "tpu"}, "unknown device"),
    ({"nesterov": "yes"}, "nesterov"),
    ({"net": {"chanels": 8}}, r"unknown net option 'chanels' for space 'nb201' \(did you mean 'channels'\?\)"),
    ({"net": {"channels": "abc"}}, r"estimator train: net.channels='abc' cannot build a network of space 'nb201' \("
                                   "TypeError"),
    ({"net": {"channels": 0}}, "net.channels=0 cannot build a network of space 'nb201' \\(ValueError"),
    ({"net": {"channels": 4, "cells_per_stage": -1}}, "estimator train: net.cells_per_stage=-1 cannot build"),
    ({"epoch": 2}, r"unknown option estimator.epoch for estimator 'train' \(did you mean 'epochs'\?\)"),
    ({"measure": ("params", "energy")}, "unknown measure 'energy'"),
])
def test_bad_options_are_user_errors(options: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        estimator(**options)


def test_unknown_dataset_and_embedded_data_dir_are_user_errors() -> None:
    with pytest.raises(UserError, match="unknown dataset"):
        TrainEstimator(SPACE, "imagenet")
    with pytest.raises(UserError, match="takes no --data-dir"):
        TrainEstimator(SPACE, "digits", data_dir="/tmp")


def test_estimator_pickles_as_its_options() -> None:
    import pickle

    original = estimator(fidelity=1)
    original.data()  # loads tensors; they must not travel
    payload = pickle.dumps(original)
    assert len(payload) < 20_000
    copy = pickle.loads(payload)
    assert untimed(copy.evaluate(ARCH).metrics) == untimed(original.evaluate(ARCH).metrics)
    assert not math.isnan(copy.evaluate(ARCH).metrics["valid_acc"])


def test_processes_executor_gives_the_same_trials_as_serial() -> None:
    from archsearch.config import StudyConfig
    from archsearch.store.memory import InMemoryStore
    from archsearch.study import Study

    def run(executor: str, workers: int) -> dict[str, dict[str, float]]:
        config = StudyConfig.from_mapping({
            "name": executor, "strategy": "random", "estimator": "train", "dataset": "digits", "fidelity": 1,
            "max_trials": 4, "seed": 5, "executor": executor, "workers": workers, "device": "cpu", "threads": 1,
            "estimator_options": {"net": TINY, "measure": ["params", "flops"], "batch_size": 64}})
        study = Study.create(config, InMemoryStore()).run()
        assert study.config.budget_seconds is None and all(t.status == "ok" for t in study.trials)
        return {SPACE.format(SPACE.validate(t.arch)): untimed(t.metrics) for t in study.trials}

    # bit-identical at equal thread counts (a CPU float sum depends on how it is split over threads)
    serial = run("serial", 1)
    parallel = run("processes", 2)
    assert len(serial) == 4 and serial == parallel


@pytest.mark.parametrize("dataset", ["digits", "mnist5k", "mnist1d"])
def test_every_embedded_dataset_trains_an_nb201_network(dataset: str) -> None:
    result = TrainEstimator(SPACE, dataset, net=TINY, measure=("params",), fraction=0.1, batch_size=32,
                            device="cpu").evaluate(ARCH, 0.5)
    assert result.status == "ok", result.error
    assert 0.0 <= result.metrics["valid_acc"] <= 100.0 and result.metrics["params"] > 0


def test_compile_trains_the_same_network_through_torch_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    """``compile=true`` steps through ``torch.compile`` (its graph-capturing front end here: inductor's code
    generation takes minutes on a CPU and is measured in perf/trainer_throughput.py) and trains what eager does."""
    from archsearch.estimators import trainer

    compiled = []
    real_compile = trainer.torch.compile
    monkeypatch.setattr(trainer, "COMPILE_BACKEND", "eager")
    monkeypatch.setattr(trainer.torch, "compile", lambda model, **kw: compiled.append(kw) or real_compile(model, **kw))
    eager = estimator(fidelity=1, seed=3).evaluate(ARCH)
    result = estimator(fidelity=1, seed=3, compile=True).evaluate(ARCH)
    assert compiled == [{"backend": "eager"}]
    assert result.status == "ok", result.error
    assert result.metrics["valid_acc"] == pytest.approx(eager.metrics["valid_acc"], abs=2.0)
    assert result.metrics["train_loss"] == pytest.approx(eager.metrics["train_loss"], rel=0.05)
