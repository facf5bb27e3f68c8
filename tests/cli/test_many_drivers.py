"""Many drivers, one PostgreSQL database (issue 27): six ``archsearch search`` processes at once, each its own study,
two SIGKILLed mid-run and resumed; every history equals an uninterrupted run's, and ``show``, ``report`` and
``compare --from-store`` read them all. Runs on a server of ``tests/postgres_server.py`` (skipped with the reason
where none can start)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from archsearch.cli.main import main
from archsearch.store.factory import open_store
from tests.conftest import archsearch
from tests.postgres_server import new_database

DRIVERS = 6
KILLED = (1, 4)
TRIALS = 600
KILL_AFTER = 150  # committed trials of a driver before it is killed


def search(seed: int, store: str) -> list[str]:
    return ["search", "--strategy", "regularized-evolution", "--max-trials", str(TRIALS), "--seed", str(seed),
            "--name", f"d{seed}", "--store", store, "--quiet"]


def committed(url: str, name: str) -> int:
    """Trials of experiment ``name`` committed so far (0 before its driver created the tables)."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as db:
            return db.execute("SELECT COUNT(*) FROM trials t JOIN experiments e ON e.id = t.experiment_id "
                              "WHERE e.name = %s", (name,)).fetchone()[0]
    except psycopg.errors.UndefinedTable:
        return 0


def wait_for(condition, what: str, seconds: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def history(store: str, name: str) -> tuple[list[tuple], list]:
    opened = open_store(store, create=False, write=False)
    try:
        experiment = opened.get_experiment(name)
        trials = opened.trials(experiment.id)
        pending = opened.checkpoint(experiment.id).pending  # type: ignore[union-attr]
        return [(t.number, t.arch, t.fidelity, t.metrics, t.cost, t.status) for t in trials], pending
    finally:
        opened.close()


def status(store: str, name: str) -> str:
    opened = open_store(store, create=False, write=False)
    try:
        return opened.get_experiment(name).status
    finally:
        opened.close()


@pytest.mark.timeout(300)
def test_six_drivers_two_killed_and_resumed_equal_uninterrupted_runs(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    url = new_database()
    open_store(url).close()  # the tables (six first opens at once are tested in tests/store/test_postgres.py)
    drivers = {seed: subprocess.Popen(archsearch(*search(seed, url)), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True) for seed in range(DRIVERS)}
    for seed in KILLED:
        wait_for(lambda: committed(url, f"d{seed}") >= KILL_AFTER or drivers[seed].poll() is not None, f"d{seed}")
        assert drivers[seed].poll() is None, "the driver finished before it could be killed"
        os.kill(drivers[seed].pid, signal.SIGKILL)
    for seed, driver in drivers.items():
        _, err = driver.communicate(timeout=240)
        assert driver.returncode == (-signal.SIGKILL if seed in KILLED else 0), err
    for seed in KILLED:
        wait_for(lambda: status(url, f"d{seed}") == "interrupted", f"d{seed} to read interrupted")
        assert KILL_AFTER <= committed(url, f"d{seed}") < TRIALS
        assert main(["resume", f"d{seed}", "--store", url, "--quiet"]) == 0
    reference = str(tmp_path / "reference.db")
    for seed in range(DRIVERS):
        assert main(search(seed, reference)) == 0
        trials, pending = history(url, f"d{seed}")
        assert len(trials) == TRIALS and pending == []
        assert (trials, pending) == history(reference, f"d{seed}")
    capsys.readouterr()
    assert main(["show", "--store", url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(e["name"] for e in listed) == [f"d{seed}" for seed in range(DRIVERS)]
    assert main(["report", "d1", "--store", url, "-o", str(tmp_path / "d1.html")]) == 0
    assert "d1" in (tmp_path / "d1.html").read_text()
    assert main(["compare", "--from-store", url, "--json", str(tmp_path / "c.json"), "--quiet"]) == 0
    compared = json.loads((tmp_path / "c.json").read_text())["results"]["regularized-evolution"]
    assert len(compared["final_test"]) == DRIVERS and compared["trials"] == TRIALS
