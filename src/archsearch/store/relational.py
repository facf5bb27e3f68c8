"""What the two SQL stores share (:class:`RelationalStore`): the tables' rows as records, and every operation
written once over a few primitives, so that the SQLite journal (:mod:`archsearch.store.sqlite`) and the PostgreSQL
store (:mod:`archsearch.store.postgres`, issue 27) keep one contract.

A subclass provides: ``_transaction()`` (one transaction, rolled back on error), ``_run``/``_one``/``_all``
(execute a statement written with ``?`` placeholders, in its own dialect), ``_run_many``, ``_insert_experiment``
(the new id), ``UPSERT_CHECKPOINT``/``UPSERT_EPOCH``/``UPSERT_STATE`` (replace the row of that key), ``_as_seen``
(``running`` without a live holder reads ``interrupted``), the experiment lock (``_take``, ``_unlock``, ``_locks``)
and ``path`` (what messages name). Every write runs in one transaction; ``record_trial`` commits the trial with the
checkpoint that follows it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from contextlib import AbstractContextManager
from typing import Any

from archsearch.core.errors import UserError
from archsearch.store.base import (EpochRecord, ExperimentData, ExperimentRecord, StrategyCheckpoint, Store,
                                   TrialRecord, check_name, renamed_config)

EXPERIMENT_COLUMNS = "id, name, config, seed, status, created, updated, version"
TRIAL_COLUMNS = "number, arch, fidelity, status, metrics, cost, error, started, finished, curves"
TABLES = ("trials", "strategy_state", "epochs", "oneshot_state")  # an experiment's rows besides its own


class RelationalStore(Store):
    """The operations of a SQL store over its primitives (see the module's docstring)."""

    path: Any
    _locks: Collection[int]
    UPSERT_CHECKPOINT: str
    UPSERT_EPOCH: str
    UPSERT_STATE: str

    # -- primitives --------------------------------------------------------------------------
    def _transaction(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _run(self, sql: str, params: tuple = ()) -> None:
        raise NotImplementedError

    def _run_many(self, sql: str, rows: list[tuple]) -> None:
        raise NotImplementedError

    def _one(self, sql: str, params: tuple = ()) -> tuple | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    def _all(self, sql: str, params: tuple = ()) -> list[tuple]:
        raise NotImplementedError

    def _insert_experiment(self, record: ExperimentRecord) -> int:
        """Insert ``record`` under a new id (its own is ignored); returns the new id."""
        raise NotImplementedError

    def _as_seen(self, records: list[ExperimentRecord]) -> list[ExperimentRecord]:
        raise NotImplementedError

    def _take(self, experiment_id: int, name: str, action: str) -> bool:
        """Lock the experiment for this store (False where there are no locks); a UserError naming the holder
        and ``action`` when another process holds it."""
        raise NotImplementedError

    def _unlock(self, experiment_id: int) -> None:
        raise NotImplementedError

    # -- experiments --------------------------------------------------------------------------
    def create_experiment(self, name: str, config: dict[str, Any], seed: int) -> ExperimentRecord:
        from archsearch import __version__

        now = time.time()
        with self._transaction():
            if self._one("SELECT 1 FROM experiments WHERE name=?", (name,)):
                raise UserError(f"experiment {name!r} already exists in {self.path}; continue it with "
                                f"Study.resume({name!r}, store) or choose another name",
                                cli=f"experiment {name!r} already exists in {self.path}; continue it with "
                                    f"'archsearch resume {name} --store {self.path}' or choose another --name")
            self._insert_experiment(ExperimentRecord(0, name, config, seed, "running", now, now, __version__))
        return self.get_experiment(name)

    def get_experiment(self, name: str) -> ExperimentRecord:
        row = self._one(f"SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE name=?", (name,))
        if row is None:
            known = [r.name for r in self.experiments()]
            hint = f"; experiments here: {', '.join(known)}" if known else "; the store has no experiments"
            raise UserError(f"no experiment named {name!r} in {self.path}{hint}")
        return self._as_seen([experiment_record(row)])[0]

    def experiments(self) -> list[ExperimentRecord]:
        rows = self._all(f"SELECT {EXPERIMENT_COLUMNS} FROM experiments ORDER BY id")
        return self._as_seen([experiment_record(row) for row in rows])

    def set_status(self, experiment_id: int, status: str) -> None:
        with self._transaction():
            self._run("UPDATE experiments SET status=?, updated=? WHERE id=?", (status, time.time(), experiment_id))

    def set_config(self, experiment_id: int, config: dict[str, Any]) -> None:
        with self._transaction():
            self._run("UPDATE experiments SET config=?, updated=? WHERE id=?",
                      (json.dumps(config), time.time(), experiment_id))

    # -- managing experiments: one transaction each, under the experiment's lock -------------------------
    def delete_experiment(self, name: str) -> None:
        experiment = self.get_experiment(name)
        took = self._hold(experiment, "stop it before removing it")
        try:
            with self._transaction():
                self._check_unchanged(experiment.id, experiment.name)
                for table in TABLES:
                    self._run(f"DELETE FROM {table} WHERE experiment_id=?", (experiment.id,))
                self._run("DELETE FROM experiments WHERE id=?", (experiment.id,))
        except BaseException:
            if took:
                self._unlock(experiment.id)
            raise
        self._unlock(experiment.id)  # the experiment is gone, and so is its lock (also one this store held)

    def rename_experiment(self, name: str, new_name: str) -> ExperimentRecord:
        experiment = self.get_experiment(name)
        if check_name(new_name) == name:
            return experiment
        took = self._hold(experiment, "stop it before renaming it")
        try:
            with self._transaction():
                self._check_unchanged(experiment.id, experiment.name)
                self._check_free(new_name)
                config = renamed_config(self.get_experiment(name).config, new_name)
                self._run("UPDATE experiments SET name=?, config=?, updated=? WHERE id=?",
                          (new_name, json.dumps(config), time.time(), experiment.id))
        finally:
            if took:
                self._unlock(experiment.id)
        return self.get_experiment(new_name)

    def import_experiment(self, data: ExperimentData, name: str | None = None) -> ExperimentRecord:
        name = data.experiment.name if name is None else check_name(name)
        source = data.experiment
        with self._transaction():
            self._check_free(name)
            new_id = self._insert_experiment(ExperimentRecord(0, name, renamed_config(source.config, name), source.seed,
                                                              source.status, source.created, source.updated,
                                                              source.version))
            self._insert_trials(new_id, data.trials)
            if data.checkpoint is not None:
                self._write_checkpoint(new_id, data.checkpoint)
            for epoch in data.epochs:
                self._write_epoch(new_id, epoch)
            if data.oneshot_state is not None:
                self._run(self.UPSERT_STATE, (new_id, data.oneshot_state))
        return self.get_experiment(name)

    def _check_free(self, name: str) -> None:
        if self._one("SELECT 1 FROM experiments WHERE name=?", (name,)):
            raise UserError(f"experiment {name!r} already exists in {self.path}; choose another name",
                            cli=f"experiment {name!r} already exists in {self.path}; choose another name "
                                "(or 'archsearch rm' it first)")

    def _check_unchanged(self, experiment_id: int, name: str) -> None:
        """The experiment is still there under its name (not removed or renamed by another process meanwhile)."""
        if not self._one("SELECT 1 FROM experiments WHERE id=? AND name=?", (experiment_id, name)):
            raise UserError(f"experiment {name!r} was removed or renamed in {self.path} meanwhile")

    # -- trials -------------------------------------------------------------------------------
    def record_trial(self, experiment_id: int, trial: TrialRecord, checkpoint: StrategyCheckpoint | None) -> None:
        with self._transaction():
            self._insert_trials(experiment_id, [trial])
            if checkpoint is not None:
                self._write_checkpoint(experiment_id, checkpoint)

    def _insert_trials(self, experiment_id: int, trials: list[TrialRecord]) -> None:
        self._run_many("INSERT INTO trials VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       [(experiment_id, trial.number, json.dumps(trial.arch, separators=(",", ":")), trial.fidelity,
                         trial.status, json.dumps(trial.metrics), trial.cost, trial.error, trial.started,
                         trial.finished, json.dumps(trial.curves)) for trial in trials])

    def save_checkpoint(self, experiment_id: int, checkpoint: StrategyCheckpoint) -> None:
        with self._transaction():
            self._write_checkpoint(experiment_id, checkpoint)

    def _write_checkpoint(self, experiment_id: int, checkpoint: StrategyCheckpoint) -> None:
        self._run(self.UPSERT_CHECKPOINT, (experiment_id, checkpoint.trial_count, checkpoint.cost_spent,
                                           json.dumps(checkpoint.state), json.dumps(checkpoint.pending)))

    def trials(self, experiment_id: int) -> list[TrialRecord]:
        rows = self._all(f"SELECT {TRIAL_COLUMNS} FROM trials WHERE experiment_id=? ORDER BY number", (experiment_id,))
        return [TrialRecord(number, json.loads(arch), fidelity, status, json.loads(metrics), cost, error, started,
                            finished, json.loads(curves))
                for number, arch, fidelity, status, metrics, cost, error, started, finished, curves in rows]

    def checkpoint(self, experiment_id: int) -> StrategyCheckpoint | None:
        row = self._one("SELECT trial_count, cost_spent, state, pending FROM strategy_state WHERE experiment_id=?",
                        (experiment_id,))
        return None if row is None else StrategyCheckpoint(row[0], row[1], json.loads(row[2]), json.loads(row[3]))

    # -- one process per experiment -------------------------------------------------------------
    def lock_experiment(self, experiment_id: int, name: str) -> None:
        if experiment_id in self._locks:
            return
        if not self._take(experiment_id, name, "wait for it to finish or stop it before resuming"):
            return  # pragma: no cover - no locks here
        try:
            self._check_unchanged(experiment_id, name)
        except UserError:
            self._unlock(experiment_id)
            raise

    def _hold(self, experiment: ExperimentRecord, action: str) -> bool:
        """Lock ``experiment`` for a change unless this store already holds its lock; whether it took it (a
        UserError with ``action`` when another process runs it)."""
        if experiment.id in self._locks:
            return False
        return self._take(experiment.id, experiment.name, action)

    # -- one-shot epochs ---------------------------------------------------------------------------
    def record_epoch(self, experiment_id: int, record: EpochRecord, state: bytes | None) -> None:
        with self._transaction():
            self._write_epoch(experiment_id, record)
            if state is not None:
                self._run(self.UPSERT_STATE, (experiment_id, state))

    def _write_epoch(self, experiment_id: int, record: EpochRecord) -> None:
        self._run(self.UPSERT_EPOCH, (experiment_id, str(record.kind), record.epoch, record.seconds,
                                      json.dumps(record.metrics), None if record.arch is None else
                                      json.dumps(record.arch), json.dumps([[a, acc] for a, acc in record.ranking])))

    def epochs(self, experiment_id: int) -> list[EpochRecord]:
        rows = self._all("SELECT epoch, seconds, metrics, arch, kind, ranking FROM epochs WHERE experiment_id=? "
                         "ORDER BY epoch, kind <> 'epoch', kind", (experiment_id,))
        return [EpochRecord(epoch, seconds, json.loads(metrics), None if arch is None else json.loads(arch), kind,
                            [(a, acc) for a, acc in json.loads(ranking)])
                for epoch, seconds, metrics, arch, kind, ranking in rows]

    def oneshot_state(self, experiment_id: int) -> bytes | None:
        row = self._one("SELECT state FROM oneshot_state WHERE experiment_id=?", (experiment_id,))
        return None if row is None else bytes(row[0])


def experiment_record(row: tuple) -> ExperimentRecord:
    id_, name, config, seed, status, created, updated, version = row
    return ExperimentRecord(int(id_), name, json.loads(config), int(seed), status, created, updated, version)
