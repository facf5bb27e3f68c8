"""Every user error: one line on stderr, exit code 2, no traceback, the store file unchanged."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from archsearch.cli.main import main
from tests.cli.conftest import RESNET_CELL, run_cli


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    assert main(["search", "--max-trials", "5", "--store", str(path), "--name", "kept", "--quiet"]) == 0
    return path


def unwritable_folder(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root writes anywhere on a normal file system; /proc refuses everyone
        return Path("/proc")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


CASES = {
    "unknown space": ["search", "--space", "nope"],
    "unknown strategy": ["search", "--strategy", "nope"],
    "unknown benchmark": ["search", "--benchmark", "nope"],
    "unknown dataset": ["search", "--dataset", "mnist"],
    "bad fidelity": ["search", "--fidelity", "50"],
    "zero budget": ["search", "--budget-seconds", "0"],
    "negative budget": ["search", "--budget-seconds", "-5"],
    "zero trials": ["search", "--max-trials", "0"],
    "unknown --set key": ["search", "--set", "colour=red"],
    "unknown strategy option": ["search", "--set", "strategy.colour=red"],
    "bad strategy option": ["search", "--set", "strategy.population_size=0"],
    "malformed --set": ["search", "--set", "novalue"],
    "existing name": ["search", "--name", "kept"],
    "missing config file": ["search", "--config", "/nonexistent/exp.yaml"],
    "unknown flag": ["search", "--colour", "red"],
    "resume unknown name": ["resume", "ghost"],
    "show unknown name": ["show", "ghost"],
    "non-text objective": ["search", "--set", "objective=5"],
    "infinite max_trials": ["search", "--set", "max_trials=.inf"],
    "bad bananas option": ["search", "--strategy", "bananas", "--set", "strategy.random_candidates=abc"],
    "bad local-search option": ["search", "--strategy", "local-search", "--set", "strategy.guided=maybe"],
    "two objectives, one-objective strategy": ["search", "--objective", "valid_acc:max", "--objective",
                                               "train_seconds:min"],
    "malformed constraint": ["search", "--constraint", "params<2e6"],
    "constraint on a missing metric": ["search", "--constraint", "latency_ms<=5"],
    "malformed reward": ["search", "--reward", "mnasnet:latency_ms"],
    "reward on a min objective": ["search", "--objective", "train_seconds:min", "--reward",
                                  "mnasnet:train_seconds<=5"],
    "reference point of the wrong size": ["search", "--strategy", "nsga2", "--objective", "valid_acc:max",
                                          "--objective", "train_seconds:min", "--reference-point", "1"],
    "bad nsga2 option": ["search", "--strategy", "nsga2", "--set", "strategy.crossover=2"],
    "show plot with a bad suffix": ["show", "kept", "--plot", "front.gif"],
}
EXPECTED = {
    "unknown space": "unknown space 'nope'", "unknown strategy": "unknown strategy 'nope'",
    "unknown benchmark": "unknown benchmark 'nope'", "unknown dataset": "mnist", "bad fidelity": "fidelity",
    "zero budget": "budget_seconds must be positive", "negative budget": "budget_seconds must be positive",
    "zero trials": "max_trials must be at least 1", "unknown --set key": "unknown config key 'colour'",
    "unknown strategy option": "unknown option strategy.colour", "bad strategy option": "population_size",
    "malformed --set": "key=value", "existing name": "already exists", "missing config file": "config file not found",
    "unknown flag": "unrecognized arguments", "resume unknown name": "no experiment named 'ghost'",
    "show unknown name": "no experiment named 'ghost'",
    "non-text objective": "must be a text value", "infinite max_trials": "max_trials must be an integer",
    "bad bananas option": "random_candidates must be an integer", "bad local-search option": "guided must be true",
    "two objectives, one-objective strategy": "optimises one objective", "malformed constraint": "must look like",
    "constraint on a missing metric": "metric 'latency_ms' is not available", "malformed reward": "must look like",
    "reward on a min objective": "first objective must be a 'max' metric",
    "reference point of the wrong size": "reference_point needs 2 finite numbers",
    "bad nsga2 option": "crossover", "show plot with a bad suffix": "--plot must end in .png or .svg",
}
STORELESS = {
    "malformed arch": (["evaluate", "|nor_conv_3x3~0|+|bogus~0|"], "malformed NB201 arch string"),
    "unknown op": (["evaluate", RESNET_CELL.replace("none", "conv9x9", 1)], "unknown NB201 op 'conv9x9'"),
    "wrong node input": (["evaluate", RESNET_CELL.replace("none~0", "none~1")], "malformed NB201 arch string"),
    "compare zero seeds": (["compare", "--seeds", "0"], "--seeds must be at least 1"),
    "compare unknown strategy": (["compare", "--strategies", "random,nope"], "unknown strategy 'nope'"),
}


def assert_one_line_error(code: int, err: str, expected: str) -> None:
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert expected in err and "Traceback" not in err, err


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_user_error_is_one_line_exit_2_store_unchanged(case: str, store: Path, capsys: pytest.CaptureFixture) -> None:
    before = digest(store)
    capsys.readouterr()
    code = run_cli(CASES[case] + ["--store", str(store)])
    assert_one_line_error(code, capsys.readouterr().err, EXPECTED[case])
    assert digest(store) == before


@pytest.mark.parametrize("case", STORELESS, ids=list(STORELESS))
def test_user_error_without_store(case: str, capsys: pytest.CaptureFixture) -> None:
    argv, expected = STORELESS[case]
    code = run_cli(argv)
    assert_one_line_error(code, capsys.readouterr().err, expected)


def test_store_in_missing_or_unwritable_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for path in (tmp_path / "missing" / "runs.db", unwritable_folder(tmp_path) / "runs.db"):
        assert_one_line_error(run_cli(["search", "--max-trials", "2", "--store", str(path), "--quiet"]),
                              capsys.readouterr().err, "store")
        assert not path.exists()


def test_store_that_is_not_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "thesis.db"
    path.write_text("chapter 1\n" * 100)
    before = digest(path)
    for argv in (["search", "--max-trials", "2"], ["resume", "demo"], ["show", "demo"]):
        assert_one_line_error(run_cli(argv + ["--store", str(path)]), capsys.readouterr().err, "not an archsearch store")
    assert digest(path) == before


def test_corrupt_checkpoint_and_damaged_store(store: Path, capsys: pytest.CaptureFixture) -> None:
    import sqlite3

    with sqlite3.connect(store) as db:
        db.execute("UPDATE strategy_state SET state='{}'")
    assert_one_line_error(run_cli(["resume", "kept", "--max-trials", "10", "--store", str(store)]), capsys.readouterr().err,
                          "checkpoint of 'kept' is corrupt")
    data = bytearray(store.read_bytes())
    data[len(data) // 2:len(data) // 2 + 2000] = b"\xff" * 2000  # clobber the middle pages
    store.write_bytes(bytes(data))
    code = run_cli(["show", "kept", "--store", str(store)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def test_empty_file_is_not_turned_into_a_store(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    assert_one_line_error(run_cli(["show", "--store", str(path)]), capsys.readouterr().err, "not an archsearch store")
    assert path.read_bytes() == b""
