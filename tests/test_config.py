"""StudyConfig: the defaults each registry entry carries fill the keys not set explicitly (space, then
estimator, then benchmark), a trial budget given alone replaces the time budget, and config keys are checked
with one-line errors."""

from __future__ import annotations

import pytest

from archsearch.config import StudyConfig
from archsearch.core.errors import UserError
from archsearch.core.registry import ESTIMATORS, TRAINING_DEFAULTS


def finished(**keys: object) -> StudyConfig:
    config = StudyConfig.from_mapping(keys)
    config.finish_budget()
    return config


def test_the_tabular_defaults_are_the_nb201_protocol() -> None:
    config = finished()
    assert (config.benchmark, config.dataset, config.fidelity, config.budget_seconds, config.report) == (
        "nb201", "cifar10", 12, 12_000.0, "final_test_acc")


def test_a_training_estimator_brings_its_defaults_and_explicit_keys_win() -> None:
    config = finished(estimator="train", dataset="digits")
    assert (config.benchmark, config.fidelity, config.budget_seconds, config.report) == (None, None, 600.0, "test_acc")
    assert config.dataset == "digits"


def test_a_trial_budget_given_alone_replaces_the_time_budget() -> None:
    assert finished(estimator="train", max_trials=5).budget_seconds is None
    assert finished(estimator="train", max_trials=5, budget_seconds=30).budget_seconds == 30


def test_the_space_chooses_its_estimator_and_the_estimator_its_dataset() -> None:
    config = finished(space="activation")
    assert (config.estimator, config.dataset, config.benchmark) == ("activation", "mnist1d", None)


def test_nb101_searches_its_partial_table_with_a_trial_budget() -> None:
    config = finished(space="nb101")
    assert (config.benchmark, config.fidelity, config.report, config.max_trials, config.budget_seconds) == (
        "nb101-zc500", 108, "valid_acc", 100, None)
    assert finished(space="nb101", estimator="train").benchmark is None


def test_nb301_takes_the_darts_space_without_none() -> None:
    config = finished(estimator="nb301")
    assert (config.space, config.space_options, config.benchmark, config.report) == (
        "darts", {"none_op": False}, None, "final_valid_acc")
    assert finished(estimator="nb301", space_options={"none_op": True}).space_options == {"none_op": True}


def test_an_estimator_without_declared_defaults_is_taken_to_train(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ESTIMATORS._entries, "mine", ESTIMATORS._entries["train"].__class__(
        "mine", "archsearch.estimators.train:TrainEstimator", "a user's estimator"))
    config = finished(estimator="mine")
    assert {key: getattr(config, key) for key in TRAINING_DEFAULTS} == TRAINING_DEFAULTS


@pytest.mark.parametrize("keys, message", [
    ({"seed": 1.5}, "seed must be an integer"),
    ({"max_trials": 0}, "max_trials must be at least 1"),
    ({"budget_seconds": -1}, "budget_seconds must be positive"),
    ({"fidelity": "high"}, "fidelity must be a number"),
    ({"gpus_per_trial": -1, "executor": "ray"}, "gpus_per_trial must be a number >= 0"),
    ({"threads": 0}, "threads must be at least 1"),
])
def test_bad_keys_are_one_line_user_errors(keys: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        StudyConfig.from_mapping(keys).validate()


def test_whole_floats_are_counts() -> None:
    config = StudyConfig.from_mapping({"max_trials": 20.0, "seed": 3.0})
    config.validate()
    assert (config.max_trials, config.seed) == (20, 3)
    assert isinstance(config.max_trials, int)


def test_a_trial_budget_alone_means_no_time_budget_in_the_python_api() -> None:
    """The default 12,000 s table budget stops a tabular search at about 100 trials: ``max_trials`` alone must not."""
    from archsearch.store.memory import InMemoryStore
    from archsearch.study import Study

    study = Study.create(StudyConfig.from_mapping({"max_trials": 150}), InMemoryStore())
    study.run()
    assert len(study.trials) == 150 and study.config.budget_seconds is None
    constructed = StudyConfig(max_trials=7)
    constructed.validate()
    assert constructed.budget_seconds is None
    both = StudyConfig.from_mapping({"max_trials": 7, "budget_seconds": 500})
    both.validate()
    assert both.budget_seconds == 500.0


@pytest.mark.parametrize("keys, message", [
    ({"device": "tpu"}, "unknown device 'tpu'"),  # the tabular estimator never resolves its device
    ({"device": "cuda:x"}, "unknown device 'cuda:x'"),
    ({"constraint": ","}, "constraint ',' has an empty part"),
    ({"constraint": "params<=2e6,"}, "has an empty part"),
    ({"constraint": ""}, "has an empty part"),
    ({"constraint": ["params<=2e6", ""]}, "has an empty part"),
])
def test_bad_device_and_empty_constraints_are_user_errors(keys: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        StudyConfig.from_mapping({"max_trials": 3, **keys}).validate()


def test_a_stored_empty_constraint_still_reads_as_no_constraint() -> None:
    assert StudyConfig.from_mapping({"constraint": ","}).goal().constraints == ()


def test_unknown_key_suggests_the_closest() -> None:
    with pytest.raises(UserError, match=r"unknown config key 'max_trial' \(did you mean 'max_trials'\?\)"):
        StudyConfig.from_mapping({"max_trial": 5})
    with pytest.raises(UserError, match=r"unknown option strategy.populaton_size .*did you mean 'population_size'"):
        StudyConfig.from_mapping({"max_trials": 3, "strategy.populaton_size": 5}).validate()


def test_an_unknown_dataset_is_refused_before_torch_is_imported() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom archsearch.config import StudyConfig\nfrom archsearch.core.errors import UserError\n"
            "config = StudyConfig.from_mapping({'estimator': 'train', 'dataset': 'mnist', 'max_trials': 1})\n"
            "try:\n    config.validate()\nexcept UserError as exc:\n    print(exc)\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "unknown dataset 'mnist' (did you mean 'mnist5k'?)" in out and out.splitlines()[-1] == "False", out
