"""Searches on a busy machine: wall time idle and beside k CPU-bound processes, before and after the thread policy
(issue 19 benchmark).

Cases (each run in a fresh process, timed from the start of the search to its end, after the imports):

- ``digits``: ``archsearch search --space nb201 --strategy regularized-evolution --estimator train --dataset digits
  --max-trials 4 --seed 0`` (real training, serial);
- ``reinforce`` / ``bananas``: a 100-trial search on the NB201 table (CIFAR-10; tiny-tensor strategy code);
- ``supernet``: one GDAS supernet epoch on mnist5k (NB201 cell, C=8, N=2, batch 64), as perf/oneshot_epoch.py.

Loads: 0, 1 and 2 competing processes, each a pure-Python busy loop, started before the case and killed after
it. Policies: ``before`` (``ARCHSEARCH_THREAD_POLICY=off``: torch, OpenMP and BLAS at their defaults, as before
issue 19) and ``after`` (the thread policy, as the CLI applies it). For each case and load the two policies run
back to back (before, after), ``--repeats`` times, so a ratio compares runs taken side by side; the summary uses
the median of the repeats. Goal: with k competitors on c
usable cores, ``wall <= 1.25 x idle x (c + k) / c`` (fair sharing plus 25 %), idle = the same policy's idle run.

    .venv/bin/python perf/under_load.py --out perf/results/under_load.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CASES = {
    "digits": ["search", "--space", "nb201", "--strategy", "regularized-evolution", "--estimator", "train",
               "--dataset", "digits", "--max-trials", "4", "--seed", "0", "--quiet"],
    "reinforce": ["search", "--strategy", "reinforce", "--max-trials", "100", "--seed", "0", "--quiet"],
    "bananas": ["search", "--strategy", "bananas", "--max-trials", "100", "--seed", "0", "--quiet"],
    "supernet": [],  # one GDAS epoch, timed in-process (below)
}
SUPERNET = {"strategy": "gdas", "net": {"channels": 8, "cells_per_stage": 2}, "batch_size": 64}
BUSY_LOOP = "while True: pass"
SLACK = 1.25


def child(case: str, policy: str) -> None:
    """Runs in a fresh process: the policy's environment before torch loads (as the CLI does), the imports,
    then the timed case. Prints the seconds as JSON."""
    from archsearch.core.threads import prepare_environment

    if policy == "after":
        prepare_environment()
    import torch  # noqa: F401 - imports are not timed
    import archsearch.study  # noqa: F401
    from archsearch.cli.main import main

    if case == "supernet":
        seconds = _supernet_epoch()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            code = main([*CASES[case], "--store", str(Path(tmp) / "runs.db")])
            seconds = time.perf_counter() - started
            assert code == 0, f"{case} exited {code}"
    print(json.dumps({"seconds": seconds}))


def _supernet_epoch() -> float:
    import numpy as np

    from archsearch.core.objectives import Objective
    from archsearch.core.registry import STRATEGIES
    from archsearch.core.threads import resolve, in_force
    from archsearch.estimators.supernet import OneShotSearch
    from archsearch.spaces.nb201 import NB201Space

    strategy = STRATEGIES.create(SUPERNET["strategy"], epochs=2, batch_size=SUPERNET["batch_size"],
                                 net=SUPERNET["net"], hessian_every=0)
    space = NB201Space()
    strategy.bind(space, [Objective("valid_acc", "max")], np.random.default_rng(0))
    # what a serial Study puts in force around its one-shot phase: the count chosen (and recorded) at creation
    with in_force(resolve(None, sample_load=True)):
        engine = OneShotSearch(space, strategy, "mnist5k", seed=0, device="cpu")
        started = time.perf_counter()
        engine.train_epoch()
        return time.perf_counter() - started


def run_case(case: str, policy: str, load: int) -> float:
    env = dict(os.environ)
    env.pop("ARCHSEARCH_THREADS", None)
    if policy == "before":
        env["ARCHSEARCH_THREAD_POLICY"] = "off"
    else:
        env.pop("ARCHSEARCH_THREAD_POLICY", None)
    competitors = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(load)]
    try:
        time.sleep(0.5 if load else 0.0)  # the competitors are running before the case starts
        out = subprocess.run([sys.executable, __file__, "--child", case, "--policy", policy], env=env,
                             capture_output=True, text=True, timeout=3600)
    finally:
        for process in competitors:
            process.kill()
            process.wait()
    if out.returncode != 0:
        raise RuntimeError(f"{case} ({policy}, load {load}) failed: {out.stderr[-2000:]}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def summarise(times: dict[str, dict[str, dict[str, list[float]]]], cores: int) -> dict[str, Any]:
    """Per case and policy: the ratio to its idle time, the goal's bound and whether it is met (medians)."""
    rows: dict[str, Any] = {}
    for case, by_policy in times.items():
        for policy, runs in by_policy.items():
            by_load = {load: statistics.median(values) for load, values in runs.items()}
            idle = by_load.get("0")
            for load, seconds in by_load.items():
                if idle is None or load == "0":
                    continue
                k = int(load)
                bound = SLACK * idle * (cores + k) / cores
                rows[f"{case}/{policy}/+{k}"] = {"seconds": seconds, "idle_seconds": idle, "ratio": seconds / idle,
                                                 "bound_seconds": bound, "met": seconds <= bound}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", choices=list(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--policy", choices=["before", "after"], default="after", help=argparse.SUPPRESS)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--loads", default="0,1,2")
    parser.add_argument("--policies", default="before,after")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.policy)
        return
    from archsearch.core.threads import usable_cores

    cores = usable_cores()
    times: dict[str, dict[str, dict[str, list[float]]]] = {}
    for case in args.cases.split(","):
        for load in [int(k) for k in args.loads.split(",")]:
            for _ in range(args.repeats):
                for policy in args.policies.split(","):
                    seconds = run_case(case, policy, load)
                    times.setdefault(case, {}).setdefault(policy, {}).setdefault(str(load), []).append(seconds)
                    print(f"{case:10s} {policy:6s} +{load}: {seconds:7.2f} s", flush=True)
                    if args.out:
                        _write(args.out, cores, times)
    for name, row in summarise(times, cores).items():
        print(f"{name:22s} {row['seconds']:7.2f} s = {row['ratio']:.2f} x idle; bound {row['bound_seconds']:.2f} s "
              f"({'met' if row['met'] else 'MISSED'})")


def _write(path: str, cores: int, times: dict[str, Any]) -> None:
    import torch

    Path(path).write_text(json.dumps({
        "machine": {"cores": cores, "cpu": platform.processor() or platform.machine(), "torch": torch.__version__},
        "competitor": f"python -c {BUSY_LOOP!r}", "slack": SLACK, "times": times,
        "summary": summarise(times, cores)}, indent=2) + "\n")


if __name__ == "__main__":
    main()
