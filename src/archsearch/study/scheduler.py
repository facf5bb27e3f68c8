"""The trials in flight: submit them to an executor, wait for the next to finish (the earliest submitted, so
the serial executor gives one history per seed), stop one over ``trial_timeout``, and run again one whose
worker died (a killed process, a lost Ray node), up to ``max_retries`` times; then it is ``failed`` with the
reason. A trial that raises is ``failed`` with its error and no cost (the budget must not depend on when a
crash happens). Nothing here chooses or scores an arch."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from dataclasses import dataclass
from typing import Any

from archsearch.core.arch import Arch
from archsearch.core.errors import SearchAborted
from archsearch.core.executor import Executor
from archsearch.core.result import Result
from archsearch.core.strategy import TrialRequest
from archsearch.execution import WorkerLost


@dataclass
class Flight:
    """A trial asked and not yet told: its request, how often its worker died, when it was submitted."""

    request: TrialRequest
    attempts: int = 0
    started_at: float = 0.0  # wall clock, stored with the trial
    clock: float = 0.0  # monotonic, for the time-out
    lost: str = ""  # why its worker died, the last time it did

    def to_dict(self) -> dict[str, Any]:
        return {"arch": dict(self.request.arch), "fidelity": self.request.fidelity, "attempts": self.attempts}

    @classmethod
    def from_dict(cls, pending: dict[str, Any]) -> "Flight":
        """A trial of a checkpoint's ``pending`` list (asked before a crash, never told)."""
        return cls(TrialRequest(Arch(pending["arch"]), pending.get("fidelity")), int(pending.get("attempts", 0)))


class Scheduler:
    """Flights of one study on ``executor``; ``evaluate(arch, fidelity)`` is what each trial runs."""

    def __init__(self, executor: Executor, evaluate: Callable[..., Result], fidelity: float | None,
                 trial_timeout: float | None, max_retries: int) -> None:
        self.executor, self.evaluate = executor, evaluate
        self.default_fidelity, self.trial_timeout, self.max_retries = fidelity, trial_timeout, max_retries
        self.flights: dict[Future, Flight] = {}

    @property
    def slots(self) -> int:
        return max(1, int(self.executor.workers))

    def fidelity(self, request: TrialRequest) -> float | None:
        """The request's fidelity, else the study's (None: the estimator's own)."""
        return self.default_fidelity if request.fidelity is None else request.fidelity

    def submit_all(self, queue: Sequence[Flight]) -> None:
        for flight in queue:
            flight.started_at, flight.clock = time.time(), time.monotonic()  # before submit: serial runs inside it
            request = flight.request
            self.flights[self.executor.submit(self.evaluate, request.arch, self.fidelity(request))] = flight

    def next_result(self) -> tuple[Flight, Result | None]:
        """The next finished flight and its result; None when its worker died and it runs again."""
        future = self._next_finished()
        flight = self.flights.pop(future)
        return flight, self._outcome(future, flight)

    def _next_finished(self) -> Future:
        """The earliest-submitted finished future; a trial over ``trial_timeout`` comes back as finished."""
        flights, timeout = self.flights, self.trial_timeout
        while True:
            done = [f for f in flights if f.done()]
            if done:
                return done[0]
            if timeout is None:
                wait(list(flights), return_when=FIRST_COMPLETED)
                continue
            now = time.monotonic()
            overdue = [f for f, flight in flights.items() if now - flight.clock >= timeout]
            if overdue:
                return overdue[0]
            deadline = min(flight.clock for flight in flights.values()) + timeout
            wait(list(flights), timeout=max(0.0, deadline - now), return_when=FIRST_COMPLETED)

    def _outcome(self, future: Future, flight: Flight) -> Result | None:
        request = flight.request
        if not future.done():  # overdue
            if self.executor.cancel(future):
                self._resubmit()  # the executor had to give up the others with it
            return self._failed(request, float(self.trial_timeout or 0.0), f"timed out after {self.trial_timeout:g} s")
        try:
            return future.result()
        except (BrokenExecutor, WorkerLost) as exc:  # a worker process or node died: not the trial's fault
            flight.attempts += 1
            reason = flight.lost = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.executor.recover()
            if flight.attempts > self.max_retries:
                return self._failed(request, 0.0, f"its worker died {flight.attempts} times ({reason})")
            self.submit_all([flight])
            return None
        except SearchAborted:  # a trial that must stop the search (e.g. an arch a partial table lacks)
            raise
        except Exception as exc:  # noqa: BLE001 - a failing trial must not stop the search
            return self._failed(request, 0.0, f"{type(exc).__name__}: {exc}")

    def _failed(self, request: TrialRequest, cost: float, reason: str) -> Result:
        return Result(request.arch, {}, cost, self.fidelity(request), "failed", reason)

    def _resubmit(self) -> None:
        """Run again every trial in flight (their futures were lost with a restarted pool)."""
        lost = list(self.flights.values())
        self.flights.clear()
        self.submit_all(lost)
