"""The processes executor: a spawn-context pool of worker processes on this machine.

Each worker limits torch (and the BLAS libraries numpy uses) to ``cores // workers`` threads, so
``--workers N`` on an N-core machine runs N single-threaded trials side by side instead of N
oversubscribed ones. Spawn (not fork) gives each worker a clean interpreter: no inherited torch
thread pools, no copied locks. Arguments travel by pickle; estimators pickle as their options and load
their data once per worker.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from archsearch.core.options import check_int


def _limit_threads(threads: int) -> None:
    """Runs first in every worker."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        pass
    import archsearch.study  # noqa: F401 - warm the imports a trial needs


def _ready() -> int:
    return os.getpid()


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    cores = cores or os.cpu_count() or 1
    return max(1, cores // workers)


class ProcessExecutor:
    """``ProcessExecutor(workers=2)``; ``submit(fn, *args)`` -> future. Use as a context manager or ``shutdown()``."""

    name = "processes"

    def __init__(self, workers: int = 2, threads: int | None = None) -> None:
        self.workers = check_int("executor processes", "workers", workers, 1)
        self.threads = threads or threads_per_worker(self.workers)
        self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_limit_threads, initargs=(self.threads,))
        # start every worker now, so the first trials' wall time does not include interpreter start-up
        for future in [self._pool.submit(_ready) for _ in range(self.workers)]:
            future.result()

    def submit(self, fn: Callable[..., Any], *args: Any) -> "Future[Any]":
        return self._pool.submit(fn, *args)

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
        """Results in input order."""
        return self._pool.map(fn, *iterables)

    def shutdown(self, wait: bool = True) -> None:
        """Cancel trials not started; ``wait=False`` returns at once (after an interrupt or an error)."""
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def __enter__(self) -> "ProcessExecutor":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


def make_executor(kind: str = "serial", workers: int = 1) -> Any:
    """The executor a config names: ``serial`` or ``processes`` (``workers`` > 1)."""
    from archsearch.core.errors import UserError
    from archsearch.execution.serial import SerialExecutor

    workers = check_int("executor", "workers", workers, 1)
    if kind == "serial":
        if workers > 1:
            raise UserError("--workers > 1 needs --executor processes")
        return SerialExecutor()
    if kind == "processes":
        return ProcessExecutor(workers)
    raise UserError(f"unknown executor {kind!r}; choose serial or processes")
