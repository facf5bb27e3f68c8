"""The Python API without traps: the best arch prints as the space's string (the dict a property away), the
trials come as a pandas DataFrame, and API errors speak in API terms (the CLI words them with flags)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsearch.config import StudyConfig
from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.store.memory import InMemoryStore
from archsearch.store.sqlite import SQLiteStore
from archsearch.study import Study


def small_study(store: object = None, name: str = "api") -> Study:
    config = StudyConfig.from_mapping({"name": name, "strategy": "random", "max_trials": 6, "budget_seconds": None})
    return Study.create(config, store or InMemoryStore()).run()


def test_the_best_arch_prints_as_the_space_string_and_stays_a_dict() -> None:
    best = small_study().best
    assert str(best.arch).startswith("|") and repr(best.arch) == str(best.arch)  # NB201: |op~0|+|op~0|op~1|+...
    assert isinstance(best.arch.dict, dict) and type(best.arch.dict) is dict
    assert best.arch == best.arch.dict and Arch(best.arch) == Arch(best.arch.dict)


def test_trials_dataframe_has_a_row_per_trial_and_a_column_per_metric() -> None:
    study = small_study()
    frame = study.trials_dataframe()
    assert list(frame.index) == list(range(6))
    assert {"arch", "status", "cost", "metric_valid_acc", "metric_final_test_acc", "started"} <= set(frame.columns)
    assert frame.loc[0, "metric_valid_acc"] == study.trials[0].metrics["valid_acc"]
    assert frame.loc[0, "arch"].startswith("|")


def test_an_existing_name_is_an_api_message_with_a_cli_wording(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "runs.db", create=True)
    try:
        small_study(store, "taken")
        with pytest.raises(UserError) as caught:
            small_study(store, "taken")
    finally:
        store.close()
    assert "--" not in str(caught.value) and "Study.resume('taken', store)" in str(caught.value)
    assert "archsearch resume taken --store" in caught.value.cli_message and "--name" in caught.value.cli_message
