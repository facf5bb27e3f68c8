"""The Ray executor on a real Ray cluster on 127.0.0.1 (a head and two worker nodes): a worker node killed
mid-search loses no trial and records none twice; one killed under ``compare --executor ray`` costs only its runs.
Skipped (with the reason) where Ray is not installed; CI installs it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'archsearch[ray]'")

from archsearch.store.sqlite import SQLiteStore  # noqa: E402
from tests.conftest import committed_trials  # noqa: E402
from tests.execution.faulty import SLOW_SECONDS  # noqa: E402

RAY = str(Path(sys.executable).with_name("ray"))
ROOT = str(Path(__file__).resolve().parents[2])  # the repository: Ray workers import tests.execution.faulty
TRIALS = 12


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CLUSTER_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",  # one token for nodes and driver
               "RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "3",
               "RAY_memory_monitor_refresh_ms": "0"}  # no OOM-killing of trials by Ray on a small CI machine


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A head without CPUs (it schedules, runs no trial) and two worker nodes of 2 CPUs, each in its own process
    group so that it can be killed, on 127.0.0.1. Yields the address and the two ``ray start --block`` processes."""
    port = _free_port()
    for key, value in {**CLUSTER_ENV, "RAY_AUTH_TOKEN": os.urandom(16).hex(),
                       "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}.items():
        monkeypatch.setenv(key, value)
    env = dict(os.environ)
    head = subprocess.run([RAY, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=0",
                           "--include-dashboard=false", "--disable-usage-stats"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert head.returncode == 0, head.stderr[-2000:]
    address = f"127.0.0.1:{port}"
    workers: list[subprocess.Popen] = []
    try:
        for nodes in (2, 3):  # one at a time: two `ray start` at once on one host race for ports
            workers.append(subprocess.Popen([RAY, "start", f"--address={address}", "--node-ip-address=127.0.0.1",
                                             "--num-cpus=2", "--block", "--disable-usage-stats"], env=env,
                                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            deadline = time.monotonic() + 90
            while _live_nodes(address, env) < nodes:
                assert workers[-1].poll() is None, workers[-1].communicate()[1][-2000:]
                assert time.monotonic() < deadline, "a worker node did not join"
                time.sleep(1)
        yield address, workers
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True, timeout=120)


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process (from /proc)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            out[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def _kill_node(worker: subprocess.Popen) -> int:
    """SIGKILL a node: its ``ray start`` process group (raylet, agents) and every descendant of those (the Ray
    workers start sessions of their own and rename themselves ``ray::...``). Returns how many were killed."""
    parents = _parents()
    doomed = {pid for pid in parents if _pgid(pid) == worker.pid}
    while True:
        children = {pid for pid, parent in parents.items() if parent in doomed} - doomed
        if not children:
            break
        doomed |= children
    for pid in doomed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(doomed)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _live_nodes(address: str, env: dict[str, str]) -> int:
    status = subprocess.run([RAY, "status", f"--address={address}"], env=env, capture_output=True, text=True,
                            timeout=60)
    active = status.stdout.split("Active:", 1)[-1].split("Pending:", 1)[0]
    return active.count("node_")


@pytest.mark.timeout(240)
def test_a_killed_worker_node_loses_no_trial_and_doubles_none(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A driver process runs 4 trials (2 s each) in flight on the two nodes; the worker node dies with trials on it."""
    address, (worker, _) = cluster
    store = tmp_path / "runs.db"
    marks = tmp_path / "marks"
    marks.mkdir()
    search = subprocess.Popen([sys.executable, "-m", "tests.execution.faulty", str(store), str(marks), "slow",
                               str(TRIALS), "4", "ray", address], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=ROOT)
    deadline = time.monotonic() + 200
    while committed_trials(store) < 2 and search.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(SLOW_SECONDS / 2)  # the next four trials are half-way through, two on each worker node
    assert search.poll() is None, search.communicate()
    assert _kill_node(worker) >= 3  # the node: raylet, agents, workers with their trials in flight
    killed_at = committed_trials(store)
    out, err = search.communicate(timeout=240)
    assert search.returncode == 0, err[-3000:]
    assert killed_at < TRIALS, "the worker node was killed mid-search"
    reader = SQLiteStore(store, create=False)
    try:
        experiment = reader.get_experiment("slow")
        trials = reader.trials(experiment.id)
        checkpoint = reader.checkpoint(experiment.id)
    finally:
        reader.close()
    assert [t.number for t in trials] == list(range(TRIALS))  # every trial recorded exactly once
    assert all(t.status == "ok" for t in trials), [t.error for t in trials if t.status != "ok"]
    assert checkpoint.trial_count == TRIALS and checkpoint.pending == []
    assert "a worker died; trial re-run" in err, err  # trials were on the killed node and ran again


def _running_task_under(worker: subprocess.Popen, title: str) -> bool:
    """Whether a Ray worker process of the node started by ``worker`` is running a task ``title`` now."""
    parents = _parents()
    tree = {pid for pid in parents if _pgid(pid) == worker.pid}
    while children := {pid for pid, parent in parents.items() if parent in tree} - tree:
        tree |= children
    for pid in tree:
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(title.encode()):
                return True
        except OSError:
            continue
    return False


@pytest.mark.timeout(300)
def test_compare_over_a_cluster_loses_only_the_killed_nodes_runs(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``compare --executor ray``: seeds as tasks on two worker nodes; one node dies with a seed running on it,
    that seed runs again on the other, and the results equal the serial run's (issue 27)."""
    from archsearch.compare import compare_strategies
    from archsearch.config import StudyConfig

    address, (worker, _) = cluster
    out = tmp_path / "compare.json"
    driver = subprocess.Popen([sys.executable, "-m", "archsearch.cli.main", "compare", "--executor", "ray",
                               "--address", address, "--strategies", "regularized-evolution", "--seeds", "4",
                               "--max-trials", "2000", "--json", str(out), "--quiet"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.monotonic() + 200
    while not _running_task_under(worker, "ray::_run_trial") and driver.poll() is None:
        assert time.monotonic() < deadline, "no seed started on the worker node"
        time.sleep(0.05)
    assert driver.poll() is None, driver.communicate()
    assert _kill_node(worker) >= 3  # the node with a seed in flight
    _, err = driver.communicate(timeout=240)
    assert driver.returncode == 0, err[-3000:]
    config = StudyConfig.from_mapping({"strategy": "regularized-evolution", "max_trials": 2000, "budget_seconds": None})
    serial = compare_strategies(config, ["regularized-evolution"], 4)["regularized-evolution"]
    spread = json.loads(out.read_text())["results"]["regularized-evolution"]
    assert spread["final_test"] == serial["final_test"] and spread["trials"] == serial["trials"]
    assert "lost its worker" in err and "running it again" in err, err[-3000:]  # the killed node's seed ran again
