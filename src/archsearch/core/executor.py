"""Executor: where a study's trials run (``archsearch.execution``: serial, processes, ray)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Executor(Protocol):
    """``submit(fn, *args)`` -> a ``concurrent.futures.Future`` of ``fn(*args)``; ``workers`` trials may be in
    flight at once. A future whose worker died raises ``archsearch.execution.WorkerLost`` (or
    ``concurrent.futures.BrokenExecutor``): not the trial's fault, the study runs it again."""

    name: str
    workers: int

    def submit(self, fn: Callable[..., Any], *args: Any) -> "Future[Any]":
        """Start ``fn(*args)``; the result (or the exception it raised) arrives through the future."""

    def cancel(self, future: "Future[Any]") -> bool:
        """Stop the trial of ``future`` where the executor can. True: it had to give up every other trial in
        flight too (the study submits them again); the executors of archsearch stop one trial alone (False)."""

    def recover(self) -> None:
        """Replace workers that died, before the next submit."""

    def shutdown(self, wait: bool = True) -> None:
        """Release the workers; ``wait=False`` returns at once (after an interrupt or an error)."""
