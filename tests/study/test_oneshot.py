"""One-shot strategies in the study loop: epochs in the store, hand-over to the estimator, crash-safe
resume (after an epoch, and between the search and the derived archs' trials), the memory check."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsearch.cli.main import main
from archsearch.config import StudyConfig
from archsearch.core.errors import UserError
from archsearch.store.sqlite import SQLiteStore
from archsearch.study import Study
from tests.conftest import write_cifar

NET = {"channels": 4, "cells_per_stage": 1}


def config(strategy: str = "gdas", **strategy_options: object) -> StudyConfig:
    cfg = StudyConfig.from_mapping({
        "name": "os", "strategy": strategy, "estimator": "train", "dataset": "digits",
        "strategy_options": {"epochs": 2, "batch_size": 64, "fraction": 0.3, "hessian_every": 1,
                             "hessian_iterations": 3, "net": NET, **strategy_options},
        "estimator_options": {"epochs": 0.3, "net": NET, "measure": []}})
    cfg.finish_budget()
    return cfg


class Interrupt(BaseException):
    pass


def interrupt_after(count: int):  # type: ignore[no-untyped-def]
    seen = []

    def callback(_: object) -> None:
        seen.append(_)
        if len(seen) == count:
            raise Interrupt

    return callback


def test_search_stores_epochs_and_evaluates_the_derived_arch(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    study = Study.create(config(), store).run()
    assert len(study.trials) == 1 and study.trials[0].status == "ok"
    epochs = store.epochs(study.experiment.id)
    assert [e.epoch for e in epochs] == [0, 1] and epochs[-1].arch == study.trials[0].arch
    assert study.cost_spent == pytest.approx(sum(e.seconds for e in epochs) + study.trials[0].cost)
    assert store.get_experiment("os").status == "finished"
    assert store.oneshot_state(study.experiment.id) is not None


def test_resume_after_a_killed_epoch_gives_the_uninterrupted_search(tmp_path: Path) -> None:
    expected = Study.create(config(), SQLiteStore(tmp_path / "a.db")).run()
    store = SQLiteStore(tmp_path / "b.db")
    with pytest.raises(Interrupt):
        Study.create(config(), store).run(on_epoch=interrupt_after(1))
    assert [e.epoch for e in store.epochs(1)] == [0] and store.get_experiment("os").status == "failed"
    resumed = Study.resume("os", store).run()
    assert [e.epoch for e in store.epochs(1)] == [0, 1]
    assert [t.arch for t in resumed.trials] == [t.arch for t in expected.trials]
    assert [e.arch for e in store.epochs(1)] == [e.arch for e in expected.epochs]


def test_resume_between_hand_over_trials_neither_searches_nor_asks_twice(tmp_path: Path) -> None:
    options = {"candidates": 6, "top_k": 3}
    expected = Study.create(config("rsws", **options), SQLiteStore(tmp_path / "a.db")).run()
    store = SQLiteStore(tmp_path / "b.db")
    with pytest.raises(Interrupt):
        Study.create(config("rsws", **options), store).run(on_trial=interrupt_after(2))
    epochs_before = store.epochs(1)
    resumed = Study.resume("os", store).run()
    assert [t.arch for t in resumed.trials] == [t.arch for t in expected.trials] and len(resumed.trials) == 3
    assert store.epochs(1) == epochs_before  # the search did not run again
    ranking = [e for e in epochs_before if e.kind == "ranking"][0]
    assert [arch for arch, _ in ranking.ranking[:3]] == [t.arch for t in expected.trials]


def test_memory_above_the_limit_is_refused_before_the_store_is_touched(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    cfg = config()
    cfg.max_memory = "0.01MiB"
    with pytest.raises(UserError, match="max-memory"):
        Study.create(cfg, store)
    assert store.experiments() == []


def test_cli_one_shot_search_show_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = str(tmp_path / "runs.db")
    sets = ["--set", "strategy.epochs=1", "--set", "strategy.fraction=0.2", "--set", "strategy.net.channels=4",
            "--set", "strategy.net.cells_per_stage=1", "--set", "estimator.epochs=0.2",
            "--set", "estimator.net.channels=4", "--set", "estimator.net.cells_per_stage=1"]
    assert main(["search", "--strategy", "darts", "--estimator", "train", "--dataset", "digits", "--store", store,
                 "--name", "d", "--max-memory", "4GiB", *sets]) == 0
    assert "estimated peak memory" in capsys.readouterr().err
    assert main(["show", "d", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "one-shot search: 1 epochs" in out and "derived arch:" in out
    for bad in (["--max-memory", "lots"], ["--set", "strategy.order=5"], ["--set", "strategy.epochs=0"]):
        assert main(["search", "--strategy", "darts", "--estimator", "train", "--dataset", "digits", "--store",
                     store, "--name", "bad", *bad]) == 2
    assert "bad" not in [e.name for e in SQLiteStore(store, create=False).experiments()]


def test_derived_arch_goes_to_the_table_when_searching_on_the_benchmark_dataset(tmp_path: Path) -> None:
    write_cifar(tmp_path / "cifar-10-batches-py")
    cfg = StudyConfig.from_mapping({"name": "tab", "strategy": "gdas", "data_dir": str(tmp_path),
                                    "strategy_options": {"epochs": 1, "batch_size": 32, "net": NET}})
    cfg.finish_budget()
    study = Study.create(cfg, SQLiteStore(tmp_path / "runs.db")).run()
    assert cfg.estimator == "tabular" and len(study.trials) == 1
    assert study.trials[0].arch == study.epochs[-1].arch and "final_test_acc" in study.trials[0].metrics
