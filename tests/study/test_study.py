"""The study loop: budgets, best-so-far, failures, and resume equal to an uninterrupted run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from archsearch.config import StudyConfig
from archsearch.core.errors import UserError
from archsearch.store.memory import InMemoryStore
from archsearch.store.sqlite import SQLiteStore
from archsearch.study import Progress, Study, best_trial
from tests.conftest import FAST_OPTIONS, ask_tell_strategies, interrupt_after


def config(**overrides: object) -> StudyConfig:
    cfg = StudyConfig.from_mapping({"name": "t", **overrides})
    cfg.finish_budget()
    return cfg


def history(study_or_trials) -> list[tuple]:  # type: ignore[no-untyped-def]
    trials = study_or_trials.trials if hasattr(study_or_trials, "trials") else study_or_trials
    return [(t.number, t.arch, t.metrics, t.cost, t.status) for t in trials]


def test_time_budget_stops_after_the_trial_that_crosses_it() -> None:
    study = Study.create(config(budget_seconds=3000), InMemoryStore()).run()
    costs = [t.cost for t in study.trials]
    assert sum(costs) >= 3000 > sum(costs[:-1])
    assert all(t.fidelity == 12 for t in study.trials)


def test_max_trials_without_time_budget() -> None:
    study = Study.create(config(max_trials=17), InMemoryStore()).run()
    assert len(study.trials) == 17 and study.config.budget_seconds is None


def test_best_is_the_best_objective_and_reports_the_200_epoch_test() -> None:
    study = Study.create(config(max_trials=40), InMemoryStore()).run()
    best = best_trial(study.trials, study.components.objectives[0])
    assert best == study.best and best.number == study.best.number
    assert best.metrics["valid_acc"] == max(t.metrics["valid_acc"] for t in study.trials)
    assert study.reported_value() == best.metrics["final_test_acc"]


def test_minimised_objective() -> None:
    study = Study.create(config(max_trials=30, objective="train_seconds:min"), InMemoryStore()).run()
    assert study.best.metrics["train_seconds"] == min(t.metrics["train_seconds"] for t in study.trials)


def test_a_raising_estimator_fails_the_trial_and_the_search_goes_on() -> None:
    study = Study.create(config(max_trials=10), InMemoryStore())
    real = study.components.estimator.evaluate
    calls = {"n": 0}

    def flaky(arch, fidelity):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise RuntimeError("CUDA out of memory (simulated)")
        return real(arch, fidelity)

    study.components.estimator.evaluate = flaky  # type: ignore[method-assign]
    study.run()
    statuses = [t.status for t in study.trials]
    assert len(statuses) == 10 and statuses.count("failed") == 3
    assert "out of memory" in study.trials[2].error
    assert study.progress().failed == 3


@pytest.mark.parametrize("stop_at", [1, 23])
@pytest.mark.parametrize("strategy", ask_tell_strategies())  # one-shot resume: tests/study/test_oneshot.py
def test_resume_after_interruption_equals_uninterrupted_run(strategy: str, stop_at: int, tmp_path: Path) -> None:
    settings = {"strategy": strategy, "max_trials": 60, "seed": 11, "strategy_options": FAST_OPTIONS.get(strategy, {})}
    reference = Study.create(config(**settings), InMemoryStore()).run()

    store = SQLiteStore(tmp_path / "runs.db")
    interrupt_after(Study.create(config(**settings), store), stop_at)
    store.close()

    store = SQLiteStore(tmp_path / "runs.db", create=False)
    resumed = Study.resume("t", store)
    assert len(resumed.trials) == stop_at
    resumed.run()
    assert history(resumed) == history(reference)
    assert history(store.trials(resumed.experiment.id)) == history(reference)
    assert store.get_experiment("t").status == "finished"


def test_progress_reports_best_so_far() -> None:
    seen: list[Progress] = []
    Study.create(config(max_trials=12), InMemoryStore()).run(on_trial=seen.append)
    assert [p.trials for p in seen] == list(range(1, 13))
    best = [p.best_value for p in seen]
    assert all(b2 >= b1 for b1, b2 in zip(best, best[1:])) and not math.isnan(best[-1])


def test_zero_cost_prerank_warm_starts_the_strategy_and_resume_reuses_it(tmp_path: Path) -> None:
    def cfg() -> StudyConfig:
        return config(strategy="regularized-evolution", max_trials=4, prerank="synflow", prerank_pool=6,
                      prerank_top=3)

    expected = Study.create(cfg(), SQLiteStore(tmp_path / "a.db")).run()
    record = [e for e in expected.epochs if e.kind == "prerank"][0]
    scores = [score for _, score in record.ranking]
    assert len(record.ranking) == 6 and scores == sorted(scores, reverse=True)
    assert [t.arch for t in expected.trials[:3]] == [arch for arch, _ in record.ranking[:3]]
    store = SQLiteStore(tmp_path / "b.db")
    interrupt_after(Study.create(cfg(), store), 1)
    resumed = Study.resume("t", store).run()
    assert history(resumed) == history(expected)
    assert len([e for e in store.epochs(1) if e.kind == "prerank"]) == 1


def test_prerank_user_errors() -> None:
    with pytest.raises(UserError, match="prerank"):
        Study.create(config(strategy="hyperband", prerank="synflow"), InMemoryStore())
    with pytest.raises(UserError, match="prerank"):
        Study.create(config(prerank="nope"), InMemoryStore())
    with pytest.raises(UserError, match="data-free"):
        Study.create(config(prerank="snip", max_trials=2), InMemoryStore()).run()


def test_multi_objective_config_from_yaml_lists_and_resume(tmp_path: Path) -> None:
    """Objectives and constraints as YAML lists; an interrupted two-objective nsga2 study resumes to the
    same history as an uninterrupted one."""
    import yaml

    file = tmp_path / "mo.yaml"
    file.write_text(yaml.safe_dump({"strategy": {"name": "nsga2", "population_size": 6}, "fidelity": 200,
                                    "objective": ["valid_acc:max", "flops:min"], "constraint": ["params<=1e6"],
                                    "max_trials": 30, "name": "t"}))
    settings = StudyConfig.from_file(str(file))
    settings.finish_budget()
    goal = settings.goal()
    assert [str(o) for o in goal.objectives] == ["valid_acc:max", "flops:min"]
    assert [str(c) for c in goal.constraints] == ["params<=1e+06"]
    reference = Study.create(StudyConfig.from_mapping(settings.to_dict()), InMemoryStore()).run()
    assert all(t.metrics["flops"] > 0 and t.metrics["params"] > 0 for t in reference.trials)
    store = SQLiteStore(tmp_path / "runs.db")
    interrupt_after(Study.create(StudyConfig.from_mapping(settings.to_dict()), store), 17)
    resumed = Study.resume("t", store).run()
    assert history(resumed) == history(reference)


def test_beside_worker_processes_the_driver_keeps_one_thread_for_the_trials() -> None:
    """With workers training, the driver only asks and tells: one torch thread for the whole trial phase (not
    switched around every ask and tell), and the caller's count back afterwards."""
    import torch

    from archsearch.core.threads import _policy_off

    if _policy_off():
        pytest.skip("the thread policy is off (ARCHSEARCH_THREAD_POLICY=off)")
    before = torch.get_num_threads()
    seen: list[int] = []
    config = StudyConfig.from_mapping({"strategy": "reinforce", "max_trials": 4, "executor": "processes",
                                       "workers": 2})
    Study.create(config, InMemoryStore()).run(on_trial=lambda progress: seen.append(torch.get_num_threads()))
    assert seen == [1, 1, 1, 1] and torch.get_num_threads() == before
