"""Ctrl-C (SIGINT) or SIGTERM stops a search as ``interrupted``, not ``failed``: the exact resume command (the
real name and store) is printed, the progress does not say ``done``, and the resume finishes the budget."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from archsearch.store.sqlite import SQLiteStore
from tests.conftest import archsearch, committed_trials

TRIALS = 3000


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_search_says_how_to_resume_and_is_not_failed(tmp_path: Path, signum: int) -> None:
    store = tmp_path / "my runs.db"
    process = subprocess.Popen(archsearch("search", "--strategy", "random", "--max-trials", str(TRIALS), "--name",
                                          "journey", "--store", str(store)),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while committed_trials(store) < 50 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert process.poll() is None, process.communicate()  # still searching: the signal stops it midway
    os.kill(process.pid, signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert f"continue with: archsearch resume journey --store '{store}'" in err
    assert "done:" not in err and "finished 'journey'" not in out
    opened = SQLiteStore(store, create=False)
    try:
        experiment = opened.get_experiment("journey")
        assert experiment.status == "interrupted"
        stored = len(opened.trials(experiment.id))
    finally:
        opened.close()
    assert 50 <= stored < TRIALS


def test_a_search_killed_by_sigkill_reads_as_interrupted_once_its_lock_is_free(tmp_path: Path) -> None:
    store = tmp_path / "runs.db"
    process = subprocess.Popen(archsearch("search", "--strategy", "random", "--max-trials", str(TRIALS), "--name",
                                          "killed", "--store", str(store), "--quiet"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while committed_trials(store) < 50 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert process.poll() is None
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    opened = SQLiteStore(store, create=False)
    try:
        assert opened.get_experiment("killed").status == "interrupted"
        assert [e.status for e in opened.experiments()] == ["interrupted"]
    finally:
        opened.close()
    with sqlite3.connect(store) as db:  # the row itself still says running: a resume sets it again
        assert db.execute("SELECT status FROM experiments").fetchone() == ("running",)


def test_an_interrupt_between_a_tell_and_its_commit_counts_only_the_stored_trials(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from archsearch.cli.main import main
    from archsearch.strategies.random import RandomSearch

    real_ask = RandomSearch.ask_trials
    told = []

    def ask_then_stop(self: RandomSearch, n: int) -> list:
        if len(told) == 4:  # stops in the ask after a tell: that trial is in memory, never committed
            raise KeyboardInterrupt
        told.append(n)
        return real_ask(self, n)

    monkeypatch.setattr(RandomSearch, "ask_trials", ask_then_stop)
    store = tmp_path / "runs.db"
    assert main(["search", "--strategy", "random", "--max-trials", "20", "--name", "cut", "--store", str(store),
                 "--quiet"]) == 130
    opened = SQLiteStore(store, create=False)
    try:
        stored = len(opened.trials(opened.get_experiment("cut").id))
    finally:
        opened.close()
    assert f"interrupted; {stored} finished trials of 'cut'" in capsys.readouterr().err
