"""The store interface (Optuna-style storage behind a small base class).

A study records each finished trial together with the strategy's state in one atomic step, so
that a resume reloads exactly the state that produced the next ask.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.result import EpochRecord, Result  # EpochRecord: stored by every Store; defined in core


@dataclass(frozen=True)
class ExperimentRecord:
    id: int
    name: str
    config: dict[str, Any]
    seed: int
    status: str  # running | finished | failed (an error) | interrupted (Ctrl-C, a signal, a killed driver)
    created: float
    updated: float
    version: str = ""


@dataclass(frozen=True)
class TrialRecord:
    number: int
    arch: dict[str, Any]
    fidelity: float | None
    status: str
    metrics: dict[str, float]
    cost: float
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    curves: dict[str, list[float]] = field(default_factory=dict)  # e.g. valid_acc per epoch

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "arch": self.arch, "fidelity": self.fidelity, "metrics": self.metrics,
                "cost": self.cost, "status": self.status, "error": self.error, "curves": self.curves}


def stored_result(trial: TrialRecord) -> Result:
    """The ``Result`` a stored trial records (what strategies are told on resume or from a prior)."""
    return Result(Arch(trial.arch), dict(trial.metrics), trial.cost, trial.fidelity, trial.status,  # type: ignore[arg-type]
                  trial.error, dict(trial.curves))


@dataclass
class StrategyCheckpoint:
    """The strategy's state after ``trial_count`` told trials, and the trials it asked that were not told yet
    (``pending``: ``{"arch", "fidelity", "attempts"}`` each, in the order they were asked): a resume runs those
    again before asking anything new, so a trial in flight when the driver died is neither lost nor doubled."""

    trial_count: int
    cost_spent: float
    state: dict[str, Any] = field(default_factory=dict)
    pending: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ExperimentData:
    """Everything stored about one experiment, what a copy in another store needs to resume it to the same
    history: the record (config, seed, status), the trials, the strategy checkpoint, the one-shot epochs and
    the engine state (``Store.export_experiment`` / ``Store.import_experiment``)."""

    experiment: ExperimentRecord
    trials: list[TrialRecord]
    checkpoint: StrategyCheckpoint | None
    epochs: list[EpochRecord]
    oneshot_state: bytes | None


def renamed_config(config: dict[str, Any], name: str) -> dict[str, Any]:
    """``config`` with its ``name`` key (when it has one) set to ``name``."""
    return {**config, "name": name} if "name" in config else dict(config)


def check_name(name: str) -> str:
    """An experiment name: text with something other than blanks in it (UserError otherwise)."""
    if not isinstance(name, str) or not name.strip():
        raise UserError(f"an experiment name must be non-empty text, got {name!r}")
    return name


class Store(ABC):
    """Experiments by unique name; trials numbered from 0; one strategy checkpoint per experiment."""

    persistent: bool = True  # whether checkpoints are kept (an in-memory compare skips them)

    @abstractmethod
    def create_experiment(self, name: str, config: dict[str, Any], seed: int) -> ExperimentRecord: ...

    @abstractmethod
    def get_experiment(self, name: str) -> ExperimentRecord: ...

    @abstractmethod
    def experiments(self) -> list[ExperimentRecord]: ...

    @abstractmethod
    def set_status(self, experiment_id: int, status: str) -> None: ...

    @abstractmethod
    def set_config(self, experiment_id: int, config: dict[str, Any]) -> None:
        """Replace the stored config (a resume given a new budget records it)."""

    # -- managing experiments: each one transaction; a UserError when another process runs it ----------
    @abstractmethod
    def delete_experiment(self, name: str) -> None:
        """Remove the experiment with its trials, checkpoint, epochs and one-shot state."""

    @abstractmethod
    def rename_experiment(self, name: str, new_name: str) -> ExperimentRecord:
        """Give the experiment (and the ``name`` key of its config) ``new_name``, which must be free."""

    def export_experiment(self, name: str) -> ExperimentData:
        """Everything stored about the experiment ``name`` (a consistent snapshot)."""
        experiment = self.get_experiment(name)
        return ExperimentData(experiment, self.trials(experiment.id), self.checkpoint(experiment.id),
                              self.epochs(experiment.id), self.oneshot_state(experiment.id))

    @abstractmethod
    def import_experiment(self, data: ExperimentData, name: str | None = None) -> ExperimentRecord:
        """Store ``data`` as a new experiment ``name`` (default: its own), under a new id; the name must be free."""

    def copy_experiment(self, name: str, other: "Store", new_name: str | None = None) -> ExperimentRecord:
        """Copy the experiment ``name`` into ``other`` (which may be this store) as ``new_name`` (default: the
        same name); the copy resumes there to the history the original would have."""
        return other.import_experiment(self.export_experiment(name), new_name)

    @abstractmethod
    def record_trial(self, experiment_id: int, trial: TrialRecord, checkpoint: StrategyCheckpoint | None) -> None:
        """Commit the trial and the strategy checkpoint atomically."""

    def save_checkpoint(self, experiment_id: int, checkpoint: StrategyCheckpoint) -> None:
        """Commit a checkpoint alone (new asks before any trial finished, e.g. at the start)."""
        raise NotImplementedError

    def lock_experiment(self, experiment_id: int, name: str) -> None:
        """Mark the experiment as being run by this process until ``close``; a ``UserError`` when another
        process runs it, or when it was removed or renamed meanwhile (no-op for stores that live in one process)."""

    @abstractmethod
    def trials(self, experiment_id: int) -> list[TrialRecord]: ...

    @abstractmethod
    def checkpoint(self, experiment_id: int) -> StrategyCheckpoint | None: ...

    # -- one-shot searches: epochs and the engine's state (weights, logits, optimisers) --------------
    @abstractmethod
    def record_epoch(self, experiment_id: int, record: EpochRecord, state: bytes | None) -> None:
        """Commit the epoch and (when given) the engine state after it, atomically; a record with the
        same (kind, epoch) is replaced (a resumed search may repeat its final ranking)."""

    @abstractmethod
    def epochs(self, experiment_id: int) -> list[EpochRecord]: ...

    @abstractmethod
    def oneshot_state(self, experiment_id: int) -> bytes | None: ...

    def close(self) -> None:
        """Release resources (no-op by default)."""
