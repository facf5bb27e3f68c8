"""Twenty SIGKILLs of the driver at random moments of one search, each followed by ``resume``: with the serial
executor the final history equals an uninterrupted run; with the processes executor no trial is lost or
recorded twice (every asked trial is recorded once, the checkpoint has nothing in flight at the end)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from archsearch.store.sqlite import SQLiteStore
from tests.conftest import archsearch, committed_trials

KILLS = 20


def stored(path: Path, name: str) -> tuple[list[tuple], list]:
    store = SQLiteStore(path, create=False)
    try:
        experiment = store.get_experiment(name)
        trials = store.trials(experiment.id)
        checkpoint = store.checkpoint(experiment.id)
        return [(t.number, t.arch, t.fidelity, t.metrics, t.cost, t.status) for t in trials], checkpoint.pending
    finally:
        store.close()


def kill_and_resume(first: list[str], resume: list[str], store: Path, trials: int, rng: random.Random) -> int:
    """Start ``first``; SIGKILL the driver once it has committed a random number of trials (20 sorted random
    targets over the run, so each kill lands at a random moment of the search), resume, and again, ``KILLS``
    times; then let the last resume finish. Returns how many kills hit a driver still running."""
    targets = sorted(rng.sample(range(1, trials), KILLS))
    hits = 0
    command = first
    for target in targets:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while committed_trials(store) < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            hits += 1
        process.wait()
        command = resume
    final = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    return hits


@pytest.mark.timeout(400)
def test_twenty_kills_serial_history_equals_the_uninterrupted_run(tmp_path: Path) -> None:
    common = ["--strategy", "regularized-evolution", "--max-trials", "6000", "--seed", "11", "--name", "k", "--quiet"]
    killed, reference = tmp_path / "killed.db", tmp_path / "reference.db"
    hits = kill_and_resume(archsearch("search", *common, "--store", str(killed)),
                           archsearch("resume", "k", "--store", str(killed), "--quiet"), killed, 6000, random.Random(0))
    assert hits >= KILLS - 2  # (two targets may fall within the same few trials)
    subprocess.run(archsearch("search", *common, "--store", str(reference)), check=True, capture_output=True,
                   timeout=300)
    history, pending = stored(killed, "k")
    assert len(history) == 6000 and pending == []
    assert history == stored(reference, "k")[0]


@pytest.mark.timeout(400)
def test_twenty_kills_with_worker_processes_lose_and_double_nothing(tmp_path: Path) -> None:
    common = ["--strategy", "regularized-evolution", "--executor", "processes", "--workers", "2", "--max-trials", "3000",
              "--seed", "3", "--name", "p", "--quiet"]
    path = tmp_path / "killed.db"
    hits = kill_and_resume(archsearch("search", *common, "--store", str(path)),
                           archsearch("resume", "p", "--store", str(path), "--quiet"), path, 3000, random.Random(1))
    assert hits >= KILLS - 2
    history, pending = stored(path, "p")
    assert [number for number, *_ in history] == list(range(3000)) and pending == []
    assert all(status == "ok" for *_, status in history)
