"""Fault handling with worker processes: a worker that dies takes its trial back to the queue (re-run up to
``max_retries`` times, then ``failed`` with the reason); a trial over ``trial_timeout`` is stopped and
``failed``; the search completes in every case. And one process at a time runs an experiment."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archsearch.cli.main import main
from archsearch.config import StudyConfig
from archsearch.core.errors import UserError
from archsearch.store.sqlite import SQLiteStore
from archsearch.study import Study, build_components
from tests.conftest import committed_trials
from tests.execution.faulty import FaultyEstimator


def faulty_study(tmp_path: Path, mode: str, **keys: object) -> Study:
    config = StudyConfig.from_mapping({"name": mode, "strategy": "random", "max_trials": 4, "executor": "processes",
                                       "workers": 2, **keys})
    config.finish_budget()
    components = build_components(config)
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    components = dataclasses.replace(components, estimator=FaultyEstimator(mode, str(marks)))
    return Study.create(config, SQLiteStore(tmp_path / "runs.db"), components=components)


@pytest.mark.timeout(120)
def test_a_dead_worker_takes_its_trial_back_to_the_queue(tmp_path: Path) -> None:
    messages: list[str] = []
    study = faulty_study(tmp_path, "die-once").run(on_message=messages.append)
    assert [t.number for t in study.trials] == [0, 1, 2, 3]
    assert all(t.status == "ok" for t in study.trials)  # each died once, then ran again
    assert sum("a worker died; trial re-run" in m for m in messages) == 4  # its own worker only: no victims


@pytest.mark.timeout(120)
def test_a_trial_whose_worker_always_dies_is_failed_after_the_retries(tmp_path: Path) -> None:
    study = faulty_study(tmp_path, "always-die", max_retries=1, max_trials=2).run()
    assert len(study.trials) == 2 and all(t.status == "failed" for t in study.trials)
    assert all("its worker died 2 times" in t.error for t in study.trials)


@pytest.mark.timeout(120)
def test_a_trial_over_the_time_limit_is_stopped_and_failed(tmp_path: Path) -> None:
    started = time.monotonic()
    study = faulty_study(tmp_path, "hang", trial_timeout=1.0, max_trials=3).run()
    assert len(study.trials) == 3 and all(t.status == "failed" for t in study.trials)
    assert all(t.error == "timed out after 1 s" for t in study.trials)
    assert time.monotonic() - started < 60  # not the 120 s each trial would sleep


def test_a_time_limit_needs_an_executor_that_can_stop_a_trial() -> None:
    config = StudyConfig.from_mapping({"trial_timeout": 5, "max_trials": 2})
    with pytest.raises(UserError, match="trial_timeout needs the executor"):
        config.validate()


@pytest.mark.timeout(120)
def test_a_running_experiment_cannot_be_resumed_twice(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = tmp_path / "runs.db"
    search = subprocess.Popen([sys.executable, "-m", "archsearch.cli.main", "search", "--max-trials", "1000000",
                               "--store", str(store), "--name", "busy", "--quiet"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while committed_trials(store) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert main(["resume", "busy", "--store", str(store), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert "is being run by process" in err and len(err.splitlines()) == 1
    finally:
        os.kill(search.pid, signal.SIGKILL)
        search.wait()
    reader = SQLiteStore(store, create=False)  # the kernel released the dead driver's lock
    try:
        study = Study.resume("busy", reader)
        assert len(study.trials) >= 5
    finally:
        reader.close()


def test_the_ray_executor_without_ray_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from archsearch.execution.ray import RayExecutor

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(UserError, match=r'pip install "archsearch\[ray\]"'):
        RayExecutor(2)


@pytest.mark.timeout(120)
def test_worker_processes_exit_when_the_driver_is_killed(tmp_path: Path) -> None:
    store = tmp_path / "runs.db"
    search = subprocess.Popen([sys.executable, "-m", "archsearch.cli.main", "search", "--max-trials", "1000000",
                               "--executor", "processes", "--workers", "2", "--store", str(store), "--name", "orphans",
                               "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while committed_trials(store) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [pid for pid, parent in _parents().items() if parent == search.pid]
    assert len(workers) >= 2  # the pool's processes (and its resource tracker)
    os.kill(search.pid, signal.SIGKILL)
    search.wait()
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers), "worker processes outlived their driver"


def _parents() -> dict[int, int]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                out[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
