"""The PostgreSQL store (psycopg 3, imported when one is opened): many drivers on many machines, one database.

The same tables, columns and schema version as the SQLite journal (:mod:`archsearch.store.sqlite`): ``meta``,
``experiments``, ``trials``, ``strategy_state``, ``epochs`` and ``oneshot_state``; JSON is kept as text (NaN and
exact floats survive), the one-shot state as ``bytea``. A new database gets the tables on first open, under a
transaction-level advisory lock so that many drivers starting at once create them once; an older schema is
migrated in place (``MIGRATIONS``), a newer one is refused.

A trial and the checkpoint that follows it are one transaction (committed with the server's
``synchronous_commit``: durable across a killed driver, and across a crash of the server's machine when
``fsync`` is on). One process at a time runs an experiment: ``lock_experiment`` takes a session-level advisory
lock (``pg_try_advisory_lock(LOCK_SPACE, experiment id)``), held until ``close``; the server drops it when the
driver's connection ends, SIGKILL included. An experiment stored as ``running`` whose lock nobody holds reads as
``interrupted``. Server and connection errors become a one-line ``UserError``; nothing committed is lost.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from archsearch.core.errors import UserError
from archsearch.store.base import ExperimentData, ExperimentRecord, StrategyCheckpoint, TrialRecord
from archsearch.store.postgres_schema import (HELD_LOCKS, MIGRATIONS, SCHEMA, UPSERT_CHECKPOINT, UPSERT_EPOCH,
                                              UPSERT_STATE)
from archsearch.store.relational import RelationalStore

SCHEMA_VERSION = 4  # the SQLite store's: the same tables
LOCK_SPACE = 0x41524348  # 'ARCH': the first key of archsearch's advisory locks; the second is the experiment id
SCHEMA_LOCK = 0  # second key of the lock taken while the tables are created or migrated (ids start at 1)
CONNECT_TIMEOUT = 10  # seconds, unless the URL says otherwise
INSTALL_HINT = "pip install 'archsearch[postgres]' (psycopg 3)"

def is_postgres_url(location: object) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def display_url(url: str) -> str:
    """``url`` without its password (what messages show)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise UserError(f"a postgresql:// store needs psycopg, which is not installed: {INSTALL_HINT}") from None
    return psycopg


class PostgresStore(RelationalStore):
    """``PostgresStore("postgresql://user@host/db", create=True)``; ``create=False`` refuses a database without
    archsearch's tables (commands that only read or resume). The operations are
    :class:`~archsearch.store.relational.RelationalStore`'s, over psycopg."""

    UPSERT_CHECKPOINT, UPSERT_EPOCH, UPSERT_STATE = UPSERT_CHECKPOINT, UPSERT_EPOCH, UPSERT_STATE

    def __init__(self, url: str, create: bool = True, write: bool = True) -> None:
        """``write`` is accepted for symmetry with ``SQLiteStore``; the server's grants decide what may be written."""
        self.url, self.where = url, display_url(url)
        self.path = self.where  # what messages name, as a SQLite store's path
        self._psycopg = _psycopg()
        self._locks: set[int] = set()  # experiment ids whose advisory lock this connection holds
        self._db = self._connect()
        try:
            self._check_schema(create)
        except BaseException:
            self._db.close()
            raise

    def _connect(self) -> Any:
        psycopg = self._psycopg
        try:
            options = psycopg.conninfo.conninfo_to_dict(self.url)
        except psycopg.Error as exc:
            raise UserError(f"not a valid PostgreSQL URL: {self.where} ({_first_line(exc)})") from None
        options.setdefault("connect_timeout", CONNECT_TIMEOUT)
        options.setdefault("application_name", f"archsearch process {os.getpid()} on {os.uname().nodename}"[:63])
        try:
            return psycopg.connect(autocommit=True, **options)
        except psycopg.Error as exc:
            raise UserError(f"cannot connect to the PostgreSQL store {self.where}: {_first_line(exc)}") from None

    def _check_schema(self, create: bool) -> None:
        with self._transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, SCHEMA_LOCK))
            tables = {row[0] for row in self._db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
            if "experiments" not in tables:
                if not create:
                    raise UserError(f"no archsearch store in {self.where} (the database has no archsearch tables; "
                                    "a search creates them)")
                self._db.execute(SCHEMA)
                self._set_version(SCHEMA_VERSION)
                return
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise UserError(f"store {self.where} has schema version {version}, newer than this archsearch "
                                f"understands ({SCHEMA_VERSION}); upgrade archsearch")
            for old in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS.get(old, ()):
                    self._db.execute(statement)
            if version < SCHEMA_VERSION:
                self._set_version(SCHEMA_VERSION)

    def _set_version(self, version: int) -> None:
        self._db.execute("INSERT INTO meta VALUES ('schema_version', %s) ON CONFLICT (key) DO UPDATE "
                         "SET value = EXCLUDED.value", (str(version),))

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Server and connection errors as one-line ``UserError``s (what was committed stays)."""
        psycopg = self._psycopg
        try:
            yield
        except psycopg.IntegrityError as exc:
            raise UserError(f"the PostgreSQL store {self.where} refused a write ({_first_line(exc)}); is this "
                            "experiment being changed elsewhere?") from None
        except psycopg.Error as exc:
            raise UserError(f"the PostgreSQL store {self.where} failed: {_first_line(exc)}") from None

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction (rolled back on error); one left open by an interrupt is rolled back first."""
        with self._guard():
            if self._db.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE:
                self._db.rollback()
            with self._db.transaction():
                yield

    # -- the primitives of RelationalStore (its ``?`` placeholders are psycopg's ``%s``) -------------------
    def _run(self, sql: str, params: tuple = ()) -> None:
        with self._guard():
            self._db.execute(sql.replace("?", "%s"), params)

    def _run_many(self, sql: str, rows: list[tuple]) -> None:
        with self._guard(), self._db.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), rows)

    def _all(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._guard():
            return self._db.execute(sql.replace("?", "%s"), params).fetchall()

    def _insert_experiment(self, record: ExperimentRecord) -> int:
        (new_id,), = self._all("INSERT INTO experiments (name, config, seed, status, created, updated, version) "
                               "VALUES (?,?,?,?,?,?,?) RETURNING id",
                               (record.name, json.dumps(record.config), record.seed, record.status, record.created,
                                record.updated, record.version))
        return int(new_id)

    def _held(self) -> dict[int, str]:
        """Experiment id -> the application name of the session holding its lock (in this database)."""
        return {int(objid): holder or "another process" for objid, holder in self._all(HELD_LOCKS, (LOCK_SPACE,))}

    def _as_seen(self, records: list[ExperimentRecord]) -> list[ExperimentRecord]:
        """``running`` with nobody holding its lock (a driver killed by SIGKILL, a lost node) reads as
        ``interrupted``; the stored row is left as it is (a resume sets it to running again)."""
        if not any(r.status == "running" and r.id not in self._locks for r in records):
            return records
        held = self._held()
        return [dataclasses.replace(r, status="interrupted")
                if r.status == "running" and r.id not in self._locks and r.id not in held else r for r in records]

    def export_experiment(self, name: str) -> ExperimentData:
        with self._transaction():  # one snapshot of the experiment, also while a driver writes it
            self._run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return super().export_experiment(name)

    def record_trial(self, experiment_id: int, trial: TrialRecord, checkpoint: StrategyCheckpoint | None) -> None:
        with self._guard(), self._db.pipeline():  # BEGIN, the trial, the checkpoint and COMMIT in one round trip
            super().record_trial(experiment_id, trial, checkpoint)

    # -- one process per experiment: a session-level advisory lock ------------------------------
    def _take(self, experiment_id: int, name: str, action: str) -> bool:
        (taken,), = self._all("SELECT pg_try_advisory_lock(?, ?)", (LOCK_SPACE, experiment_id))
        if not taken:
            holder = self._held().get(experiment_id, "another process")
            raise UserError(f"experiment {name!r} is being run by {holder}; {action}")
        self._locks.add(experiment_id)
        return True

    def _unlock(self, experiment_id: int) -> None:
        if experiment_id in self._locks:
            self._locks.discard(experiment_id)
            self._all("SELECT pg_advisory_unlock(?, ?)", (LOCK_SPACE, experiment_id))

    def close(self) -> None:
        """Release the experiments' locks (at once: the server drops them when the connection ends too, but only
        once its backend has noticed) and disconnect."""
        if self._locks and not self._db.closed:
            try:
                self._all("SELECT pg_advisory_unlock_all()")
            except UserError:  # the connection is gone: so are its locks
                pass
        self._locks.clear()
        if not self._db.closed:
            self._db.close()


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
