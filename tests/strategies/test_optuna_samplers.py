"""Strategy ``optuna``: every Optuna sampler proposes valid archs through ask-and-tell, several objectives make a
multi-objective study, a killed search resumes as the uninterrupted one (the sampler rebuilt from its seed and the
log replayed), and a missing optuna package or a bad option is one UserError line."""

from __future__ import annotations

import builtins
from pathlib import Path

import numpy as np
import pytest

from archsearch.config import StudyConfig
from archsearch.core.errors import UserError
from archsearch.core.objectives import Objective
from archsearch.core.registry import STRATEGIES
from archsearch.execution.serial import SerialExecutor
from archsearch.spaces.nb201 import NB201Space
from archsearch.store.sqlite import SQLiteStore
from archsearch.study import Study
from archsearch.strategies.optuna_samplers import SAMPLERS
from tests.conftest import interrupt_after, synthetic_result

pytest.importorskip("optuna", reason="the optuna extra")
SPACE = NB201Space()


def bound(sampler: str, objectives: list[Objective], seed: int = 0, **options: object):  # type: ignore[no-untyped-def]
    strategy = STRATEGIES.create("optuna", sampler=sampler, **options)
    strategy.bind(SPACE, objectives, np.random.default_rng(seed))
    return strategy


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_sampler_asks_valid_archs_and_learns_from_tells(sampler: str) -> None:
    options = {"sampler_options": {"n_startup_trials": 4}} if sampler in ("tpe", "gp", "cmaes") else {}
    strategy = bound(sampler, [Objective("valid_acc", "max")], **options)
    for _ in range(8):
        archs = strategy.ask(2)
        assert all(SPACE.is_valid(a) for a in archs)
        strategy.tell([synthetic_result(SPACE, a) for a in archs])
    assert len(strategy.study.trials) == 16 and not strategy.pending
    assert sum(t.state.name == "COMPLETE" for t in strategy.study.trials) == 16


def test_several_objectives_make_a_multi_objective_study() -> None:
    objectives = [Objective("valid_acc", "max"), Objective("final_test_acc", "min")]
    strategy = bound("nsgaii", objectives, sampler_options={"population_size": 4})
    archs = strategy.ask(6)
    strategy.tell([synthetic_result(SPACE, a) for a in archs])
    assert [d.name for d in strategy.study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert all(len(t.values) == 2 for t in strategy.study.trials)
    with pytest.raises(UserError, match="optimises one objective"):
        bound("cmaes", objectives)


def test_options_and_a_missing_package_are_user_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError, match="sampler must be one of|choose from"):
        STRATEGIES.create("optuna", sampler="hyperopt")
    with pytest.raises(UserError, match="rejects sampler_options"):
        bound("tpe", [Objective("valid_acc", "max")], sampler_options={"no_such_option": 1})
    real_import = builtins.__import__

    def no_optuna(name: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if name == "optuna":
            raise ImportError("No module named 'optuna'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_optuna)
    with pytest.raises(UserError, match=r"pip install 'archsearch\[optuna\]'"):
        bound("tpe", [Objective("valid_acc", "max")])


class Killed(BaseException):
    """Stands for a SIGKILL: nothing after it runs."""


def test_a_killed_search_resumes_as_the_uninterrupted_one(tmp_path: Path) -> None:
    def config() -> StudyConfig:
        return StudyConfig.from_mapping({"name": "o", "strategy": "optuna", "max_trials": 16,
                                         "strategy_options": {"sampler": "tpe",
                                                              "sampler_options": {"n_startup_trials": 5}}})

    history = lambda trials: [(t.number, t.arch, t.metrics, t.status) for t in trials]  # noqa: E731
    reference = Study.create(config(), SQLiteStore(tmp_path / "ref.db"), executor=SerialExecutor()).run()
    store = SQLiteStore(tmp_path / "runs.db")
    interrupt_after(Study.create(config(), store, executor=SerialExecutor()), 9, Killed)
    store.close()
    resumed = Study.resume("o", SQLiteStore(tmp_path / "runs.db", create=False), executor=SerialExecutor()).run()
    assert history(resumed.trials) == history(reference.trials)
    assert len({str(t.arch) for t in reference.trials}) > 8  # TPE explored, it did not repeat one arch
