"""The thread policy: how many threads torch, OpenMP and the BLAS libraries may use in one archsearch process.

On a machine that other jobs share, intra-op threads that wait for cores held by other processes turn a
parallel region into a stall: every thread of an OpenMP team must reach the region's barrier, so one
thread that the kernel has descheduled holds up the rest, and threads that spin at the barrier burn the
time slices the working threads need. Measured on 2 cores beside two busy processes, a 4-trial training
search took 5.9x its idle time with OpenMP's defaults and 2.0x under this policy. The policy therefore

- sizes the intra-op pool from the cores this process may really use: its CPU affinity, its cgroup's CPU
  quota (containers: ``cpu.max`` / ``cpu.cfs_quota_us``), the executor's workers (``cores // workers`` per
  process) and, when a study is created, the cores that other processes keep busy (sampled for 0.1 s from
  ``/proc/stat``); ``--threads N`` or ``ARCHSEARCH_THREADS=N`` fix the count instead;
- records the count in the study's config, so that a resume (and the reproduce command) trains with the
  same count: float reductions depend on the number of threads, and a seed must give the same history;
- keeps one inter-op thread per intra-op thread (archsearch runs no concurrent graph branches);
- lets OpenMP's idle threads spin only briefly before they sleep (``GOMP_SPINCOUNT``, ``KMP_BLOCKTIME``; a
  user's own settings win): a short spin keeps idle speed, whereas ``OMP_WAIT_POLICY=PASSIVE`` doubled the
  idle time of small networks; this takes effect in processes that load OpenMP after it is set (the CLI
  sets it before it imports torch; worker processes and Ray workers inherit it);
- runs the tiny-tensor code of the search itself (strategies, controllers, predictors: tensors of a few
  hundred numbers, where a thread team costs more than it saves) on one thread (:func:`one_thread`).

``ARCHSEARCH_THREAD_POLICY=off`` leaves every library at its own defaults (as before the policy; the
under-load benchmark's "before"). See docs/threads.md.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from archsearch.core.errors import UserError

THREADS_ENV = "ARCHSEARCH_THREADS"
POLICY_ENV = "ARCHSEARCH_THREAD_POLICY"
THREAD_COUNT_ENVS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
SHORT_SPIN = {"GOMP_SPINCOUNT": "10000", "KMP_BLOCKTIME": "1"}  # libgomp: spins before a wait sleeps; Intel: ms
USER_WAIT_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")  # any of these: the user's choice
LOAD_SAMPLE_SECONDS = 0.1
FREE_CORE = 0.75  # a core counts as free when other processes use less than a quarter of it
CGROUP_V2_MAX = "/sys/fs/cgroup/cpu.max"
CGROUP_V1_QUOTA = "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"
CGROUP_V1_PERIOD = "/sys/fs/cgroup/cpu/cpu.cfs_period_us"


@dataclass(frozen=True)
class ThreadPolicy:
    """What one process uses: ``intra_op`` threads per op (as many between ops); ``reason`` says where the count
    came from; ``reduced``: fewer than the cores allow, for other processes' load; ``enabled`` False: the
    libraries keep their defaults."""

    intra_op: int
    reason: str
    enabled: bool = True
    reduced: bool = False

    @property
    def inter_op(self) -> int:
        return self.intra_op  # archsearch runs no concurrent graph branches

    def env(self) -> dict[str, str]:
        """The variables a child process needs to start under this policy (empty when disabled)."""
        if not self.enabled:
            return {}
        return {**{name: str(self.intra_op) for name in THREAD_COUNT_ENVS}, **wait_environment()}


def _policy_off() -> bool:
    return os.environ.get(POLICY_ENV, "").strip().lower() == "off"


def wait_environment() -> dict[str, str]:
    """The short-spin settings, unless the user chose a wait policy of their own."""
    if any(os.environ.get(name) for name in USER_WAIT_SETTINGS if os.environ.get(name) != SHORT_SPIN.get(name)):
        return {}
    return dict(SHORT_SPIN)


def cgroup_cpu_limit() -> float | None:
    """The CPUs this process's cgroup may use (quota / period), None when unlimited or unknown."""
    try:
        with open(CGROUP_V2_MAX) as handle:
            quota, period = handle.read().split()[:2]
        return None if quota == "max" else float(quota) / float(period)
    except (OSError, ValueError):
        pass
    try:
        with open(CGROUP_V1_QUOTA) as q, open(CGROUP_V1_PERIOD) as p:
            quota_us, period_us = float(q.read()), float(p.read())
        return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def usable_cores() -> int:
    """Cores this process may run on: its affinity mask, capped by its cgroup's CPU quota."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    limit = cgroup_cpu_limit()
    if limit is not None:
        cores = min(cores, max(1, math.floor(limit)))
    return max(1, cores)


def _cpu_ticks(cpus: set[int] | None) -> tuple[float, float]:
    """(busy, total) clock ticks of the CPUs in ``cpus`` (all when None) since boot, from /proc/stat."""
    busy = total = 0.0
    with open("/proc/stat") as handle:
        for line in handle:
            name, *fields = line.split()
            if not name.startswith("cpu") or name == "cpu":
                continue
            if cpus is not None and int(name[3:]) not in cpus:
                continue
            values = [float(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
            total += sum(values)
            busy += sum(values) - values[3] - values[4]
    return busy, total


def busy_cores_of_others(seconds: float = LOAD_SAMPLE_SECONDS) -> float:
    """Cores' worth of CPU that other processes use now, over a ``seconds`` sample (0.0 where unknown)."""
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        busy0, total0 = _cpu_ticks(cpus)
        own0, wall0 = time.process_time(), time.monotonic()
        time.sleep(seconds)
        busy1, total1 = _cpu_ticks(cpus)
        own1, wall1 = time.process_time(), time.monotonic()
    except (OSError, ValueError):
        return 0.0
    if total1 <= total0:
        return 0.0
    cores = len(cpus) if cpus else (os.cpu_count() or 1)
    busy_cores = cores * (busy1 - busy0) / (total1 - total0)
    return max(0.0, busy_cores - (own1 - own0) / max(wall1 - wall0, 1e-9))


def parse_threads(value: object, where: str = "--threads") -> int:
    """A positive thread count from a flag or the environment (UserError otherwise)."""
    try:
        threads = int(str(value).strip())
    except ValueError:
        raise UserError(f"{where} must be a positive whole number of threads, not {value!r}") from None
    if threads < 1:
        raise UserError(f"{where} must be a positive whole number of threads, not {value!r}")
    return threads


def resolve(threads: int | None = None, workers: int = 1, cores: int | None = None,
            sample_load: bool = False) -> ThreadPolicy:
    """The policy for a process that runs one of ``workers`` concurrent trials: ``threads`` (the user's
    ``--threads``) first, then ``ARCHSEARCH_THREADS``, then ``usable cores // workers``; ``sample_load``: less
    the cores that other processes keep busy now (at least one thread)."""
    if _policy_off():
        return ThreadPolicy(0, "off", enabled=False)
    if threads is not None:
        count, reason = parse_threads(threads), "--threads"
    elif os.environ.get(THREADS_ENV, "").strip():
        count, reason = parse_threads(os.environ[THREADS_ENV], THREADS_ENV), THREADS_ENV
    else:
        cores = cores or usable_cores()
        workers = max(1, int(workers))
        count = max(1, cores // workers)
        reason = f"{cores} usable cores" + (f" / {workers} workers" if workers > 1 else "")
        if sample_load and count > 1:
            others = busy_cores_of_others()
            free = max(1, int(cores - others + (1 - FREE_CORE)))
            if free < cores:
                reduced = max(1, min(count, free // workers))
                return ThreadPolicy(reduced, f"{reason}, {others:.1f} busy with other processes",
                                    reduced=reduced < count)
    return ThreadPolicy(count, reason)


def trial_threads(threads: int | None, executor: str, workers: int, trains: bool) -> ThreadPolicy | None:
    """The policy a new study chooses for its trials: None when ``threads`` fixes the count or the executor is
    Ray (a task takes its CPUs' count); else cores // workers, less the cores other processes keep busy when
    the trials train networks (``trains``; a table lookup does not need the sample)."""
    if threads is not None or executor == "ray":
        return None
    return resolve(None, workers, sample_load=trains)


def prepare_environment(threads: int | None = None) -> None:
    """What a process's entry point calls before it imports torch: the short OpenMP spin, and the thread
    counts when they are fixed (``threads`` or ``ARCHSEARCH_THREADS``). Children inherit it either way."""
    if _policy_off():
        return
    os.environ.update(wait_environment())
    if threads is not None or os.environ.get(THREADS_ENV, "").strip():
        os.environ.update(resolve(threads).env())


def apply(policy: ThreadPolicy) -> ThreadPolicy:
    """Put ``policy`` in force in this process: environment, torch's pools, the BLAS pools numpy uses."""
    if not policy.enabled:
        return policy
    os.environ.update(policy.env())  # read by torch and numpy when they load later (not loaded: not imported)
    _blas_controller().limit(limits=policy.intra_op, user_api="blas")
    torch = sys.modules.get("torch")
    if torch is None:
        return policy
    if torch.get_num_threads() != policy.intra_op:
        torch.set_num_threads(policy.intra_op)
    if torch.get_num_interop_threads() != policy.inter_op:
        try:
            torch.set_num_interop_threads(policy.inter_op)
        except RuntimeError:  # only settable before the first inter-op work of the process
            pass
    return policy


def configure(threads: int | None = None, workers: int = 1) -> ThreadPolicy:
    """``apply(resolve(threads, workers))``: what a process's entry point calls once (CLI, worker, Ray task)."""
    return apply(resolve(threads, workers))


@contextmanager
def in_force(policy: ThreadPolicy) -> Iterator[ThreadPolicy]:
    """``policy`` for the duration of a block (a study's run inside someone else's program): the caller's
    torch and BLAS thread counts and environment come back afterwards."""
    if not policy.enabled:
        yield policy
        return
    saved_env = {name: os.environ.get(name) for name in policy.env()}
    torch = sys.modules.get("torch")  # not loaded yet: it loads with the policy's environment, if at all
    before = torch.get_num_threads() if torch is not None else None
    blas = _blas_controller().limit(limits=policy.intra_op, user_api="blas")  # remembers the caller's limits
    try:
        yield apply(policy)
    finally:
        blas.restore_original_limits()
        if before is not None:
            torch.set_num_threads(before)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_BLAS: list[Any] = []  # a cached threadpoolctl controller of the BLAS libraries loaded (finding them costs ms)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run a block of tiny-tensor code (a strategy's ask or tell) on one torch thread and one BLAS thread,
    then restore both pools. Costs ~20 microseconds; does nothing when the policy is off."""
    if _policy_off():
        yield
        return
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else 1
    if before != 1:
        torch.set_num_threads(1)
    try:
        with _blas_controller().limit(limits=1, user_api="blas"):
            yield
    finally:
        if before != 1:
            torch.set_num_threads(before)


def _blas_controller() -> Any:
    """The BLAS libraries loaded now (kept once numpy, which loads its BLAS, is loaded)."""
    if _BLAS:
        return _BLAS[0]
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    if "numpy" in sys.modules:
        _BLAS.append(controller)
    return controller
