"""Executors: where trials run. Each is an :class:`archsearch.core.executor.Executor`: ``submit(fn, *args) ->
concurrent.futures.Future``, ``workers``, ``cancel(future)`` (stops one trial where the executor can; True when
it had to give up the other trials in flight too), ``recover()`` (replaces workers that died), ``shutdown()``.

A future whose worker died (a killed process, a lost Ray node) raises :class:`WorkerLost` (or, for the
process pool, ``concurrent.futures.BrokenExecutor``): not the trial's fault, so the study runs it again.
"""

from archsearch.execution.serial import SerialExecutor


class WorkerLost(Exception):
    """The worker (process, Ray worker or node) running a trial died before returning its result."""


__all__ = ["SerialExecutor", "WorkerLost"]
