"""The Ray executor: trials as Ray tasks, on a local Ray or the user's cluster (Moritz et al., "Ray: A Distributed
Framework for Emerging AI Applications", OSDI 2018).

``RayExecutor(workers, address=None | "auto" | "HOST:PORT", gpus_per_trial=0)``: without an address it starts
a local Ray (no dashboard) and stops it at ``shutdown``; with one it joins that cluster and leaves it running.
Each trial is a task with ``cpus_per_trial`` CPUs (1) and ``gpus_per_trial`` GPUs, so Ray places as many trials
per node as its resources allow; a task runs under the thread policy (:mod:`archsearch.core.threads`) with
``cpus_per_trial`` threads (or ``--threads``), and the workers Ray starts for this job get its environment
(passive OpenMP waits); the study keeps ``workers`` trials in flight. Ray's own task retries are off
(``max_retries=0``): a task whose worker process or node died raises :class:`~archsearch.execution.WorkerLost`
and the study decides (it re-runs the trial up to its ``max_retries``, then records it ``failed``). An
exception raised by the trial itself comes back as that exception. ``cancel`` force-stops one task.

The driver alone writes the store: results come back as futures (``ObjectRef.future()``) and are told and
committed by the study as each finishes. Ray is an optional extra: ``pip install "archsearch[ray]"``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from archsearch.core.errors import UserError
from archsearch.core.options import check_int, check_number
from archsearch.core.threads import ThreadPolicy, apply, resolve
from archsearch.execution import WorkerLost

CPUS_PER_TRIAL = 1


def _run_trial(fn: Callable[..., Any], policy: ThreadPolicy, *args: Any) -> Any:
    """Runs inside a Ray worker: the thread policy for the task's CPUs, then the trial."""
    apply(policy)
    return fn(*args)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError('--executor ray needs Ray: pip install "archsearch[ray]"') from None
    return ray


class RayExecutor:
    """``submit(fn, *args)`` -> a ``concurrent.futures.Future`` of a Ray task."""

    name = "ray"

    def __init__(self, workers: int = 1, *, address: str | None = None, gpus_per_trial: float = 0.0,
                 cpus_per_trial: int = CPUS_PER_TRIAL, threads: int | None = None) -> None:
        ray = _import_ray()
        self.workers = check_int("executor ray", "workers", workers, 1)
        self.gpus_per_trial = check_number("executor ray", "gpus_per_trial", gpus_per_trial, 0.0)
        self.cpus_per_trial = check_int("executor ray", "cpus_per_trial", cpus_per_trial, 1)
        self.policy = resolve(threads, cores=self.cpus_per_trial)  # each task's threads
        runtime_env = {"env_vars": self.policy.env()} if self.policy.enabled else None
        self._ray = ray
        self._started_here = False
        self._connected_here = not ray.is_initialized()
        if self._connected_here:
            try:
                if address is None:
                    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False,
                             num_cpus=max(self.workers * self.cpus_per_trial, os.cpu_count() or 1),
                             runtime_env=runtime_env)
                    self._started_here = True
                else:
                    ray.init(address=address, log_to_driver=False, configure_logging=False, runtime_env=runtime_env)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = "a local Ray" if address is None else f"the Ray cluster at {address!r}"
                raise UserError(f"cannot start or join {where}: {str(exc).splitlines()[0] if str(exc) else exc}") \
                    from None
        self._task = ray.remote(_run_trial).options(num_cpus=self.cpus_per_trial, num_gpus=self.gpus_per_trial,
                                                    max_retries=0, retry_exceptions=False)
        self._refs: dict[Future[Any], Any] = {}

    def submit(self, fn: Callable[..., Any], *args: Any) -> "Future[Any]":
        ref = self._task.remote(fn, self.policy, *args)
        future: Future[Any] = Future()
        self._refs[future] = ref
        ref.future().add_done_callback(lambda done: self._settle(future, done))
        return future

    def _settle(self, future: "Future[Any]", done: "Future[Any]") -> None:
        """Copy the task's outcome: the result, the trial's own exception, or WorkerLost for a lost worker."""
        self._refs.pop(future, None)
        if future.done():
            return
        exceptions = self._ray.exceptions
        try:
            future.set_result(done.result())
        except exceptions.RayTaskError as exc:  # the trial raised: its own exception
            cause = getattr(exc, "cause", None)
            future.set_exception(cause if isinstance(cause, BaseException) else RuntimeError(str(exc)))
        except exceptions.TaskCancelledError:
            future.set_exception(TimeoutError("cancelled"))
        except BaseException as exc:  # noqa: BLE001 - worker crashed, node died, object lost, ...
            future.set_exception(WorkerLost(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))

    def cancel(self, future: "Future[Any]") -> bool:
        """Force-stop the task of ``future`` (no other trial is affected: returns False)."""
        ref = self._refs.get(future)
        if ref is not None:
            self._ray.cancel(ref, force=True)
        return False

    def recover(self) -> None:
        """Ray replaces dead workers itself."""

    def shutdown(self, wait: bool = True) -> None:
        """Cancel tasks in flight; stop the local Ray this executor started (a joined cluster keeps running)."""
        for ref in list(self._refs.values()):
            try:
                self._ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - already finished or gone
                pass
        self._refs.clear()
        if self._connected_here and self._ray.is_initialized():
            self._ray.shutdown()  # stops the local Ray it started; from a cluster it only disconnects

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
