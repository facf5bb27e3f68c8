"""A new budget on resume: a finished or stopped study resumed with a larger budget (or a stopped one with a smaller
one, not below what it did) has the history of one given that budget from the start (serial executor);
``nothing_left`` tells at once, from the store alone, that a finished one has nothing left to do."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from archsearch.config import StudyConfig
from archsearch.core.errors import UserError
from archsearch.store.base import StrategyCheckpoint
from archsearch.store.memory import InMemoryStore
from archsearch.store.sqlite import SQLiteStore
from archsearch.study import Progress, Study
from archsearch.study.budget import nothing_left
from tests.conftest import FAST_OPTIONS, ask_tell_strategies


def config(**overrides: object) -> StudyConfig:
    cfg = StudyConfig.from_mapping({"name": "t", "budget_seconds": None, **overrides})
    cfg.finish_budget()
    return cfg


def history(trials: list) -> list[tuple]:
    return [(t.number, t.arch, t.fidelity, t.metrics, t.cost, t.status) for t in trials]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("strategy", ask_tell_strategies())  # every one allows it (one-shot: see budget.py)
def test_a_finished_study_extended_equals_one_given_the_larger_budget(strategy: str, tmp_path: Path) -> None:
    settings = {"strategy": strategy, "seed": 5, "strategy_options": FAST_OPTIONS.get(strategy, {})}
    reference = Study.create(config(max_trials=20, **settings), InMemoryStore()).run()
    store = SQLiteStore(tmp_path / "runs.db")
    Study.create(config(max_trials=10, **settings), store).run()
    store.close()

    store = SQLiteStore(tmp_path / "runs.db", create=False)
    assert store.get_experiment("t").status == "finished"
    extended = Study.resume("t", store, max_trials=20).run()
    assert history(extended.trials) == history(reference.trials)
    assert history(store.trials(extended.experiment.id)) == history(reference.trials)
    stored = store.get_experiment("t")
    assert stored.status == "finished" and stored.config["max_trials"] == 20
    assert stored.config == {**reference.config.to_dict(), "threads": stored.config["threads"]}
    assert nothing_left("t", store).message.endswith("(20/20 trials); give max_trials > 20 to extend it")
    again = Study.resume("t", store).run()  # a finished study loads, and its run adds nothing
    assert history(again.trials) == history(reference.trials)
    store.close()


def test_a_time_budget_is_extended_like_a_trial_budget(tmp_path: Path) -> None:
    reference = Study.create(config(budget_seconds=6000.0), InMemoryStore()).run()
    store = SQLiteStore(tmp_path / "runs.db")
    short = Study.create(config(budget_seconds=3000.0), store).run()
    assert 0 < len(short.trials) < len(reference.trials)
    assert re.search(r"spent \(3,\d+/3,000 s of cost\); give budget_seconds > 3\d+(\.\d+)? to extend it$",
                     nothing_left("t", store).message)
    assert nothing_left("t", store, budget_seconds=6000) is None
    extended = Study.resume("t", store, budget_seconds=6000).run()
    assert history(extended.trials) == history(reference.trials)
    assert store.get_experiment("t").config["budget_seconds"] == 6000.0
    store.close()


def test_a_stopped_study_resumed_with_a_larger_budget(tmp_path: Path) -> None:
    reference = Study.create(config(max_trials=25, strategy="regularized-evolution", seed=2), InMemoryStore()).run()
    store = SQLiteStore(tmp_path / "runs.db")

    def stop(progress: Progress) -> None:
        if progress.trials == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Study.create(config(max_trials=10, strategy="regularized-evolution", seed=2), store).run(on_trial=stop)
    store.close()
    store = SQLiteStore(tmp_path / "runs.db", create=False)
    resumed = Study.resume("t", store, max_trials=25).run()
    assert history(resumed.trials) == history(reference.trials)
    store.close()


def test_nothing_left_reads_the_store_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    Study.create(config(max_trials=10), store).run()
    store.close()
    before = digest(path)

    def no_build(*args: object) -> None:
        raise AssertionError("the components were built")

    monkeypatch.setattr("archsearch.study.study.build_components", no_build)
    monkeypatch.setattr("archsearch.study.components.build_components", no_build)
    store = SQLiteStore(path, create=False)
    left = nothing_left("t", store)
    assert left is not None
    assert re.fullmatch(r"finished 't': 10 trials, [\d,]+ s of cost spent: its budget is spent \(10/10 trials\); "
                        r"give max_trials > 10 to extend it", left.message), left.message
    assert left.cli.endswith("give --max-trials N > 10 to extend it")
    assert nothing_left("t", store, max_trials=10) == left
    assert nothing_left("t", store, max_trials=11) is None
    with pytest.raises(UserError, match="workers must be at least 1"):
        nothing_left("t", store, {"workers": 0})
    store.close()
    assert digest(path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["runs.db"]


def test_a_stopped_study_has_something_left(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "runs.db")

    def stop(progress: Progress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Study.create(config(max_trials=10), store).run(on_trial=stop)
    assert nothing_left("t", store) is None
    store.close()


def test_a_budget_below_what_the_study_did_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    Study.create(config(max_trials=10), store).run()
    before = digest(path)
    with pytest.raises(UserError, match="^max_trials 5 is below the 10 trials 't' has done$") as error:
        Study.resume("t", store, max_trials=5)
    assert error.value.cli_message == "--max-trials 5 is below the 10 trials 't' has done"
    with pytest.raises(UserError, match=r"budget_seconds 100 is below the [\d,]+ s of cost 't' has spent"):
        Study.resume("t", store, max_trials=20, budget_seconds=100)
    with pytest.raises(UserError, match="max_trials must be at least 1"):
        Study.resume("t", store, max_trials=0)
    with pytest.raises(UserError, match=r"resume cannot change 'max_trials'.*give a budget as max_trials=\.\.\."):
        Study.resume("t", store, runtime={"max_trials": 20})
    with pytest.raises(UserError, match="resume cannot change 'seed'"):
        Study.resume("t", store, runtime={"seed": 3}, max_trials=20)
    assert digest(path) == before and store.get_experiment("t").config["max_trials"] == 10
    store.close()


def test_a_stopped_study_given_a_smaller_budget_or_a_time_limit(tmp_path: Path) -> None:
    """Not below what it did: the history of a study given that budget from the start."""
    settings = {"strategy": "regularized-evolution", "seed": 3}
    smaller = Study.create(config(max_trials=12, **settings), InMemoryStore()).run()
    both = Study.create(config(max_trials=40, budget_seconds=2500.0, **settings), InMemoryStore()).run()
    assert len(both.trials) < 40
    for name, budget, reference in (("a", {"max_trials": 12}, smaller), ("b", {"budget_seconds": 2500.0}, both)):
        store = SQLiteStore(tmp_path / f"{name}.db")

        def stop(progress: Progress) -> None:
            if progress.trials == 6:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            Study.create(config(max_trials=40, **settings), store).run(on_trial=stop)
        resumed = Study.resume("t", store, **budget).run()
        assert history(resumed.trials) == history(reference.trials)
        assert {key: store.get_experiment("t").config[key] for key in budget} == budget
        store.close()


def test_a_finished_one_shot_study_cannot_be_extended(tmp_path: Path) -> None:
    """Its strategy hands out the archs its supernet search derived, and all were evaluated (a stored state)."""
    store = SQLiteStore(tmp_path / "runs.db")
    experiment = store.create_experiment("t", config(strategy="darts", max_trials=2).to_dict(), 0)
    state = {"searched": True, "derived": [{"a": 1}, {"a": 2}], "handed": 2}
    store.save_checkpoint(experiment.id, StrategyCheckpoint(2, 10.0, state))
    store.set_status(experiment.id, "finished")
    left = nothing_left("t", store, max_trials=5)
    assert left is not None and left.message.endswith("handed out all 2 derived archs, so a larger budget cannot "
                                                      "extend it")
    store.close()


def test_a_raised_budget_is_stored_only_when_the_resume_checks_out(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    Study.create(config(max_trials=10), store).run()
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE strategy_state SET state='{}'")
    before = digest(path)
    store = SQLiteStore(path, create=False)
    with pytest.raises(UserError, match="checkpoint of 't' is corrupt"):
        Study.resume("t", store, max_trials=20)
    assert store.get_experiment("t").config["max_trials"] == 10
    store.close()
    assert digest(path) == before
