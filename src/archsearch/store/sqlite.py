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
from pathlib import Path
from urllib.parse import quote
from typing import IO

from archsearch.core.errors import UserError
from archsearch.store import locks
from archsearch.store.base import ExperimentData, ExperimentRecord
from archsearch.store.relational import RelationalStore

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


class SQLiteStore(RelationalStore):
    """``SQLiteStore(path, create=True)``; ``create=False`` for commands that only read or resume. The operations
    are :class:`~archsearch.store.relational.RelationalStore`'s, over ``sqlite3``."""

    UPSERT_CHECKPOINT = "INSERT OR REPLACE INTO strategy_state VALUES (?,?,?,?,?)"
    UPSERT_EPOCH = "INSERT OR REPLACE INTO epochs VALUES (?,?,?,?,?,?,?)"
    UPSERT_STATE = "INSERT OR REPLACE INTO oneshot_state VALUES (?,?)"

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

    # -- the primitives of RelationalStore ------------------------------------------------------
    def _run(self, sql: str, params: tuple = ()) -> None:
        self._db.execute(sql, params)

    def _run_many(self, sql: str, rows: list[tuple]) -> None:
        self._db.executemany(sql, rows)

    def _all(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self._db.execute(sql, params).fetchall()

    def _insert_experiment(self, record: ExperimentRecord) -> int:
        cursor = self._db.execute(
            "INSERT INTO experiments (name, config, seed, status, created, updated, version) VALUES (?,?,?,?,?,?,?)",
            (record.name, json.dumps(record.config), record.seed, record.status, record.created, record.updated,
             record.version))
        return int(cursor.lastrowid or 0)

    def _as_seen(self, records: list[ExperimentRecord]) -> list[ExperimentRecord]:
        """``running`` with no live process holding its lock (a driver killed by SIGKILL) reads as
        ``interrupted``; the stored row is left as it is (a resume sets it to running again)."""
        return [dataclasses.replace(r, status="interrupted") if r.status == "running" and r.id not in self._locks
                and not locks.holder_alive(locks.lock_path(self.path, r.id)) else r for r in records]

    def export_experiment(self, name: str) -> ExperimentData:
        self._db.execute("BEGIN")  # one snapshot of the experiment, also while a search writes it
        try:
            return super().export_experiment(name)
        finally:
            self._db.execute("COMMIT")

    # -- one process per experiment: a flock on a side file -------------------------------------
    def _take(self, experiment_id: int, name: str, action: str) -> bool:
        handle = locks.acquire(locks.lock_path(self.path, experiment_id), name, action)
        if handle is None:  # pragma: no cover - not POSIX: no lock
            return False
        self._locks[experiment_id] = handle
        return True

    def _unlock(self, experiment_id: int) -> None:
        handle = self._locks.pop(experiment_id, None)
        if handle is not None:
            locks.release(handle, locks.lock_path(self.path, experiment_id))

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
