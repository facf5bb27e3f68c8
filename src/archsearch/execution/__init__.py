"""Executors: where trials run. All share ``submit(fn, *args) -> concurrent.futures.Future``,
``workers`` and ``shutdown()``; ``cancel(future)`` stops one trial where the executor can (returns the
other futures it had to give up with it), ``recover()`` replaces workers that died.

A future whose worker died (a killed process, a lost Ray node) raises :class:`WorkerLost` (or, for the
process pool, ``concurrent.futures.BrokenExecutor``): not the trial's fault, so the study runs it again.
"""

from archsearch.execution.serial import SerialExecutor


class WorkerLost(Exception):
    """The worker (process, Ray worker or node) running a trial died before returning its result."""


__all__ = ["SerialExecutor", "WorkerLost"]
