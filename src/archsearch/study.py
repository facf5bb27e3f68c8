"""The search loop: ask -> submit to an executor -> collect -> tell -> persist in the store.

The search is asynchronous (Real et al. 2019's asynchronous evolution): ``executor.workers`` trials are in
flight; each finished trial is told at once, a new trial is asked for the free slot, and the trial is
committed together with the checkpoint: the strategy state after that tell and ask, and the requests still
in flight. ``Study.resume`` reloads the checkpoint and runs the requests that were in flight again before
asking anything new (the strategy's RNG is part of its state). So a killed driver loses no trial and counts
none twice, and with the serial executor the history equals an uninterrupted one. A trial that raises is
``failed`` with its error; one whose worker died (a killed process, a lost Ray node) runs again, up to
``max_retries`` times, then is ``failed`` with the reason; one over ``trial_timeout`` is stopped and ``failed``.
One process at a time runs an experiment (the store's lock).

A one-shot strategy (``requires`` a supernet) first runs its supernet search
(:class:`archsearch.estimators.supernet.OneShotSearch`): its peak memory is estimated and checked against
``max_memory``, each epoch is committed with the engine's state (a killed search resumes after its last
epoch), the epochs' seconds count as cost, and then the derived archs are evaluated by the study's
estimator as trials; the study ends when they are (the time budget does not cut that hand-over short).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from dataclasses import dataclass
from typing import Any

from archsearch.config import RUNTIME_KEYS, StudyConfig
from archsearch.core.errors import SearchAborted, UserError
from archsearch.core.executor import Executor
from archsearch.core.objectives import Goal, Objective
from archsearch.core.arch import Arch
from archsearch.core.result import Result
from archsearch.core.strategy import TrialRequest
from archsearch.core.threads import ThreadPolicy, in_force, one_thread, resolve
from archsearch.execution import WorkerLost
from archsearch.execution.processes import make_executor
from archsearch.prerank import check_prerank, rank_pool, top_archs
from archsearch.warm_start import load_prior
from archsearch.components import (Components, build_components, is_one_shot,  # noqa: F401 - build_components
                                   one_shot_engine, record_threads)  # is imported from here too
from archsearch.store.base import (EpochRecord, ExperimentRecord, StrategyCheckpoint, Store, TrialRecord,
                                  stored_result)


@dataclass
class _Flight:
    """A trial asked and not yet told: its request, how often its worker died, when it was submitted."""

    request: TrialRequest
    attempts: int = 0
    started_at: float = 0.0  # wall clock, stored with the trial
    clock: float = 0.0  # monotonic, for the time-out
    lost: str = ""  # why its worker died, the last time it did

    def to_dict(self) -> dict[str, Any]:
        return {"arch": dict(self.request.arch), "fidelity": self.request.fidelity, "attempts": self.attempts}


@dataclass(frozen=True)
class Progress:
    trials: int
    cost_spent: float
    failed: int
    best_value: float  # raw value of the first objective's metric (nan before the first ok trial)
    budget_seconds: float | None
    max_trials: int | None


def best_trial(trials: Sequence[TrialRecord], goal: Goal | Objective) -> TrialRecord | None:
    """The ok (and feasible) trial with the best score (the earliest on ties): the reward when the goal has
    one, else its first objective."""
    best, best_score = None, -math.inf
    for trial in trials:
        score = _trial_score(trial, goal)
        if score > best_score:
            best, best_score = trial, score
    return best


def _trial_score(trial: TrialRecord, goal: Goal | Objective) -> float:
    """``Goal.score`` of a stored trial: higher is better, -inf when failed, missing or infeasible."""
    return goal.score(stored_result(trial))


class Study:
    """One named experiment in a store. Create with ``Study.create`` or ``Study.resume``."""

    def __init__(self, store: Store, experiment: ExperimentRecord, config: StudyConfig, components: Components,
                 executor: Executor | None = None) -> None:
        self.store, self.experiment, self.config, self.components = store, experiment, config, components
        self.executor = executor
        self.trials: list[TrialRecord] = store.trials(experiment.id)
        self._unreplayed: list[TrialRecord] = []  # stored trials of a batch interrupted by a crash (old stores)
        self._pending: list[dict[str, Any]] = []  # trials in flight when the last checkpoint was taken
        self._engine: Any = None  # a one-shot search's engine, made (and memory-checked) by ``create``
        self._strategy_restored = False  # resume loaded a strategy checkpoint (its warm starts included)
        self._prior: Any = None  # another study's history (--warm-start), loaded by ``create``
        self.thread_policy: ThreadPolicy | None = None  # how ``create`` chose the trials' threads (None: fixed)
        self.epochs: list[EpochRecord] = store.epochs(experiment.id)
        self.cost_spent = float(sum(t.cost for t in self.trials) + sum(e.seconds for e in self.epochs))
        self._best = best_trial(self.trials, components.goal)
        self._best_score = -math.inf if self._best is None else _trial_score(self._best, components.goal)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def create(cls, config: StudyConfig, store: Store, executor: Executor | None = None,
               components: Components | None = None) -> "Study":
        """A new experiment; ``components`` from ``build_components(config)`` when the caller has them."""
        components = components or build_components(config)
        components.bind_strategy(config.seed)  # every user error surfaces before the store is touched
        check_prerank(config, components.strategy)
        engine = one_shot_engine(config, components) if is_one_shot(components.strategy) else None
        prior = load_prior(config, store, components.strategy)
        policy = record_threads(config, components)
        experiment = store.create_experiment(config.name, config.to_dict(), config.seed)
        store.lock_experiment(experiment.id, experiment.name)
        study = cls(store, experiment, config, components, executor)
        study._engine = engine
        study._prior = prior
        study.thread_policy = policy
        return study

    @classmethod
    def resume(cls, name: str, store: Store, executor: Executor | None = None,
               runtime: dict[str, Any] | None = None) -> "Study":
        """Continue a stored experiment; ``runtime`` may change where it runs (``RUNTIME_KEYS``: executor,
        workers, address, ...), never what it searches. One process at a time (a lock; UserError otherwise)."""
        experiment = store.get_experiment(name)
        config = StudyConfig.from_mapping({**experiment.config, "name": experiment.name})
        for key, value in (runtime or {}).items():
            if key not in RUNTIME_KEYS:
                raise UserError(f"resume cannot change {key!r}; only {', '.join(RUNTIME_KEYS)}")
            config.set(key, value)
        components = build_components(config)
        store.lock_experiment(experiment.id, experiment.name)
        components.bind_strategy(config.seed)
        study = cls(store, experiment, config, components, executor)
        checkpoint = store.checkpoint(experiment.id)
        if checkpoint is not None:
            if checkpoint.trial_count > len(study.trials):
                raise UserError(f"store {name!r} is inconsistent: checkpoint after {checkpoint.trial_count} trials, "
                                f"{len(study.trials)} trials stored")
            study._unreplayed = study.trials[checkpoint.trial_count:]
            study._pending = list(checkpoint.pending)
            study._strategy_restored = True
            try:
                components.strategy.load_state_dict(checkpoint.state)
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise UserError(f"the strategy checkpoint of {name!r} is corrupt ({type(exc).__name__}: {exc})") from None
        else:  # killed inside the first batch: the fresh strategy asks that batch again
            study._unreplayed = list(study.trials)
        if experiment.status != "running":
            store.set_status(experiment.id, "running")
        return study

    # -- the loop -----------------------------------------------------------------------------
    def done(self) -> bool:
        config = self.config
        if config.max_trials is not None and len(self.trials) >= config.max_trials:
            return True
        if self.one_shot:
            return self.components.strategy.finished()
        return config.budget_seconds is not None and self.cost_spent >= config.budget_seconds

    @property
    def one_shot(self) -> bool:
        return is_one_shot(self.components.strategy)

    def run(self, on_trial: Callable[[Progress], None] | None = None,
            on_epoch: Callable[[EpochRecord], None] | None = None,
            on_message: Callable[[str], None] | None = None) -> "Study":
        """Run until the budget (seconds of cost and/or trials) is spent, under the thread policy (this
        process: ``config.threads`` or every usable core; each worker: its share)."""
        serial = self.config.executor == "serial"  # else this process runs strategies (and a one-shot phase) only
        with in_force(resolve(self.config.threads if serial else None)):
            return self._run(on_trial, on_epoch, on_message)

    def _run(self, on_trial: Callable[[Progress], None] | None, on_epoch: Callable[[EpochRecord], None] | None,
             on_message: Callable[[str], None] | None) -> "Study":
        owns_executor = self.executor is None
        clean = False
        try:
            if self.one_shot and not self.components.strategy.searched:
                self._search_supernet(on_epoch, on_message)
            if not self._strategy_restored:  # a fresh strategy: its warm starts (a resumed one has them)
                if self.config.warm_start is not None:
                    self._warm_start_from_study(on_message)
                if self.config.prerank is not None:
                    self._warm_start_from_prerank(on_message)
                self._strategy_restored = True
            if owns_executor:
                self.executor = make_executor(self.config.executor, self.config.workers, self.config.address,
                                              self.config.gpus_per_trial, self.config.threads)
            self._run_trials(on_trial, on_message)
            clean = True
        except BaseException:  # an error or an interrupt: resumable, the trials so far are kept
            self.store.set_status(self.experiment.id, "failed")
            raise
        finally:
            if owns_executor and self.executor is not None:
                self.executor.shutdown(wait=clean)  # do not wait for trials in flight after an interrupt
                self.executor = None
        self.store.set_status(self.experiment.id, "finished")
        return self

    def _search_supernet(self, on_epoch: Callable[[EpochRecord], None] | None,
                         on_message: Callable[[str], None] | None) -> None:
        """The one-shot phase: memory check, epochs (each committed with the engine state), hand-over."""
        engine = self._engine or one_shot_engine(self.config, self.components)
        self._engine = None  # the supernet's memory is released when the phase ends
        if on_message is not None:
            on_message(f"one-shot search {engine.strategy.name}: {engine.memory.line(engine.recipe.batch_size)}")
        state = self.store.oneshot_state(self.experiment.id)
        if state is not None:
            engine.load(state)
        if on_message is not None:
            engine.on_progress = lambda epoch, step, steps, seconds: on_message(
                f"[{self.config.name}] epoch {epoch + 1}/{engine.recipe.epochs}: batch {step}/{steps} "
                f"({step / steps:.0%}) in {seconds:.0f} s, about {seconds * (steps - step) / step:.0f} s left")

        def record(epoch: EpochRecord) -> None:
            blob = engine.state() if epoch.kind == "epoch" and self.store.persistent else None
            self.store.record_epoch(self.experiment.id, epoch, blob)
            self.epochs = [e for e in self.epochs if (e.kind, e.epoch) != (epoch.kind, epoch.epoch)] + [epoch]
            self.cost_spent += epoch.seconds
            if on_epoch is not None:
                on_epoch(epoch)

        self.components.strategy.finish(engine.run(record))

    def _warm_start_from_study(self, on_message: Callable[[str], None] | None) -> None:
        """Hand another study's history to the fresh strategy (a resume without a checkpoint reloads it)."""
        prior = self._prior or load_prior(self.config, self.store, self.components.strategy)
        done = self.components.strategy.use_prior(prior, self.config.warm_start_top)
        if on_message is not None:
            on_message(f"warm start from {prior.source} ({len(prior.results)} trials): {done}")

    def _warm_start_from_prerank(self, on_message: Callable[[str], None] | None) -> None:
        """Score the pool once (stored), then hand its best to the fresh strategy."""
        record = next((e for e in self.epochs if e.kind == "prerank"), None)
        if record is None:
            record = rank_pool(self.config, self.components.space)
            self.store.record_epoch(self.experiment.id, record, None)
            self.epochs.append(record)
            self.cost_spent += record.seconds
            if on_message is not None:
                on_message(f"pre-ranked {record.metrics['pool']:.0f} random archs by {self.config.prerank} in "
                           f"{record.seconds:.1f} s; the best {record.metrics['top']:.0f} start the search")
        self.components.strategy.warm_start(top_archs(record, self.config.prerank_top))

    def _slots(self) -> int:
        return max(1, int(self.executor.workers))

    def _room(self, in_flight: int) -> int:
        """How many new trials may be asked now: free slots, within the trial budget, while budget is left."""
        if self.done():
            return 0
        room = self._slots() - in_flight
        if self.config.max_trials is not None:
            room = min(room, self.config.max_trials - len(self.trials) - in_flight)
        return max(0, room)

    def _run_trials(self, on_trial: Callable[[Progress], None] | None,
                    on_message: Callable[[str], None] | None = None) -> None:
        """Asynchronous search: keep ``workers`` trials in flight; tell each result as it finishes, ask a new
        trial for the free slot, and commit the trial with the checkpoint (strategy state + trials in flight)."""
        flights: dict[Future, _Flight] = {}
        queue = [_Flight(TrialRequest(Arch(p["arch"]), p.get("fidelity")), int(p.get("attempts", 0)))
                 for p in self._pending]  # asked before a crash, not told: run again, not asked again
        self._pending = []
        if self._unreplayed:  # a store of the batch era, killed inside a batch
            queue += [_Flight(r) for r in self._replay(self.components.strategy.ask_trials(len(self._unreplayed)))]
        fresh = self._ask(self._room(len(queue)))
        if fresh:
            queue += fresh
            self._save_checkpoint([*queue])
        self._submit_all(queue, flights)
        while flights:
            future = self._next_finished(flights)
            flight = flights.pop(future)
            result = self._outcome(future, flight, flights)
            if result is None:  # its worker died: run it again
                if on_message is not None:
                    on_message(f"[{self.config.name}] a worker died; trial re-run (attempt {flight.attempts + 1} "
                               f"of {self.config.max_retries + 1}): {flight.lost}")
                continue
            with one_thread():  # a strategy's tensors are tiny: a thread team costs more than it saves
                self.components.strategy.tell([result])
            trial = self._append(result, flight.started_at)  # counted before the next ask sees the budget
            fresh = self._ask(self._room(len(flights)))
            self.store.record_trial(self.experiment.id, trial, self._checkpoint([*flights.values(), *fresh]))
            self._submit_all(fresh, flights)
            if on_trial is not None:
                on_trial(self.progress())

    def _ask(self, n: int) -> list["_Flight"]:
        if n <= 0:
            return []
        with one_thread():
            return [_Flight(request) for request in self.components.strategy.ask_trials(n)]

    def _submit_all(self, queue: Sequence["_Flight"], flights: dict[Future, "_Flight"]) -> None:
        for flight in queue:
            flight.started_at, flight.clock = time.time(), time.monotonic()  # before submit: serial runs inside it
            flights[self._submit(flight.request)] = flight

    def _next_finished(self, flights: dict[Future, "_Flight"]) -> Future:
        """The earliest-submitted finished future (deterministic with the serial executor); a trial over
        ``trial_timeout`` is stopped and comes back as finished."""
        while True:
            done = [f for f in flights if f.done()]
            if done:
                return done[0]
            timeout = self.config.trial_timeout
            if timeout is None:
                wait(list(flights), return_when=FIRST_COMPLETED)
                continue
            now = time.monotonic()
            overdue = [f for f, flight in flights.items() if now - flight.clock >= timeout]
            if overdue:
                return overdue[0]
            deadline = min(flight.clock for flight in flights.values()) + timeout
            wait(list(flights), timeout=max(0.0, deadline - now), return_when=FIRST_COMPLETED)

    def _outcome(self, future: Future, flight: "_Flight", flights: dict[Future, "_Flight"]) -> Result | None:
        """The trial's result; a time-out or a trial that raised is ``failed``; None when its worker died and
        it was resubmitted (up to ``max_retries`` times, then ``failed``)."""
        request = flight.request
        if not future.done():  # overdue
            if self.executor.cancel(future):
                self._resubmit(flights)  # the executor had to give up the others with it
            return Result(request.arch, {}, float(self.config.trial_timeout or 0.0), self._fidelity(request),
                          "failed", f"timed out after {self.config.trial_timeout:g} s")
        try:
            return future.result()
        except (BrokenExecutor, WorkerLost) as exc:  # a worker process or node died: not the trial's fault
            flight.attempts += 1
            reason = flight.lost = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.executor.recover()
            if flight.attempts > self.config.max_retries:
                return Result(request.arch, {}, 0.0, self._fidelity(request), "failed",
                              f"its worker died {flight.attempts} times ({reason})")
            self._submit_all([flight], flights)
            return None
        except SearchAborted:  # a trial that must stop the search (e.g. an arch a partial table lacks)
            raise
        except Exception as exc:  # noqa: BLE001 - a failing trial must not stop the search
            # no cost: the budget must not depend on wall-clock timing of a crash (same seed, same history)
            return Result(request.arch, {}, 0.0, self._fidelity(request), "failed", f"{type(exc).__name__}: {exc}")

    def _resubmit(self, flights: dict[Future, "_Flight"]) -> None:
        """Run again every trial in flight (their futures were lost with a restarted pool)."""
        lost = list(flights.values())
        flights.clear()
        self._submit_all(lost, flights)

    def _replay(self, requests: Sequence[TrialRequest]) -> list[TrialRequest]:
        """Tell the stored trials of an interrupted batch in their stored order; return the requests left."""
        if not self._unreplayed:
            return list(requests)
        left = list(requests)
        for trial in self._unreplayed:
            match = next((r for r in left if dict(r.arch) == trial.arch
                          and self._fidelity(r) in (None, trial.fidelity)), None)  # None: the estimator's own
            if match is None:
                raise UserError(f"store of {self.config.name!r} is inconsistent: trial {trial.number} was not asked "
                                f"by the resumed strategy (was the code or the config changed?)")
            left.remove(match)
            self.components.strategy.tell([stored_result(trial)])
        self._unreplayed = []
        return left

    def _fidelity(self, request: TrialRequest) -> float | None:
        return self.config.fidelity if request.fidelity is None else request.fidelity

    def _submit(self, request: TrialRequest) -> "Future[Result]":
        return self.executor.submit(self.components.estimator.evaluate, request.arch, self._fidelity(request))

    def _append(self, result: Result, started: float) -> TrialRecord:
        """The trial record of ``result``, added to the history and the cost (committed by the caller)."""
        trial = TrialRecord(len(self.trials), dict(result.arch), result.fidelity, result.status,
                            dict(result.metrics), float(result.cost_seconds), result.error, started, time.time(),
                            {name: list(values) for name, values in result.curves.items()})
        self.trials.append(trial)
        self.cost_spent += trial.cost
        score = _trial_score(trial, self.components.goal)
        if score > self._best_score:
            self._best, self._best_score = trial, score
        return trial

    def _checkpoint(self, pending: Sequence["_Flight"] = ()) -> StrategyCheckpoint | None:
        if not self.store.persistent:
            return None
        return StrategyCheckpoint(len(self.trials), self.cost_spent, self.components.strategy.state_dict(),
                                  [flight.to_dict() for flight in pending])

    def _save_checkpoint(self, pending: Sequence["_Flight"]) -> None:
        checkpoint = self._checkpoint(pending)
        if checkpoint is not None:
            self.store.save_checkpoint(self.experiment.id, checkpoint)

    # -- results ------------------------------------------------------------------------------
    @property
    def best(self) -> TrialRecord | None:
        return self._best

    def progress(self) -> Progress:
        best = self._best.metrics[self.components.objectives[0].metric] if self._best else math.nan
        failed = sum(t.status == "failed" for t in self.trials)
        return Progress(len(self.trials), self.cost_spent, failed, best, self.config.budget_seconds,
                        self.config.max_trials)

    def reported_value(self) -> float:
        """The report metric (e.g. 200-epoch test accuracy) of the best arch by the objective."""
        if self._best is None:
            return math.nan
        return float(self._best.metrics.get(self.components.report.metric, math.nan))
