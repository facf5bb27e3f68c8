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
file ``.<store name>.<experiment id>.lock`` next to the store, held until ``close`` (the kernel releases it when
the process dies, SIGKILL included); a second ``search``/``resume`` of the same experiment is a user error.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote
from typing import Any

from archsearch.core.errors import UserError
from archsearch.store.base import EpochRecord, ExperimentRecord, StrategyCheckpoint, Store, TrialRecord

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
        self._locks: dict[int, Any] = {}  # experiment id -> open lock file (flock held)
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
        if existed and (tables or not create) and "experiments" not in tables:
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
                raise UserError(f"experiment {name!r} already exists in {self.path}; "
                                f"continue it with 'archsearch resume {name}' or choose another --name")
            self._db.execute(
                "INSERT INTO experiments (name, config, seed, status, created, updated, version) VALUES (?,?,?,?,?,?,?)",
                (name, json.dumps(config), seed, "running", now, now, __version__))
        return self.get_experiment(name)

    def get_experiment(self, name: str) -> ExperimentRecord:
        row = self._db.execute("SELECT id, name, config, seed, status, created, updated, version FROM experiments "
                               "WHERE name=?", (name,)).fetchone()
        if row is None:
            known = [r.name for r in self.experiments()]
            hint = f"; experiments here: {', '.join(known)}" if known else "; the store has no experiments"
            raise UserError(f"no experiment named {name!r} in {self.path}{hint}")
        return _experiment(row)

    def experiments(self) -> list[ExperimentRecord]:
        rows = self._db.execute("SELECT id, name, config, seed, status, created, updated, version FROM experiments "
                                "ORDER BY id").fetchall()
        return [_experiment(row) for row in rows]

    def set_status(self, experiment_id: int, status: str) -> None:
        with self._transaction():
            self._db.execute("UPDATE experiments SET status=?, updated=? WHERE id=?", (status, time.time(), experiment_id))

    # -- trials -------------------------------------------------------------------------------
    def record_trial(self, experiment_id: int, trial: TrialRecord, checkpoint: StrategyCheckpoint | None) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO trials VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (experiment_id, trial.number, json.dumps(trial.arch, separators=(",", ":")), trial.fidelity,
                 trial.status, json.dumps(trial.metrics), trial.cost, trial.error, trial.started, trial.finished,
                 json.dumps(trial.curves)))
            if checkpoint is not None:
                self._write_checkpoint(experiment_id, checkpoint)

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
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            return
        path = self.path.with_name(f".{self.path.name}.{experiment_id}.lock")
        try:
            handle = open(path, "a+", encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot lock experiment {name!r} next to {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise UserError(f"experiment {name!r} is being run by {holder}; wait for it to finish or stop it "
                            "before resuming") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {os.uname().nodename}")
        handle.flush()
        self._locks[experiment_id] = handle

    # -- one-shot epochs ---------------------------------------------------------------------------
    def record_epoch(self, experiment_id: int, record: EpochRecord, state: bytes | None) -> None:
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO epochs VALUES (?,?,?,?,?,?,?)",
                             (experiment_id, str(record.kind), record.epoch, record.seconds, json.dumps(record.metrics),
                              None if record.arch is None else json.dumps(record.arch),
                              json.dumps([[arch, acc] for arch, acc in record.ranking])))
            if state is not None:
                self._db.execute("INSERT OR REPLACE INTO oneshot_state VALUES (?,?)", (experiment_id, state))

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
        for handle in self._locks.values():
            handle.close()  # releases the flock
        self._locks.clear()
        self._db.close()


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


def _experiment(row: tuple) -> ExperimentRecord:
    id_, name, config, seed, status, created, updated, version = row
    return ExperimentRecord(id_, name, json.loads(config), seed, status, created, updated, version)
