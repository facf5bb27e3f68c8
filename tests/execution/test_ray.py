"""The Ray executor on a real two-node Ray cluster on 127.0.0.1: a worker node killed mid-search loses no trial
and records none twice. Skipped (with the reason) where Ray is not installed; CI installs it."""

from __future__ import annotations

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
from tests.cli.test_resume_kill import committed_trials  # noqa: E402

RAY = str(Path(sys.executable).with_name("ray"))
TRIALS = 12


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CLUSTER_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",  # one token for nodes and driver
               "RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "3"}


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A head (2 CPUs) and a worker node (2 CPUs, its own process group so it can be killed) on 127.0.0.1."""
    port = _free_port()
    for key, value in {**CLUSTER_ENV, "RAY_AUTH_TOKEN": os.urandom(16).hex()}.items():
        monkeypatch.setenv(key, value)
    env = dict(os.environ)
    head = subprocess.run([RAY, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                           "--include-dashboard=false", "--disable-usage-stats"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert head.returncode == 0, head.stderr[-2000:]
    address = f"127.0.0.1:{port}"
    worker = subprocess.Popen([RAY, "start", f"--address={address}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
                               "--block", "--disable-usage-stats"], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while _live_nodes(address, env) < 2:
        assert time.monotonic() < deadline and worker.poll() is None, "the worker node did not join"
        time.sleep(1)
    try:
        yield address, worker
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True, timeout=120)


def _cmdlines() -> dict[int, str]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                out[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                pass
    return out


def _kill_node(worker: subprocess.Popen) -> int:
    """SIGKILL a node: its ``ray start`` process group (raylet, agents) and its worker processes (each in a
    session of its own, found by the raylet socket they connect to). Returns how many workers were killed."""
    cmdlines = _cmdlines()
    group = [pid for pid in cmdlines if _pgid(pid) == worker.pid]
    sockets = {part.split("=", 1)[1] for pid in group for part in cmdlines[pid].split()
               if part.startswith("--raylet_socket_name=")}
    workers = [pid for pid, line in cmdlines.items() if "default_worker" in line
               and any(f"--raylet-name={socket}" in line for socket in sockets)]
    os.killpg(worker.pid, signal.SIGKILL)
    for pid in workers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(workers)


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


@pytest.mark.timeout(300)
def test_a_killed_worker_node_loses_no_trial_and_doubles_none(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The CLI driver runs 4 trials in flight on the two nodes; the worker node dies with trials on it."""
    address, worker = cluster
    store = tmp_path / "runs.db"
    search = subprocess.Popen(
        [sys.executable, "-m", "archsearch.cli.main", "search", "--strategy", "random", "--estimator", "train",
         "--dataset", "digits", "--max-trials", str(TRIALS), "--executor", "ray", "--workers", "4", "--address", address,
         "--set", "estimator.epochs=12", "--set", "estimator.measure=[]", "--set", "estimator.net.channels=4",
         "--set", "estimator.net.cells_per_stage=1", "--store", str(store), "--name", "ray"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 200
    while committed_trials(store) < 2 and search.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert search.poll() is None, search.communicate()
    assert _kill_node(worker) >= 1  # the node's raylet and its workers, with their trials in flight
    killed_at = committed_trials(store)
    out, err = search.communicate(timeout=240)
    assert search.returncode == 0, err[-3000:]
    assert killed_at < TRIALS, "the worker node was killed mid-search"
    reader = SQLiteStore(store, create=False)
    try:
        experiment = reader.get_experiment("ray")
        trials = reader.trials(experiment.id)
        checkpoint = reader.checkpoint(experiment.id)
    finally:
        reader.close()
    assert [t.number for t in trials] == list(range(TRIALS))  # every trial recorded exactly once
    assert all(t.status == "ok" for t in trials), [t.error for t in trials if t.status != "ok"]
    assert checkpoint.trial_count == TRIALS and checkpoint.pending == []
    assert "a worker died; trial re-run" in err  # trials were on the killed node and ran again
