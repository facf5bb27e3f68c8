"""An in-memory store: for comparisons over many seeds, where nothing needs to survive."""

from __future__ import annotations

import copy
import dataclasses
import time
from typing import Any

from archsearch.core.errors import UserError
from archsearch.store.base import (EpochRecord, ExperimentData, ExperimentRecord, StrategyCheckpoint, Store,
                                   TrialRecord, check_name, renamed_config)


class InMemoryStore(Store):
    persistent = False

    def __init__(self) -> None:
        self._experiments: dict[str, ExperimentRecord] = {}
        self._trials: dict[int, list[TrialRecord]] = {}
        self._checkpoints: dict[int, StrategyCheckpoint] = {}
        self._epochs: dict[int, dict[tuple[str, int], EpochRecord]] = {}
        self._states: dict[int, bytes] = {}
        self._last_id = 0  # ids are never reused, also after a removal

    def create_experiment(self, name: str, config: dict[str, Any], seed: int) -> ExperimentRecord:
        now = time.time()
        return self._add(ExperimentRecord(0, name, config, seed, "running", now, now))

    def _add(self, record: ExperimentRecord) -> ExperimentRecord:
        """Store ``record`` under a new id."""
        if record.name in self._experiments:
            raise UserError(f"experiment {record.name!r} already exists")
        self._last_id += 1
        record = dataclasses.replace(record, id=self._last_id)
        self._experiments[record.name] = record
        self._trials[record.id] = []
        return record

    def get_experiment(self, name: str) -> ExperimentRecord:
        if name not in self._experiments:
            raise UserError(f"no experiment named {name!r}")
        return self._experiments[name]

    def experiments(self) -> list[ExperimentRecord]:
        return list(self._experiments.values())

    def set_status(self, experiment_id: int, status: str) -> None:
        self._update(experiment_id, status=status)

    def set_config(self, experiment_id: int, config: dict[str, Any]) -> None:
        self._update(experiment_id, config=dict(config))

    def _update(self, experiment_id: int, **changes: Any) -> None:
        for name, record in self._experiments.items():
            if record.id == experiment_id:
                self._experiments[name] = dataclasses.replace(record, updated=time.time(), **changes)

    # -- managing experiments ---------------------------------------------------------------------
    def delete_experiment(self, name: str) -> None:
        experiment = self.get_experiment(name)
        del self._experiments[name]
        for table in (self._trials, self._checkpoints, self._epochs, self._states):
            table.pop(experiment.id, None)

    def rename_experiment(self, name: str, new_name: str) -> ExperimentRecord:
        experiment = self.get_experiment(name)
        if check_name(new_name) == name:
            return experiment
        if new_name in self._experiments:
            raise UserError(f"experiment {new_name!r} already exists")
        renamed = dataclasses.replace(experiment, name=new_name, config=renamed_config(experiment.config, new_name),
                                      updated=time.time())
        self._experiments = {(new_name if key == name else key): (renamed if key == name else record)
                             for key, record in self._experiments.items()}  # the order of creation is kept
        return renamed

    def import_experiment(self, data: ExperimentData, name: str | None = None) -> ExperimentRecord:
        data = copy.deepcopy(data)  # nothing shared with the source
        name = data.experiment.name if name is None else check_name(name)
        record = self._add(dataclasses.replace(data.experiment, name=name,
                                               config=renamed_config(data.experiment.config, name)))
        self._trials[record.id] = list(data.trials)
        if data.checkpoint is not None:
            self._checkpoints[record.id] = data.checkpoint
        for epoch in data.epochs:
            self.record_epoch(record.id, epoch, None)
        if data.oneshot_state is not None:
            self._states[record.id] = data.oneshot_state
        return record

    def record_trial(self, experiment_id: int, trial: TrialRecord, checkpoint: StrategyCheckpoint | None) -> None:
        self._trials[experiment_id].append(trial)
        if checkpoint is not None:
            self._checkpoints[experiment_id] = checkpoint

    def save_checkpoint(self, experiment_id: int, checkpoint: StrategyCheckpoint) -> None:
        self._checkpoints[experiment_id] = checkpoint

    def trials(self, experiment_id: int) -> list[TrialRecord]:
        return list(self._trials.get(experiment_id, []))

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
