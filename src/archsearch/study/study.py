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

import contextlib
import math
from collections.abc import Callable, Sequence
from typing import Any

from archsearch.config import StudyConfig
from archsearch.core.executor import Executor
from archsearch.core.result import Result
from archsearch.core.threads import ThreadPolicy, in_force, one_thread, resolve
from archsearch.execution.processes import make_executor
from archsearch.store.base import EpochRecord, ExperimentRecord, StrategyCheckpoint, Store, TrialRecord
from archsearch.study import budget, checkpoints, phases
from archsearch.study.components import Components, build_components, is_one_shot, one_shot_engine, record_threads
from archsearch.study.prerank import check_prerank
from archsearch.study.records import (Progress, best_trial, study_cost, trial_record, trial_score, trials_dataframe,
                                      with_arch_text)
from archsearch.study.scheduler import Flight, Scheduler
from archsearch.study.warm_start import load_prior


class Study:
    """One named experiment in a store. Create with ``Study.create`` or ``Study.resume``."""

    def __init__(self, store: Store, experiment: ExperimentRecord, config: StudyConfig, components: Components,
                 executor: Executor | None = None) -> None:
        self.store, self.experiment, self.config, self.components = store, experiment, config, components
        self.executor = executor
        self.trials: list[TrialRecord] = store.trials(experiment.id)
        self.stored_trials = len(self.trials)  # committed; self.trials runs one ahead between a tell and its commit
        self._unreplayed: list[TrialRecord] = []  # stored trials of a batch interrupted by a crash (old stores)
        self._pending: list[dict[str, Any]] = []  # trials in flight when the last checkpoint was taken
        self._engine: Any = None  # a one-shot search's engine, made (and memory-checked) by ``create``
        self._strategy_restored = False  # resume loaded a strategy checkpoint (its warm starts included)
        self._prior: Any = None  # another study's history (--warm-start), loaded by ``create``
        self.thread_policy: ThreadPolicy | None = None  # how ``create`` chose the trials' threads (None: fixed)
        self.epochs: list[EpochRecord] = store.epochs(experiment.id)
        self.cost_spent = study_cost(self.trials, self.epochs)
        self._best = best_trial(self.trials, components.goal)
        self._best_score = -math.inf if self._best is None else trial_score(self._best, components.goal)

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
        study._engine, study._prior, study.thread_policy = engine, prior, policy
        return study

    @classmethod
    def resume(cls, name: str, store: Store, executor: Executor | None = None,
               runtime: dict[str, Any] | None = None, *, max_trials: int | None = None,
               budget_seconds: float | None = None) -> "Study":
        """Continue a stored experiment; ``runtime`` may change where it runs (``RUNTIME_KEYS``: executor,
        workers, address, ...), never what it searches. ``max_trials`` / ``budget_seconds`` give it a new budget,
        not below what it did: it goes on as if given that budget from the start (a finished study is extended;
        ``budget.nothing_left`` tells at once whether anything is left). One process at a time (a lock)."""
        experiment = store.get_experiment(name)
        config, changed = budget.resumed_config(experiment, store, runtime, max_trials, budget_seconds)
        components = build_components(config)
        store.lock_experiment(experiment.id, experiment.name)
        components.bind_strategy(config.seed)
        study = cls(store, experiment, config, components, executor)
        checkpoint = store.checkpoint(experiment.id)
        study._unreplayed, study._pending = checkpoints.restore(name, checkpoint, study.trials, components.strategy)
        study._strategy_restored = checkpoint is not None
        if changed:  # the store is written only once everything checked out
            store.set_config(experiment.id, budget.stored_budget(experiment, config))
        if experiment.status != "running":
            store.set_status(experiment.id, "running")
        return study

    def take_engine(self) -> Any:
        """The one-shot engine ``create`` made (None after a resume); released when the phase ends."""
        engine, self._engine = self._engine, None
        return engine

    def take_prior(self) -> Any:
        prior, self._prior = self._prior, None
        return prior

    def record_epoch(self, epoch: EpochRecord, blob: bytes | None) -> None:
        """Commit a one-shot epoch or a pre-ranking (replacing a stored one of the same kind and number)."""
        self.store.record_epoch(self.experiment.id, epoch, blob)
        self.epochs = [e for e in self.epochs if (e.kind, e.epoch) != (epoch.kind, epoch.epoch)] + [epoch]
        self.cost_spent += epoch.seconds

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
            self._phases(on_epoch, on_message)
            if owns_executor:
                self.executor = make_executor(self.config.executor, self.config.workers, self.config.address,
                                              self.config.gpus_per_trial, self.config.threads)
            with self._driver_threads():
                self._run_trials(on_trial, on_message)
            clean = True
        except BaseException as exc:  # an error or an interrupt: resumable, the trials so far are kept
            interrupted = isinstance(exc, (KeyboardInterrupt, SystemExit))
            self.store.set_status(self.experiment.id, "interrupted" if interrupted else "failed")
            raise
        finally:
            if owns_executor and self.executor is not None:
                self.executor.shutdown(wait=clean)  # do not wait for trials in flight after an interrupt
                self.executor = None
        self.store.set_status(self.experiment.id, "finished")
        return self

    def _driver_threads(self) -> Any:
        """While workers train, this process only asks and tells: one thread for the whole trial phase. (Switching
        torch between 1 and N threads around every ask and tell, as ``one_thread`` does, resizes the OpenMP pool
        each time: REINFORCE beside 2 training workers asked ~60 activation functions a minute so, ~400 on one
        thread.)"""
        return contextlib.nullcontext() if self.config.executor == "serial" else in_force(resolve(1))

    def _phases(self, on_epoch: Callable[[EpochRecord], None] | None,
                on_message: Callable[[str], None] | None) -> None:
        """The one-shot search (unless done), then a fresh strategy's warm starts (a resumed one has them)."""
        if self.one_shot and not self.components.strategy.searched:
            phases.search_supernet(self, on_epoch, on_message)
        if not self._strategy_restored:
            if self.config.warm_start is not None:
                phases.warm_start_from_study(self, on_message)
            if self.config.prerank is not None:
                phases.warm_start_from_prerank(self, on_message)
            self._strategy_restored = True

    def _room(self, in_flight: int, slots: int) -> int:
        """How many new trials may be asked now: free slots, within the trial budget, while budget is left."""
        if self.done():
            return 0
        room = slots - in_flight
        if self.config.max_trials is not None:
            room = min(room, self.config.max_trials - len(self.trials) - in_flight)
        return max(0, room)

    def _run_trials(self, on_trial: Callable[[Progress], None] | None,
                    on_message: Callable[[str], None] | None = None) -> None:
        """Asynchronous search: keep ``workers`` trials in flight; tell each result as it finishes, ask a new
        trial for the free slot, and commit the trial with the checkpoint (strategy state + trials in flight)."""
        config = self.config
        scheduler = Scheduler(self.executor, self.components.estimator.evaluate, config.fidelity,
                              config.trial_timeout, config.max_retries)
        queue = self._resumed_queue(scheduler)
        fresh = self._ask(self._room(len(queue), scheduler.slots))
        if fresh:
            queue += fresh
            self._save_checkpoint(queue)
        scheduler.submit_all(queue)
        while scheduler.flights:
            flight, result = scheduler.next_result()
            if result is None:  # its worker died: run it again
                if on_message is not None:
                    on_message(f"[{config.name}] a worker died; trial re-run (attempt {flight.attempts + 1} "
                               f"of {config.max_retries + 1}): {flight.lost}")
                continue
            with one_thread():  # a strategy's tensors are tiny: a thread team costs more than it saves
                self.components.strategy.tell([result])
            trial = self._append(result, flight.started_at)  # counted before the next ask sees the budget
            fresh = self._ask(self._room(len(scheduler.flights), scheduler.slots))
            self.store.record_trial(self.experiment.id, trial,
                                    self._checkpoint([*scheduler.flights.values(), *fresh]))
            self.stored_trials = len(self.trials)
            scheduler.submit_all(fresh)
            if on_trial is not None:
                on_trial(self.progress())

    def _resumed_queue(self, scheduler: Scheduler) -> list[Flight]:
        """Trials asked before a crash and not told (run again, not asked again), then a batch-era replay."""
        queue = [Flight.from_dict(pending) for pending in self._pending]
        self._pending = []
        if self._unreplayed:  # a store of the batch era, killed inside a batch
            strategy = self.components.strategy
            requests = strategy.ask_trials(len(self._unreplayed))
            queue += [Flight(r) for r in checkpoints.replay(self.config.name, self._unreplayed, requests, strategy,
                                                            scheduler.fidelity)]
            self._unreplayed = []
        return queue

    def _ask(self, n: int) -> list[Flight]:
        if n <= 0:
            return []
        with one_thread():
            return [Flight(request) for request in self.components.strategy.ask_trials(n)]

    def _append(self, result: Result, started: float) -> TrialRecord:
        """The trial record of ``result``, added to the history and the cost (committed by the caller)."""
        trial = trial_record(len(self.trials), result, started)
        self.trials.append(trial)
        self.cost_spent += trial.cost
        score = trial_score(trial, self.components.goal)
        if score > self._best_score:
            self._best, self._best_score = trial, score
        return trial

    def _checkpoint(self, pending: Sequence[Flight] = ()) -> StrategyCheckpoint | None:
        if not self.store.persistent:
            return None
        return StrategyCheckpoint(len(self.trials), self.cost_spent, self.components.strategy.state_dict(),
                                  [flight.to_dict() for flight in pending])

    def _save_checkpoint(self, pending: Sequence[Flight]) -> None:
        checkpoint = self._checkpoint(pending)
        if checkpoint is not None:
            self.store.save_checkpoint(self.experiment.id, checkpoint)

    # -- results ------------------------------------------------------------------------------
    @property
    def best(self) -> TrialRecord | None:
        """The best trial by the goal; its ``arch`` prints as the space's string (``.arch.dict``: the mapping)."""
        return None if self._best is None else with_arch_text(self._best, self.components.space)

    def trials_dataframe(self) -> Any:
        """The trials as a pandas DataFrame (one row per trial; metrics as ``metric_<name>`` columns)."""
        return trials_dataframe(self.trials, self.components.space)

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
