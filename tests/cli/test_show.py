"""``archsearch show``: failed trials with their reason (and grouped by kind of reason), the experiment list with
trials, best objective, reported value and created time, one definition of cost, ``-`` for values not computed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archsearch.cli.main import main
from archsearch.spaces.nb201 import NB201Space
from archsearch.store.base import EpochRecord, TrialRecord
from archsearch.store.sqlite import SQLiteStore
from archsearch.study import failure_reasons, study_cost


@pytest.fixture()
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    assert main(["search", "--space", "nb101", "--strategy", "random", "--max-trials", "10", "--store", str(path),
                 "--name", "partial", "--quiet"]) == 0  # nb101-zc500 is a partial table: some archs fail
    assert main(["search", "--max-trials", "5", "--store", str(path), "--name", "full", "--quiet"]) == 0
    return path


def test_failed_trials_show_their_reason_and_are_grouped(store_path: Path, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    assert main(["show", "partial", "--store", str(store_path)]) == 0
    out = capsys.readouterr().out
    failed_rows = [line for line in out.splitlines() if " failed " in line and "(NB101 cell" in line]
    assert failed_rows and all("nan" not in line for line in failed_rows)
    assert "failed trials: 4, by reason:" in out and "4 x e.g. NB101 cell" in out


def test_the_list_has_trials_best_reported_and_created(store_path: Path, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    assert main(["show", "--store", str(store_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "status", "strategy", "on", "space", "seed", "trials", "best", "reported",
                                "created"]
    full = next(line for line in lines if line.startswith("full "))
    assert " 5 " in full and "74.4300" in full and "91.1367" in full
    assert main(["show", "--store", str(store_path), "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["partial"]["trials"] == 10 and rows["partial"]["failed"] == 4
    assert rows["full"]["best"] == pytest.approx(74.43) and rows["full"]["created"]


def test_reasons_group_by_kind_not_by_the_ids_inside() -> None:
    trials = [TrialRecord(i, {}, None, "failed", {}, 0.0, f"cell {h} is not in 'table-{i}'") for i, h in
              enumerate(("26f7b20315a2cd39", "7f6fb1906330766d"))]
    trials.append(TrialRecord(2, {}, None, "failed", {}, 0.0, "TypeError: bad channels"))
    assert [count for _, count in failure_reasons(trials)] == [2, 1]


def test_one_cost_counts_the_one_shot_epochs() -> None:
    trials = [TrialRecord(0, {}, None, "ok", {}, 5.0)]
    epochs = [EpochRecord(0, 30.0, {}), EpochRecord(1, 20.0, {})]
    assert study_cost(trials, epochs) == 55.0


def test_show_prints_the_study_cost_and_a_dash_for_no_eigenvalue(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "runs.db"
    store = SQLiteStore(path, create=True)
    experiment = store.create_experiment("oneshot", {"space": "nb201", "strategy": "darts", "dataset": "digits",
                                                     "objective": "valid_acc:max", "report": "valid_acc"}, 0)
    store.record_epoch(experiment.id, EpochRecord(0, 200.0, {"train_acc": 50.0, "entropy": 1.6}), None)
    arch = dict(NB201Space().parse("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"))
    store.record_trial(experiment.id, TrialRecord(0, arch, None, "ok", {"valid_acc": 60.0}, 57.0), None)
    store.close()
    assert main(["show", "oneshot", "--store", str(path)]) == 0
    out = capsys.readouterr().out
    assert "cost: 257 s" in out
    epoch_row = next(line for line in out.splitlines() if line.split()[:1] == ["1"])
    assert "nan" not in epoch_row and " - " in epoch_row


def test_long_json_archs_in_reasons_are_one_kind() -> None:
    archs = ['{"edge_0_1":"avg_pool_3x3","edge_0_2":"nor_conv_3x3","edge_1_2":"nor_conv_1x1","edge_0_3":"none"}',
             '{"edge_0_1":"none","edge_0_2":"none","edge_1_2":"none","edge_0_3":"avg_pool_3x3"}']
    trials = [TrialRecord(i, {}, None, "failed", {}, 0.0, f"arch {a} is not in table t.csv (a partial table of 4 archs)")
              for i, a in enumerate(archs)]
    assert [count for _, count in failure_reasons(trials)] == [2]


def test_csv_writes_one_row_per_trial_readable_by_pandas(store_path: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    import pandas as pd

    out = tmp_path / "partial.csv"
    assert main(["show", "partial", "--store", str(store_path), "--csv", str(out)]) == 0
    assert f"wrote {out} (10 trials)" in capsys.readouterr().out
    frame = pd.read_csv(out, index_col="number")
    assert len(frame) == 10 and (frame["status"] == "failed").sum() == 4
    assert {"arch", "cost", "metric_valid_acc", "error"} <= set(frame.columns)
    store = SQLiteStore(str(store_path), create=False, write=False)
    try:
        trials = store.trials(store.get_experiment("partial").id)
    finally:
        store.close()
    ok = [t for t in trials if t.status == "ok"]
    assert frame.loc[ok[0].number, "metric_valid_acc"] == pytest.approx(ok[0].metrics["valid_acc"])
    for args, message in ([str(tmp_path / "no" / "x.csv")], "folder for --csv"), ([], "needs an experiment name"):
        argv = ["show", "partial", "--store", str(store_path), "--csv", *args] if args else \
            ["show", "--store", str(store_path), "--csv", str(out)]
        assert main(argv) == 2 and message in capsys.readouterr().err
