"""An in-memory store: for comparisons over many seeds, where nothing needs to survive."""

from __future__ import annotations

import time
from typing import Any

from archsearch.core.errors import UserError
from archsearch.store.base import EpochRecord, ExperimentRecord, StrategyCheckpoint, Store, TrialRecord


class InMemoryStore(Store):
    persistent = False

    def __init__(self) -> None:
        self._experiments: dict[str, ExperimentRecord] = {}
        self._trials: dict[int, list[TrialRecord]] = {}
        self._checkpoints: dict[int, StrategyCheckpoint] = {}
        self._epochs: dict[int, dict[tuple[str, int], EpochRecord]] = {}
        self._states: dict[int, bytes] = {}

    def create_experiment(self, name: str, config: dict[str, Any], seed: int) -> ExperimentRecord:
        if name in self._experiments:
            raise UserError(f"experiment {name!r} already exists")
        now = time.time()
        record = ExperimentRecord(len(self._experiments) + 1, name, config, seed, "running", now, now)
        self._experiments[name] = record
        self._trials[record.id] = []
        return record

    def get_experiment(self, name: str) -> ExperimentRecord:
        if name not in self._experiments:
            raise UserError(f"no experiment named {name!r}")
        return self._experiments[name]

    def experiments(self) -> list[ExperimentRecord]:
        return list(self._experiments.values())

    def set_status(self, experiment_id: int, status: str) -> None:
        for name, record in self._experiments.items():
            if record.id == experiment_id:
                self._experiments[name] = ExperimentRecord(**{**record.__dict__, "status": status, "updated": time.time()})

    def record_trial(self, experiment_id: int, trial: TrialRecord, checkpoint: StrategyCheckpoint | None) -> None:
        self._trials[experiment_id].append(trial)
        if checkpoint is not None:
            self._checkpoints[experiment_id] = checkpoint

    def save_checkpoint(self, experiment_id: int, checkpoint: StrategyCheckpoint) -> None:
        self._checkpoints[experiment_id] = checkpoint

    def trials(self, experiment_id: int) -> list[TrialRecord]:
        return list(self._trials[experiment_id])

    def checkpoint(self, experiment_id: int) -> StrategyCheckpoint | None:
        return self._checkpoints.get(experiment_id)

    def record_epoch(self, experiment_id: int, record: EpochRecord, state: bytes | None) -> None:
        self._epochs.setdefault(experiment_id, {})[(record.kind, record.epoch)] = record
        if state is not None:
            self._states[experiment_id] = state

    def epochs(self, experiment_id: int) -> list[EpochRecord]:
        records = self._epochs.get(experiment_id, {})
        return [records[key] for key in sorted(records, key=lambda k: (k[1], k[0] != "epoch"))]

    def oneshot_state(self, experiment_id: int) -> bytes | None:
        return self._states.get(experiment_id)
