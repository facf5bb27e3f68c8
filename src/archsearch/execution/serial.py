"""The serial executor: runs each trial in the calling process, at once."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class SerialExecutor:
    """``submit`` runs ``fn`` immediately and returns a finished future (errors stay in the future)."""

    name = "serial"
    workers = 1

    def submit(self, fn: Callable[..., Any], *args: Any) -> "Future[Any]":
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            future.set_exception(exc)
        return future

    def cancel(self, future: "Future[Any]") -> bool:
        """A serial trial has finished when ``submit`` returns: nothing to stop, nothing else given up."""
        return False

    def recover(self) -> None:
        """No worker to replace."""

    def shutdown(self, wait: bool = True) -> None:
        """Nothing to release."""

    def __enter__(self) -> "SerialExecutor":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
