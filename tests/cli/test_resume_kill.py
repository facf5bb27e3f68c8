"""A real search subprocess killed with SIGKILL midway, resumed, equals an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from archsearch.store.sqlite import SQLiteStore
from tests.conftest import archsearch, committed_trials

TRIALS = 3000
KILL_AFTER = 300


def history(path: Path, name: str) -> list[tuple]:
    store = SQLiteStore(path, create=False)
    try:
        trials = store.trials(store.get_experiment(name).id)
        return [(t.number, t.arch, t.metrics, t.cost, t.status) for t in trials]
    finally:
        store.close()


def test_sigkill_then_resume_gives_the_uninterrupted_history(tmp_path: Path) -> None:
    common = ["--strategy", "regularized-evolution", "--max-trials", str(TRIALS), "--seed", "5", "--name", "run", "--quiet"]
    killed_store, reference_store = tmp_path / "killed.db", tmp_path / "reference.db"

    process = subprocess.Popen(archsearch("search", *common, "--store", str(killed_store)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while committed_trials(killed_store) < KILL_AFTER and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)  # a second process reads the store while the search writes it
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_at_kill = committed_trials(killed_store)
    assert process.returncode == -signal.SIGKILL
    assert KILL_AFTER <= done_at_kill < TRIALS, "the search must be killed midway"

    resumed = subprocess.run(archsearch("resume", "run", "--store", str(killed_store), "--quiet"),
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"after {done_at_kill} trials" in resumed.stdout

    subprocess.run(archsearch("search", *common, "--store", str(reference_store)), check=True,
                   capture_output=True, timeout=120)
    assert history(killed_store, "run") == history(reference_store, "run")
    assert len(history(killed_store, "run")) == TRIALS
