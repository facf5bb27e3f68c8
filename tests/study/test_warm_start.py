"""Warm start across datasets: another stored study as the prior of a new search (same space)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from archsearch.cli.main import main
from archsearch.core.arch import Arch
from archsearch.config import StudyConfig
from archsearch.core.errors import UserError
from archsearch.store.sqlite import SQLiteStore
from archsearch.study import Progress, Study
from archsearch.study.warm_start import load_prior


def config(**overrides: object) -> StudyConfig:
    base = {"name": "t", "dataset": "cifar100", "max_trials": 20, "budget_seconds": None, "seed": 1}
    return StudyConfig.from_mapping({**base, **overrides})


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "runs.db")
    Study.create(config(name="source", dataset="cifar10", max_trials=40, strategy="reinforce"), store).run()
    return store


def source_best(store: SQLiteStore, top: int) -> list[dict]:
    trials = store.trials(store.get_experiment("source").id)
    ranked = sorted(trials, key=lambda t: -t.metrics["valid_acc"])
    seen: list[dict] = []
    for trial in ranked:
        if trial.arch not in seen:
            seen.append(trial.arch)
    return seen[:top]


def test_evolution_evaluates_the_source_best_first(store: SQLiteStore) -> None:
    study = Study.create(config(strategy="regularized-evolution", warm_start="source", warm_start_top=5), store).run()
    assert [t.arch for t in study.trials[:5]] == source_best(store, 5)
    assert all(t.metrics["valid_acc"] < 80 for t in study.trials[:5])  # re-evaluated on CIFAR-100, not copied
    cold = Study.create(config(name="cold", strategy="regularized-evolution"), store).run()
    assert [t.arch for t in cold.trials[:5]] != source_best(store, 5)


def test_reinforce_starts_from_the_source_policy(store: SQLiteStore) -> None:
    study = Study.create(config(strategy="reinforce", warm_start="source"), store)
    strategy = study.components.strategy
    message = strategy.use_prior(load_prior(study.config, store, strategy))
    source_state = store.checkpoint(store.get_experiment("source").id).state
    from archsearch.strategies.reinforce import _unpack

    for name, tensor in strategy.policy.state_dict().items():
        assert torch.equal(tensor, _unpack(source_state["policy"][name]))
    assert "final policy" in message


def test_bananas_trains_its_predictor_on_the_prior(store: SQLiteStore) -> None:
    study = Study.create(config(strategy="bananas", warm_start="source", max_trials=12,
                                strategy_options={"epochs": 10, "members": 2, "candidates": 20,
                                                  "random_candidates": 5}), store).run()
    strategy = study.components.strategy
    prior = strategy._prior
    assert len(prior) >= 10 and all(Arch(a) in prior for a in source_best(store, 10))
    told = [a for a in strategy._history]
    mapped = strategy._rescaled_prior(told)
    own = [strategy._history[a] for a in told]
    assert abs(sum(mapped.values()) / len(mapped) - sum(own) / len(own)) < 15  # on the target's scale
    assert "prior" in strategy.state_dict()


def test_resume_of_a_warm_started_study_equals_the_uninterrupted_one(store: SQLiteStore, tmp_path: Path) -> None:
    whole = Study.create(config(name="whole", strategy="regularized-evolution", warm_start="source"), store).run()

    def stop(progress: Progress) -> None:
        if progress.trials == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Study.create(config(name="cut", strategy="regularized-evolution", warm_start="source"), store).run(on_trial=stop)
    resumed = Study.resume("cut", store).run()
    assert [t.arch for t in resumed.trials] == [t.arch for t in whole.trials]


@pytest.mark.parametrize("overrides, expected", [
    ({"strategy": "hyperband", "warm_start": "source"}, "cannot use a warm start"),
    ({"warm_start": "ghost"}, "no experiment named 'ghost'"),
    ({"name": "source2", "warm_start": "source2"}, "cannot warm-start from itself"),
    ({"warm_start": "source", "warm_start_top": 0}, "warm_start_top must be at least 1"),
])
def test_warm_start_errors(store: SQLiteStore, overrides: dict, expected: str) -> None:
    with pytest.raises(UserError, match=expected):
        Study.create(config(**overrides), store)


def test_cli_warm_start_says_what_it_did(store: SQLiteStore, capsys: pytest.CaptureFixture) -> None:
    path = str(store.path)
    store.close()
    assert main(["search", "--dataset", "ImageNet16-120", "--max-trials", "12", "--store", path, "--name", "w",
                 "--warm-start", "source", "--strategy", "reinforce"]) == 0
    assert "the controller starts from its final policy ('source', cifar10)" in capsys.readouterr().err
    assert main(["compare", "--warm-start", "source", "--seeds", "1"]) == 2
