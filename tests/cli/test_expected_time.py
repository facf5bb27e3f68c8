"""What a search tells while it runs: the expected wall time after the first trial of a training search, the
progress inside a long one-shot epoch, and why it runs fewer threads than cores."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsearch.cli.main import main
from archsearch.core import threads
from archsearch.estimators import supernet

TINY_TRAIN = ["--estimator", "train", "--dataset", "digits", "--fidelity", "0.3", "--device", "cpu",
              "--set", "estimator.net.channels=4", "--set", "estimator.net.cells_per_stage=1",
              "--set", "estimator.measure=[params]"]


def test_a_training_search_prints_its_expected_wall_time_after_the_first_trial(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["search", "--strategy", "random", *TINY_TRAIN, "--max-trials", "3", "--store",
                 str(tmp_path / "r.db"), "--name", "t"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "first trial took" in line]
    assert len(lines) == 1 and "the rest of the budget will take about" in lines[0] and "(1 worker)" in lines[0]


def test_a_table_search_prints_no_expected_time(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["search", "--strategy", "random", "--max-trials", "5", "--store", str(tmp_path / "r.db")]) == 0
    assert "first trial took" not in capsys.readouterr().err


def test_a_long_one_shot_epoch_reports_its_progress(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supernet, "PROGRESS_SECONDS", 0.0)  # every batch counts as a long wait here
    sets = ["--set", "strategy.epochs=1", "--set", "strategy.fraction=0.1", "--set", "strategy.net.channels=4",
            "--set", "strategy.net.cells_per_stage=1", "--set", "strategy.batch_size=32", "--set", "estimator.epochs=0.2",
            "--set", "estimator.net.channels=4", "--set", "estimator.net.cells_per_stage=1"]
    assert main(["search", "--strategy", "gdas", "--estimator", "train", "--dataset", "digits", "--store",
                 str(tmp_path / "r.db"), "--name", "g", *sets]) == 0
    progress = [line for line in capsys.readouterr().err.splitlines() if "epoch 1/1: batch" in line]
    steps = -(-int(1257 * 0.1) // 32)  # digits' 1,257 training images, 10 %, batches of 32 (GDAS: half of them)
    assert progress and progress[0].startswith("[g] epoch 1/1: batch 1/") and "s left" in progress[-1]
    assert all(int(line.split("batch ")[1].split("/")[1].split()[0]) <= steps for line in progress)


def test_a_search_on_a_busy_machine_says_why_it_runs_fewer_threads(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(threads.THREADS_ENV, raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    monkeypatch.setattr(threads, "busy_cores_of_others", lambda: 2.0)
    assert main(["search", "--strategy", "random", *TINY_TRAIN, "--max-trials", "1", "--store",
                 str(tmp_path / "r.db")]) == 0
    out = capsys.readouterr().out
    assert "threads per trial: 2 (4 usable cores, 2.0 busy with other processes; --threads N fixes the count)" in out
