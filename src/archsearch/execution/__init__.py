"""Executors: where trials run. All share ``submit(fn, *args) -> concurrent.futures.Future``,
``workers`` and ``shutdown()``."""

from archsearch.execution.serial import SerialExecutor

__all__ = ["SerialExecutor"]
