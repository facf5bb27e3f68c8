"""Several trials in flight (one per worker): told as they finish, each committed with the checkpoint (strategy
state + the trials still in flight), and a search killed with trials in flight resumes with no trial lost or
run twice (equal to an uninterrupted run with a deterministic executor)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsearch.config import StudyConfig
from archsearch.execution.serial import SerialExecutor
from archsearch.store.sqlite import SQLiteStore
from archsearch.study import Study
from tests.conftest import interrupt_after


class BatchingSerialExecutor(SerialExecutor):
    """Three trials in flight; each runs as it is submitted (a deterministic stand-in for three workers)."""

    workers = 3


class Killed(BaseException):
    """Stands for a SIGKILL: nothing after it runs."""


def config(**overrides: object) -> StudyConfig:
    cfg = StudyConfig.from_mapping({"name": "b", "max_trials": 11, **overrides})
    cfg.finish_budget()
    return cfg


def history(trials) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [(t.number, t.arch, t.fidelity, t.metrics, t.status) for t in trials]


@pytest.mark.parametrize("strategy", ["regularized-evolution", "hyperband"])
def test_batches_fill_the_trial_budget_exactly(tmp_path: Path, strategy: str) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    study = Study.create(config(strategy=strategy), store, executor=BatchingSerialExecutor()).run()
    assert len(study.trials) == 11
    checkpoint = store.checkpoint(study.experiment.id)
    assert checkpoint is not None and checkpoint.trial_count == 11


@pytest.mark.parametrize("kill_after, max_trials, fidelity", [
    (1, 11, 12), (4, 11, 12), (5, 11, 12), (6, 11, 12),
    (5, 7, 12), (7, 8, 12),  # the resumed batch is sized as the interrupted one, near the trial budget
    (4, 11, None),  # the estimator's own fidelity: stored as 12, asked as None
])
def test_kill_inside_a_batch_then_resume_equals_an_uninterrupted_run(tmp_path: Path, kill_after: int,
                                                                     max_trials: int, fidelity: float | None) -> None:
    keys = {"max_trials": max_trials, "fidelity": fidelity}
    reference = Study.create(config(**keys), SQLiteStore(tmp_path / "ref.db"),
                             executor=BatchingSerialExecutor()).run()

    store = SQLiteStore(tmp_path / "runs.db")
    study = Study.create(config(**keys), store, executor=BatchingSerialExecutor())
    interrupt_after(study, kill_after, Killed)
    store.close()
    stored = SQLiteStore(tmp_path / "runs.db", create=False)
    assert len(stored.trials(study.experiment.id)) == kill_after
    resumed = Study.resume("b", stored, executor=BatchingSerialExecutor()).run()
    assert history(resumed.trials) == history(reference.trials)


def test_resume_refuses_stored_trials_the_strategy_did_not_ask(tmp_path: Path) -> None:
    from archsearch.core.errors import UserError

    store = SQLiteStore(tmp_path / "runs.db")
    interrupt_after(Study.create(config(), store, executor=BatchingSerialExecutor()), 4, Killed)
    # a store of the batch era: its checkpoint lagged behind the stored trials of the interrupted batch
    store._db.execute("UPDATE strategy_state SET trial_count=3, pending='[]'")
    store._db.execute("UPDATE trials SET arch='{\"edge_1_0\":\"none\"}' WHERE number=3")
    with pytest.raises(UserError, match="not asked"):
        Study.resume("b", store, executor=BatchingSerialExecutor()).run()


def test_constructor_values_survive_the_training_defaults() -> None:
    config = StudyConfig(estimator="train", dataset="digits", max_trials=5, budget_seconds=None)
    config.apply_estimator_defaults()
    assert config.dataset == "digits" and config.budget_seconds is None and config.benchmark is None
    assert config.report == "test_acc" and config.fidelity is None


def test_the_checkpoint_lists_the_trials_in_flight(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    study = Study.create(config(), store, executor=BatchingSerialExecutor())
    interrupt_after(study, 5, Killed)
    checkpoint = store.checkpoint(study.experiment.id)
    assert checkpoint.trial_count == 5 and len(checkpoint.pending) == 3
    assert all(p["attempts"] == 0 and p["fidelity"] is None for p in checkpoint.pending)  # None: the default
