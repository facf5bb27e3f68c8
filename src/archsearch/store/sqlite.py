"""The SQLite journal (standard library ``sqlite3``, WAL mode).

Tables: ``meta`` (schema version), ``experiments`` (name, full config as JSON, seed, status,
created), ``trials`` (arch key, fidelity, status, metrics JSON, cost, start/end, learning curves JSON) and
``strategy_state`` (the strategy's JSON state, its RNG included, after the latest trial, with the trials it asked
that were still in flight); for one-shot
searches ``epochs`` (per-epoch metrics, derived arch, final ranking) and ``oneshot_state`` (the engine's
torch-serialised weights, logits and optimisers after the latest epoch, committed with that epoch). A trial
and the checkpoint that follows it are written in one transaction, committed before the next ask,
so a killed search loses at most the trial in flight and resumes exactly. WAL lets a second
process read while a search writes. ``synchronous=NORMAL``: durable across a killed process;
after a power loss the journal is still consistent but may lack the last trials.

Opening never creates or changes a file that is not an archsearch store: the header is checked
before SQLite touches it. Older schemas are migrated in place on open (version 1 -> 2 adds the
``curves`` column, existing trials get ``{}``; 2 -> 3 adds the one-shot tables; 3 -> 4 the ``pending`` column
of ``strategy_state``); a newer schema is refused.

One process at a time runs an experiment: ``lock_experiment`` takes an exclusive ``flock`` on a small side
file ``.<store name>.<experiment id>.lock`` next to the store (:mod:`archsearch.store.locks`), held until
``close``, which removes the file (the kernel releases the lock when the process dies, SIGKILL included); a
second ``search``/``resume`` of the same experiment is a user error, and so is removing or renaming an
experiment that a process runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote
from typing import IO, Any

from archsearch.core.errors import UserError
from archsearch.store import locks
from archsearch.store.base import (EpochRecord, ExperimentData, ExperimentRecord, StrategyCheckpoint, Store,
                                   TrialRecord, check_name, renamed_config)

SCHEMA_VERSION = 4
SQLITE_HEADER = b"SQLite format 3\x00"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS experiments (
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, config TEXT NOT NULL, seed INTEGER NOT NULL,
    status TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL, version TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS trials (
    experiment_id INTEGER NOT NULL REFERENCES experiments(id), number INTEGER NOT NULL,
    arch TEXT NOT NULL, fidelity REAL, status TEXT NOT NULL, metrics TEXT NOT NULL, cost REAL NOT NULL,
    error TEXT, started REAL, finished REAL, curves TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (experiment_id, number));
CREATE TABLE IF NOT EXISTS strategy_state (
    experiment_id INTEGER PRIMARY KEY REFERENCES experiments(id), trial_count INTEGER NOT NULL,
    cost_spent REAL NOT NULL, state TEXT NOT NULL, pending TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS epochs (
    experiment_id INTEGER NOT NULL REFERENCES experiments(id), kind TEXT NOT NULL, epoch INTEGER NOT NULL,
    seconds REAL NOT NULL, metrics TEXT NOT NULL, arch TEXT, ranking TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (experiment_id, kind, epoch));
CREATE TABLE IF NOT EXISTS oneshot_state (
    experiment_id INTEGER PRIMARY KEY REFERENCES experiments(id), state BLOB NOT NULL);
"""


def _check_location(path: Path, create: bool) -> None:
    if not path.parent.is_dir():
        raise UserError(f"store folder does not exist: {path.parent}")
    if path.is_dir():
        raise UserError(f"store path is a folder, not a file: {path}")
    if not path.exists():
        if not create:
            raise UserError(f"store not found: {path}")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise UserError(f"store folder is not writable: {path.parent}")
        return
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header and header != SQLITE_HEADER:
        raise UserError(f"not an archsearch store (not a SQLite file): {path}")


class SQLiteStore(Store):
    """``SQLiteStore(path, create=True)``; ``create=False`` for commands that only read or resume."""

    def __init__(self, path: str | os.PathLike[str], create: bool = True, write: bool = True) -> None:
        """``write=False`` (show, export): a store file without write permission is opened immutable, leaving
        no -wal/-shm files behind; a command that writes refuses a read-only store with one clear line."""
        self.path = Path(path)
        self._locks: dict[int, IO[str]] = {}  # experiment id -> open lock file (flock held)
        _check_location(self.path, create)
        existed = self.path.exists() and self.path.stat().st_size > 0
        if not create and not existed:
            raise UserError(f"not an archsearch store (empty file): {self.path}")
        read_only = existed and not os.access(self.path, os.W_OK)
        if read_only and write:
            raise UserError(f"store is read-only: {self.path}")
        if read_only:
            target, uri = f"file:{quote(str(self.path.resolve()))}?immutable=1", True
        else:
            target, uri = str(self.path), False
        self._db = sqlite3.connect(target, timeout=30.0, isolation_level=None, uri=uri)
        try:
            self._db.execute("PRAGMA busy_timeout = 30000")
            self._check_schema(existed, create, read_only)
            if not existed:
                self._db.execute("PRAGMA journal_mode = WAL")
            if not read_only:
                self._db.execute("PRAGMA synchronous = NORMAL")
        except BaseException as exc:
            self._db.close()  # no -wal/-shm left beside a store that was refused
            if isinstance(exc, sqlite3.DatabaseError):
                raise UserError(f"cannot use store {self.path}: {exc}") from None
            raise

    def _check_schema(self, existed: bool, create: bool, read_only: bool = False) -> None:
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if existed and not tables:  # a new store goes into a missing or empty (0-byte) file only
            raise UserError(f"not an archsearch store (SQLite file without tables; archsearch creates a store only "
                            f"in a new or empty file): {self.path}")
        if existed and "experiments" not in tables:
            raise UserError(f"not an archsearch store (SQLite file without archsearch tables): {self.path}")
        if "meta" in tables:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise UserError(f"store {self.path} has schema version {version}, newer than this archsearch "
                                f"understands ({SCHEMA_VERSION}); upgrade archsearch")
            if version < SCHEMA_VERSION:
                if read_only:
                    raise UserError(f"store {self.path} has the older schema version {version} and is read-only; "
                                    "make it writable once so that archsearch can upgrade it")
                self._migrate(version)
            return
        with self._transaction():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _migrate(self, version: int) -> None:
        """Bring an older store to ``SCHEMA_VERSION`` in one transaction; stored rows are kept as they are."""
        with self._transaction():
            if version < 2:
                self._db.execute("ALTER TABLE trials ADD COLUMN curves TEXT NOT NULL DEFAULT '{}'")
            if version < 3:
                for statement in SCHEMA.split(";"):
                    if "epochs" in statement or "oneshot_state" in statement:
                        self._db.execute(statement)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(strategy_state)")}
            if version < 4 and "pending" not in columns:
                self._db.execute("ALTER TABLE strategy_state ADD COLUMN pending TEXT NOT NULL DEFAULT '[]'")
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._db)

    # -- experiments --------------------------------------------------------------------------
    def create_experiment(self, name: str, config: dict[str, Any], seed: int) -> ExperimentRecord:
        from archsearch import __version__

        now = time.time()
        with self._transaction():
            if self._db.execute("SELECT 1 FROM experiments WHERE name=?", (name,)).fetchone():
                raise UserError(f"experiment {name!r} already exists in {self.path}; continue it with "
                                f"Study.resume({name!r}, store) or choose another name",
                                cli=f"experiment {name!r} already exists in {self.path}; continue it with "
                                    f"'archsearch resume {name} --store {self.path}' or choose another --name")
            self._insert_experiment(ExperimentRecord(0, name, config, seed, "running", now, now, __version__))
        return self.get_experiment(name)

    def _insert_experiment(self, record: ExperimentRecord) -> int:
        """Insert ``record`` under a new id (its own is ignored); returns the new id."""
        cursor = self._db.execute(
            "INSERT INTO experiments (name, config, seed, status, created, updated, version) VALUES (?,?,?,?,?,?,?)",
            (record.name, json.dumps(record.config), record.seed, record.status, record.created, record.updated,
             record.version))
        return int(cursor.lastrowid or 0)

    def get_experiment(self, name: str) -> ExperimentRecord:
        row = self._db.execute("SELECT id, name, config, seed, status, created, updated, version FROM experiments "
                               "WHERE name=?", (name,)).fetchone()
        if row is None:
            known = [r.name for r in self.experiments()]
            hint = f"; experiments here: {', '.join(known)}" if known else "; the store has no experiments"
            raise UserError(f"no experiment named {name!r} in {self.path}{hint}")
        return self._as_seen(_experiment(row))

    def experiments(self) -> list[ExperimentRecord]:
        rows = self._db.execute("SELECT id, name, config, seed, status, created, updated, version FROM experiments "
                                "ORDER BY id").fetchall()
        return [self._as_seen(_experiment(row)) for row in rows]

    def _as_seen(self, record: ExperimentRecord) -> ExperimentRecord:
        """``running`` with no live process holding its lock (a driver killed by SIGKILL) reads as
        ``interrupted``; the stored row is left as it is (a resume sets it to running again)."""
        if record.status != "running" or record.id in self._locks:
            return record
        if locks.holder_alive(locks.lock_path(self.path, record.id)):
            return record
        return dataclasses.replace(record, status="interrupted")

    def set_status(self, experiment_id: int, status: str) -> None:
        with self._transaction():
            self._db.execute("UPDATE experiments SET status=?, updated=? WHERE id=?", (status, time.time(), experiment_id))

    def set_config(self, experiment_id: int, config: dict[str, Any]) -> None:
        with self._transaction():
            self._db.execute("UPDATE experiments SET config=?, updated=? WHERE id=?",
                             (json.dumps(config), time.time(), experiment_id))

    # -- managing experiments: one transaction each, under the experiment's lock -------------------------
    def delete_experiment(self, name: str) -> None:
        experiment = self.get_experiment(name)
        took = self._hold(experiment, "stop it before removing it")
        try:
            with self._transaction():
                self._check_unchanged(experiment.id, experiment.name)
                for table in ("trials", "strategy_state", "epochs", "oneshot_state"):
                    self._db.execute(f"DELETE FROM {table} WHERE experiment_id=?", (experiment.id,))
                self._db.execute("DELETE FROM experiments WHERE id=?", (experiment.id,))
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
                self._db.execute("UPDATE experiments SET name=?, config=?, updated=? WHERE id=?",
                                 (new_name, json.dumps(config), time.time(), experiment.id))
        finally:
            if took:
                self._unlock(experiment.id)
        return self.get_experiment(new_name)

    def export_experiment(self, name: str) -> ExperimentData:
        self._db.execute("BEGIN")  # one snapshot of the experiment, also while a search writes it
        try:
            return super().export_experiment(name)
        finally:
            self._db.execute("COMMIT")

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
                self._db.execute("INSERT INTO oneshot_state VALUES (?,?)", (new_id, data.oneshot_state))
        return self.get_experiment(name)

    def _check_free(self, name: str) -> None:
        if self._db.execute("SELECT 1 FROM experiments WHERE name=?", (name,)).fetchone():
            raise UserError(f"experiment {name!r} already exists in {self.path}; choose another name",
                            cli=f"experiment {name!r} already exists in {self.path}; choose another name "
                                "(or 'archsearch rm' it first)")

    def _check_unchanged(self, experiment_id: int, name: str) -> None:
        """The experiment is still there under its name (not removed or renamed by another process meanwhile)."""
        if not self._db.execute("SELECT 1 FROM experiments WHERE id=? AND name=?", (experiment_id, name)).fetchone():
            raise UserError(f"experiment {name!r} was removed or renamed in {self.path} meanwhile")

    # -- trials -------------------------------------------------------------------------------
    def record_trial(self, experiment_id: int, trial: TrialRecord, checkpoint: StrategyCheckpoint | None) -> None:
        with self._transaction():
            self._insert_trials(experiment_id, [trial])
            if checkpoint is not None:
                self._write_checkpoint(experiment_id, checkpoint)

    def _insert_trials(self, experiment_id: int, trials: list[TrialRecord]) -> None:
        self._db.executemany(
            "INSERT INTO trials VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [(experiment_id, trial.number, json.dumps(trial.arch, separators=(",", ":")), trial.fidelity,
              trial.status, json.dumps(trial.metrics), trial.cost, trial.error, trial.started, trial.finished,
              json.dumps(trial.curves)) for trial in trials])

    def save_checkpoint(self, experiment_id: int, checkpoint: StrategyCheckpoint) -> None:
        with self._transaction():
            self._write_checkpoint(experiment_id, checkpoint)

    def _write_checkpoint(self, experiment_id: int, checkpoint: StrategyCheckpoint) -> None:
        self._db.execute("INSERT OR REPLACE INTO strategy_state VALUES (?,?,?,?,?)",
                         (experiment_id, checkpoint.trial_count, checkpoint.cost_spent, json.dumps(checkpoint.state),
                          json.dumps(checkpoint.pending)))

    def trials(self, experiment_id: int) -> list[TrialRecord]:
        rows = self._db.execute("SELECT number, arch, fidelity, status, metrics, cost, error, started, finished, "
                                "curves FROM trials WHERE experiment_id=? ORDER BY number", (experiment_id,)).fetchall()
        return [TrialRecord(number, json.loads(arch), fidelity, status, json.loads(metrics), cost, error, started,
                            finished, json.loads(curves))
                for number, arch, fidelity, status, metrics, cost, error, started, finished, curves in rows]

    def checkpoint(self, experiment_id: int) -> StrategyCheckpoint | None:
        row = self._db.execute("SELECT trial_count, cost_spent, state, pending FROM strategy_state "
                               "WHERE experiment_id=?", (experiment_id,)).fetchone()
        return None if row is None else StrategyCheckpoint(row[0], row[1], json.loads(row[2]), json.loads(row[3]))

    # -- one process per experiment -------------------------------------------------------------
    def lock_experiment(self, experiment_id: int, name: str) -> None:
        if experiment_id in self._locks:
            return
        handle = locks.acquire(locks.lock_path(self.path, experiment_id), name,
                               "wait for it to finish or stop it before resuming")
        if handle is None:  # pragma: no cover - not POSIX: no lock
            return
        self._locks[experiment_id] = handle
        try:
            self._check_unchanged(experiment_id, name)
        except UserError:
            self._unlock(experiment_id)
            raise

    def _unlock(self, experiment_id: int) -> None:
        handle = self._locks.pop(experiment_id, None)
        if handle is not None:
            locks.release(handle, locks.lock_path(self.path, experiment_id))

    def _hold(self, experiment: ExperimentRecord, action: str) -> bool:
        """Lock ``experiment`` for a change unless this store already holds its lock; whether it took it (a
        UserError with ``action`` when another process runs it)."""
        if experiment.id in self._locks:
            return False
        handle = locks.acquire(locks.lock_path(self.path, experiment.id), experiment.name, action)
        if handle is not None:
            self._locks[experiment.id] = handle
        return handle is not None

    # -- one-shot epochs ---------------------------------------------------------------------------
    def record_epoch(self, experiment_id: int, record: EpochRecord, state: bytes | None) -> None:
        with self._transaction():
            self._write_epoch(experiment_id, record)
            if state is not None:
                self._db.execute("INSERT OR REPLACE INTO oneshot_state VALUES (?,?)", (experiment_id, state))

    def _write_epoch(self, experiment_id: int, record: EpochRecord) -> None:
        self._db.execute("INSERT OR REPLACE INTO epochs VALUES (?,?,?,?,?,?,?)",
                         (experiment_id, str(record.kind), record.epoch, record.seconds, json.dumps(record.metrics),
                          None if record.arch is None else json.dumps(record.arch),
                          json.dumps([[arch, acc] for arch, acc in record.ranking])))

    def epochs(self, experiment_id: int) -> list[EpochRecord]:
        rows = self._db.execute("SELECT epoch, seconds, metrics, arch, kind, ranking FROM epochs WHERE experiment_id=? "
                                "ORDER BY epoch, kind != 'epoch'", (experiment_id,)).fetchall()
        return [EpochRecord(epoch, seconds, json.loads(metrics), None if arch is None else json.loads(arch), kind,
                            [(a, acc) for a, acc in json.loads(ranking)])
                for epoch, seconds, metrics, arch, kind, ranking in rows]

    def oneshot_state(self, experiment_id: int) -> bytes | None:
        row = self._db.execute("SELECT state FROM oneshot_state WHERE experiment_id=?", (experiment_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def close(self) -> None:
        for experiment_id in list(self._locks):
            self._unlock(experiment_id)  # removes the side file, then releases the flock
        self._db.close()


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error). A transaction left open by an interrupt
    that landed between ``BEGIN`` and the ``with`` body, or inside ``COMMIT``, is rolled back first: what it
    held was never committed, and the next write (e.g. the status ``interrupted``) must not fail on it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


def _experiment(row: tuple) -> ExperimentRecord:
    id_, name, config, seed, status, created, updated, version = row
    return ExperimentRecord(id_, name, json.loads(config), seed, status, created, updated, version)
