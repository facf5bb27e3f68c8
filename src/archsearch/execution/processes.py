"""The processes executor: a spawn-context pool of worker processes on this machine.

Each worker puts the thread policy (:mod:`archsearch.core.threads`) in force before it imports torch:
``usable cores // workers`` threads (or ``--threads``), a short OpenMP spin, so ``--workers N`` on an
N-core machine runs N single-threaded trials side by side instead of N oversubscribed ones. Spawn (not fork) gives each worker a clean interpreter: no inherited torch
thread pools, no copied locks. Arguments travel by pickle; estimators pickle as their options and load
their data once per worker.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from archsearch.core.executor import Executor
from archsearch.core.options import check_int
from archsearch.core.threads import ThreadPolicy, apply, resolve


PARENT_POLL_SECONDS = 1.0


def _exit_with_parent(parent: int) -> None:
    """A worker outlives a driver killed with SIGKILL (nothing tells the pool); this thread ends it instead."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


def _start_worker(policy: ThreadPolicy) -> None:
    """Runs first in every worker: a watchdog that exits with the driver, then the thread policy."""
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True, name="archsearch-parent").start()
    apply(policy)


def _ready() -> int:
    return os.getpid()


class ProcessExecutor:
    """``ProcessExecutor(workers=2)``; ``submit(fn, *args)`` -> future. Use as a context manager or ``shutdown()``.

    One single-process pool per worker: a worker that dies (SIGKILL, out of memory) breaks only its own pool, so
    only its own trial is lost (the study re-runs it) and the pool is replaced; ``cancel`` stops one trial by
    killing and replacing its worker alone. A trial goes to the worker with the fewest trials in flight."""

    name = "processes"

    def __init__(self, workers: int = 2, threads: int | None = None) -> None:
        self.workers = check_int("executor processes", "workers", workers, 1)
        self.policy = resolve(threads, self.workers)  # each worker's threads
        self._pools = [self._new_pool() for _ in range(self.workers)]
        self._owner: dict[Future[Any], int] = {}  # future -> index of its pool
        # start every worker now, so the first trials' wall time does not include interpreter start-up
        for future in [pool.submit(_ready) for pool in self._pools]:
            future.result()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                                   initargs=(self.policy,))

    def submit(self, fn: Callable[..., Any], *args: Any) -> "Future[Any]":
        self.recover()
        load = [0] * len(self._pools)
        for index in self._owner.values():
            load[index] += 1
        index = load.index(min(load))
        future = self._pools[index].submit(fn, *args)
        self._owner[future] = index
        future.add_done_callback(lambda done: self._owner.pop(done, None))
        return future

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
        """Results in input order."""
        futures = [self.submit(fn, *args) for args in zip(*iterables)]
        return (future.result() for future in futures)

    def cancel(self, future: "Future[Any]") -> bool:
        """Stop one trial: its worker is killed and replaced; the others run on (False: nothing else lost)."""
        if future.cancel():
            return False
        index = self._owner.pop(future, None)
        if index is not None:
            _kill(self._pools[index])
            self._pools[index] = self._new_pool()
        return False

    def recover(self) -> None:
        """Replace the pools whose worker died."""
        for index, pool in enumerate(self._pools):
            if getattr(pool, "_broken", False):
                _kill(pool)
                self._pools[index] = self._new_pool()

    def shutdown(self, wait: bool = True) -> None:
        """Cancel trials not started; ``wait=False`` returns at once (after an interrupt or an error)."""
        for pool in self._pools:
            pool.shutdown(wait=wait, cancel_futures=True)

    def __enter__(self) -> "ProcessExecutor":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


def _kill(pool: ProcessPoolExecutor) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())  # CPython's pool keeps them here
    for process in processes:
        if process.is_alive():
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(timeout=5)


def make_executor(kind: str = "serial", workers: int = 1, address: str | None = None,
                  gpus_per_trial: float = 0.0, threads: int | None = None) -> Executor:
    """The executor a config names: ``serial``, ``processes`` (``workers`` > 1) or ``ray`` (``address``:
    ``auto``/``HOST:PORT`` joins a cluster, None starts a local Ray); ``threads``: each trial's intra-op
    threads (default: the thread policy's)."""
    from archsearch.core.errors import UserError
    from archsearch.execution.serial import SerialExecutor

    workers = check_int("executor", "workers", workers, 1)
    if kind == "serial":
        if workers > 1:
            raise UserError("--workers > 1 needs --executor processes or ray")
        return SerialExecutor()
    if kind == "processes":
        return ProcessExecutor(workers, threads)
    if kind == "ray":
        from archsearch.execution.ray import RayExecutor

        return RayExecutor(workers, address=address, gpus_per_trial=gpus_per_trial, threads=threads)
    raise UserError(f"unknown executor {kind!r}; choose serial, processes or ray")
