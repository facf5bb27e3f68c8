"""Every executor is an ``archsearch.core.executor.Executor``: the study calls submit, cancel, recover, shutdown
and reads workers without probing for them."""

from __future__ import annotations

import pytest

from archsearch.core.executor import Executor
from archsearch.execution.processes import ProcessExecutor, make_executor
from archsearch.execution.serial import SerialExecutor

METHODS = ("submit", "cancel", "recover", "shutdown")


def test_the_serial_executor_runs_at_once_and_has_nothing_to_stop() -> None:
    executor = make_executor("serial")
    assert isinstance(executor, SerialExecutor) and isinstance(executor, Executor)
    future = executor.submit(pow, 2, 5)
    assert future.result() == 32 and executor.cancel(future) is False and executor.workers == 1
    executor.recover()
    executor.shutdown()


def test_the_process_executor_is_an_executor() -> None:
    with ProcessExecutor(1) as executor:
        assert isinstance(executor, Executor) and executor.workers == 1
        assert executor.submit(pow, 3, 3).result(timeout=60) == 27


def test_the_ray_executor_has_the_executor_methods() -> None:
    pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'archsearch[ray]'")
    from archsearch.execution.ray import RayExecutor

    assert all(callable(getattr(RayExecutor, method, None)) for method in METHODS) and RayExecutor.name == "ray"
