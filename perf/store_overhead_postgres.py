"""The PostgreSQL store's cost (issue 27; not part of the test suite): per-trial durable overhead, and the
throughput of 6 concurrent drivers against 1.

1. **Overhead.** As ``perf/store_overhead.py`` (issue 9): regularized evolution on the NAS-Bench-201 table,
   10,000 trials, 8 simulated workers, each trial one transaction with the strategy checkpoint; into a PostgreSQL
   15 server on this machine with its default durability (``fsync=on``, ``synchronous_commit=on``: a commit
   survives a crash of the machine), reached over its unix socket and over TCP on 127.0.0.1; with
   ``synchronous_commit=off`` set by the URL (``options=-c synchronous_commit=off``: like SQLite's
   ``synchronous=NORMAL``, a killed driver loses nothing, a crash of the server's machine may lose the last
   commits); and into SQLite (WAL, ``synchronous=NORMAL``) for reference. Reports ms per trial and the part spent in the store's commit.
2. **Many drivers.** ``archsearch search`` processes started at once (1, then 6), each its own study of
   ``--trials`` trials, all on one PostgreSQL database (then one SQLite file, for reference). Throughput: all
   trials / the span from the first trial's start to the last trial's end, read from the store (process
   start-up left out), and the wall time from launch to the last exit.

The server is a throwaway one (``tests/postgres_server.start_server``: initdb into a temporary folder, as the
user postgres when run as root), stopped at the end.

    .venv/bin/python perf/store_overhead_postgres.py [--trials 10000] [--repeats 3] [--driver-trials 2000]

Writes perf/results/store_overhead_postgres.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.postgres_server

from archsearch.config import StudyConfig  # noqa: E402
from archsearch.store.factory import open_store  # noqa: E402
from archsearch.study import Study  # noqa: E402
from store_overhead import SimulatedWorkers, Timed  # noqa: E402
from tests.postgres_server import start_server, with_database  # noqa: E402

RESULTS = Path(__file__).parent / "results"
ASYNC_COMMIT = "&options=-c%20synchronous_commit%3Doff"  # as SQLite's NORMAL: a killed driver loses nothing


def new_database(admin: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {name}")
        db.execute(f"CREATE DATABASE {name}")
    return with_database(admin, name)


def overhead_once(location: str, trials: int, workers: int) -> dict[str, float]:
    config = StudyConfig.from_mapping({"name": "overhead", "max_trials": trials, "seed": 0})
    config.finish_budget()
    store = open_store(location)
    study = Study.create(config, store, executor=SimulatedWorkers(workers))
    commit = Timed(store, "record_trial")
    started = time.perf_counter()
    study.run()
    seconds = time.perf_counter() - started
    store.close()
    assert len(study.trials) == trials
    return {"ms_per_trial": 1000 * seconds / trials, "commit_ms": 1000 * commit.seconds / trials}


def drivers_once(location: str, drivers: int, trials: int) -> dict[str, float]:
    """``drivers`` search processes at once on ``location``; trials/s over the span of their trials."""
    command = [sys.executable, "-m", "archsearch.cli.main", "search", "--strategy", "regularized-evolution",
               "--max-trials", str(trials), "--store", location, "--quiet"]
    launched = time.perf_counter()
    processes = [subprocess.Popen([*command, "--seed", str(k), "--name", f"d{k}"], stdout=subprocess.DEVNULL)
                 for k in range(drivers)]
    assert all(process.wait() == 0 for process in processes)
    wall = time.perf_counter() - launched
    store = open_store(location, create=False, write=False)
    spans = [store.trials(e.id) for e in store.experiments()]
    store.close()
    first, last = min(t[0].started for t in spans), max(t[-1].finished for t in spans)
    return {"trials_per_s": drivers * trials / (last - first), "wall_s": wall,
            "per_driver_trials_per_s": statistics.median(len(t) / (t[-1].finished - t[0].started) for t in spans)}


def median_of(runs: list[dict[str, float]]) -> dict[str, Any]:
    summary: dict[str, Any] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    summary["runs"] = runs
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--driver-trials", type=int, default=2000)
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    admin = start_server(f"-c listen_addresses=127.0.0.1 -c port={port}") + f"&port={port}"  # fsync on
    tcp_admin = f"postgresql://archsearch@127.0.0.1:{port}/postgres"
    report: dict[str, Any] = {"trials": args.trials, "workers": args.workers, "repeats": args.repeats,
                              "cpus": os.cpu_count(), "overhead": {}, "drivers": {}}
    with tempfile.TemporaryDirectory() as folder:
        locations = {"postgres-socket": lambda k: new_database(admin, f"o{k}"),
                     "postgres-socket-async": lambda k: new_database(admin, f"a{k}") + ASYNC_COMMIT,
                     "postgres-tcp": lambda k: with_database(tcp_admin, urlpath(new_database(admin, f"t{k}"))),
                     "sqlite": lambda k: str(Path(folder) / f"o{k}.db")}
        for kind, make in locations.items():
            summary = median_of([overhead_once(make(k), args.trials, args.workers) for k in range(args.repeats)])
            report["overhead"][kind] = summary
            print(f"{kind:16s} {summary['ms_per_trial']:.3f} ms/trial, commit {summary['commit_ms']:.3f} ms "
                  f"(median of {args.repeats})", flush=True)
        for kind in ("postgres-socket", "sqlite"):
            for drivers in (1, 6):
                runs = []
                for k in range(args.repeats):
                    location = (new_database(admin, f"d{drivers}_{k}") if kind != "sqlite"
                                else str(Path(folder) / f"d{drivers}_{k}.db"))
                    runs.append(drivers_once(location, drivers, args.driver_trials))
                summary = median_of(runs)
                report["drivers"][f"{kind}-{drivers}"] = summary
                print(f"{kind:16s} {drivers} driver(s): {summary['trials_per_s']:.0f} trials/s in all, "
                      f"{summary['per_driver_trials_per_s']:.0f} per driver, {summary['wall_s']:.1f} s wall "
                      f"(median of {args.repeats})", flush=True)
    report["load_average_1min_at_end"] = os.getloadavg()[0]  # the machine is shared: say how busy it was
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "store_overhead_postgres.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {RESULTS / 'store_overhead_postgres.json'} (1-min load average at the end: "
          f"{report['load_average_1min_at_end']:.2f})")


def urlpath(url: str) -> str:
    """The database name of ``url``."""
    from urllib.parse import urlsplit

    return urlsplit(url).path.lstrip("/")


if __name__ == "__main__":
    main()
