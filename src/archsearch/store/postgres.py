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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from archsearch.core.errors import UserError
from archsearch.store.base import (EpochRecord, ExperimentData, ExperimentRecord, StrategyCheckpoint, Store,
                                   TrialRecord, check_name, renamed_config)
from archsearch.store.postgres_schema import (EXPERIMENT_COLUMNS, HELD_LOCKS, MIGRATIONS, SCHEMA, UPSERT_CHECKPOINT,
                                              UPSERT_EPOCH, UPSERT_STATE)

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


class PostgresStore(Store):
    """``PostgresStore("postgresql://user@host/db", create=True)``; ``create=False`` refuses a database without
    archsearch's tables (commands that only read or resume)."""

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

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._guard():
            return self._db.execute(sql, params).fetchall()

    # -- experiments --------------------------------------------------------------------------
    def create_experiment(self, name: str, config: dict[str, Any], seed: int) -> ExperimentRecord:
        from archsearch import __version__

        now = time.time()
        with self._transaction():
            if self._db.execute("SELECT 1 FROM experiments WHERE name = %s", (name,)).fetchone():
                raise UserError(f"experiment {name!r} already exists in {self.where}; continue it with "
                                f"Study.resume({name!r}, store) or choose another name",
                                cli=f"experiment {name!r} already exists in {self.where}; continue it with "
                                    f"'archsearch resume {name} --store {self.where}' or choose another --name")
            self._insert_experiment(ExperimentRecord(0, name, config, seed, "running", now, now, __version__))
        return self.get_experiment(name)

    def _insert_experiment(self, record: ExperimentRecord) -> int:
        row = self._db.execute(
            "INSERT INTO experiments (name, config, seed, status, created, updated, version) VALUES "
            "(%s,%s,%s,%s,%s,%s,%s) RETURNING id", (record.name, json.dumps(record.config), record.seed,
                                                    record.status, record.created, record.updated,
                                                    record.version)).fetchone()
        return int(row[0])

    def get_experiment(self, name: str) -> ExperimentRecord:
        rows = self._rows(f"SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE name = %s", (name,))
        if not rows:
            known = [r.name for r in self.experiments()]
            hint = f"; experiments here: {', '.join(known)}" if known else "; the store has no experiments"
            raise UserError(f"no experiment named {name!r} in {self.where}{hint}")
        return self._as_seen([_experiment(rows[0])])[0]

    def experiments(self) -> list[ExperimentRecord]:
        rows = self._rows(f"SELECT {EXPERIMENT_COLUMNS} FROM experiments ORDER BY id")
        return self._as_seen([_experiment(row) for row in rows])

    def _held(self) -> dict[int, str]:
        """Experiment id -> the application name of the session holding its lock (in this database)."""
        return {int(objid): holder or "another process" for objid, holder in self._rows(HELD_LOCKS, (LOCK_SPACE,))}

    def _as_seen(self, records: list[ExperimentRecord]) -> list[ExperimentRecord]:
        """``running`` with nobody holding its lock (a driver killed by SIGKILL, a lost node) reads as
        ``interrupted``; the stored row is left as it is (a resume sets it to running again)."""
        if not any(r.status == "running" and r.id not in self._locks for r in records):
            return records
        held = self._held()
        return [dataclasses.replace(r, status="interrupted")
                if r.status == "running" and r.id not in self._locks and r.id not in held else r for r in records]

    def set_status(self, experiment_id: int, status: str) -> None:
        with self._transaction():
            self._db.execute("UPDATE experiments SET status=%s, updated=%s WHERE id=%s",
                             (status, time.time(), experiment_id))

    def set_config(self, experiment_id: int, config: dict[str, Any]) -> None:
        with self._transaction():
            self._db.execute("UPDATE experiments SET config=%s, updated=%s WHERE id=%s",
                             (json.dumps(config), time.time(), experiment_id))

    # -- managing experiments: one transaction each, under the experiment's lock -------------------------
    def delete_experiment(self, name: str) -> None:
        experiment = self.get_experiment(name)
        took = self._hold(experiment, "stop it before removing it")
        try:
            with self._transaction():
                self._check_unchanged(experiment.id, experiment.name)
                for table in ("trials", "strategy_state", "epochs", "oneshot_state"):
                    self._db.execute(f"DELETE FROM {table} WHERE experiment_id=%s", (experiment.id,))
                self._db.execute("DELETE FROM experiments WHERE id=%s", (experiment.id,))
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
                self._db.execute("UPDATE experiments SET name=%s, config=%s, updated=%s WHERE id=%s",
                                 (new_name, json.dumps(renamed_config(experiment.config, new_name)), time.time(),
                                  experiment.id))
        finally:
            if took:
                self._unlock(experiment.id)
        return self.get_experiment(new_name)

    def export_experiment(self, name: str) -> ExperimentData:
        with self._transaction():  # one snapshot of the experiment, also while a driver writes it
            self._db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return super().export_experiment(name)

    def import_experiment(self, data: ExperimentData, name: str | None = None) -> ExperimentRecord:
        name = data.experiment.name if name is None else check_name(name)
        source = data.experiment
        with self._transaction():
            self._check_free(name)
            new_id = self._insert_experiment(dataclasses.replace(source, name=name,
                                                                 config=renamed_config(source.config, name)))
            self._insert_trials(new_id, data.trials)
            if data.checkpoint is not None:
                self._write_checkpoint(new_id, data.checkpoint)
            for epoch in data.epochs:
                self._write_epoch(new_id, epoch)
            if data.oneshot_state is not None:
                self._db.execute(UPSERT_STATE, (new_id, data.oneshot_state))
        return self.get_experiment(name)

    def _check_free(self, name: str) -> None:
        if self._db.execute("SELECT 1 FROM experiments WHERE name=%s", (name,)).fetchone():
            raise UserError(f"experiment {name!r} already exists in {self.where}; choose another name",
                            cli=f"experiment {name!r} already exists in {self.where}; choose another name "
                                "(or 'archsearch rm' it first)")

    def _check_unchanged(self, experiment_id: int, name: str) -> None:
        if not self._rows("SELECT 1 FROM experiments WHERE id=%s AND name=%s", (experiment_id, name)):
            raise UserError(f"experiment {name!r} was removed or renamed in {self.where} meanwhile")

    # -- trials -------------------------------------------------------------------------------
    def record_trial(self, experiment_id: int, trial: TrialRecord, checkpoint: StrategyCheckpoint | None) -> None:
        with self._guard(), self._db.pipeline(), self._transaction():  # BEGIN ... COMMIT in one round trip
            self._insert_trials(experiment_id, [trial])
            if checkpoint is not None:
                self._write_checkpoint(experiment_id, checkpoint)

    def _insert_trials(self, experiment_id: int, trials: list[TrialRecord]) -> None:
        with self._db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO trials VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                [(experiment_id, trial.number, json.dumps(trial.arch, separators=(",", ":")), trial.fidelity,
                  trial.status, json.dumps(trial.metrics), trial.cost, trial.error, trial.started, trial.finished,
                  json.dumps(trial.curves)) for trial in trials])

    def save_checkpoint(self, experiment_id: int, checkpoint: StrategyCheckpoint) -> None:
        with self._transaction():
            self._write_checkpoint(experiment_id, checkpoint)

    def _write_checkpoint(self, experiment_id: int, checkpoint: StrategyCheckpoint) -> None:
        self._db.execute(UPSERT_CHECKPOINT, (experiment_id, checkpoint.trial_count, checkpoint.cost_spent,
                                             json.dumps(checkpoint.state), json.dumps(checkpoint.pending)))

    def trials(self, experiment_id: int) -> list[TrialRecord]:
        rows = self._rows("SELECT number, arch, fidelity, status, metrics, cost, error, started, finished, curves "
                          "FROM trials WHERE experiment_id=%s ORDER BY number", (experiment_id,))
        return [TrialRecord(number, json.loads(arch), fidelity, status, json.loads(metrics), cost, error, started,
                            finished, json.loads(curves))
                for number, arch, fidelity, status, metrics, cost, error, started, finished, curves in rows]

    def checkpoint(self, experiment_id: int) -> StrategyCheckpoint | None:
        rows = self._rows("SELECT trial_count, cost_spent, state, pending FROM strategy_state WHERE experiment_id=%s",
                          (experiment_id,))
        return None if not rows else StrategyCheckpoint(rows[0][0], rows[0][1], json.loads(rows[0][2]),
                                                        json.loads(rows[0][3]))

    # -- one process per experiment: a session-level advisory lock ------------------------------
    def lock_experiment(self, experiment_id: int, name: str) -> None:
        if experiment_id in self._locks:
            return
        self._take(experiment_id, name, "wait for it to finish or stop it before resuming")
        try:
            self._check_unchanged(experiment_id, name)
        except UserError:
            self._unlock(experiment_id)
            raise

    def _take(self, experiment_id: int, name: str, action: str) -> None:
        (taken,), = self._rows("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_SPACE, experiment_id))
        if not taken:
            holder = self._held().get(experiment_id, "another process")
            raise UserError(f"experiment {name!r} is being run by {holder}; {action}")
        self._locks.add(experiment_id)

    def _unlock(self, experiment_id: int) -> None:
        if experiment_id in self._locks:
            self._locks.discard(experiment_id)
            self._rows("SELECT pg_advisory_unlock(%s, %s)", (LOCK_SPACE, experiment_id))

    def _hold(self, experiment: ExperimentRecord, action: str) -> bool:
        """Lock ``experiment`` for a change unless this store already holds it; whether it took the lock."""
        if experiment.id in self._locks:
            return False
        self._take(experiment.id, experiment.name, action)
        return True

    # -- one-shot epochs ---------------------------------------------------------------------------
    def record_epoch(self, experiment_id: int, record: EpochRecord, state: bytes | None) -> None:
        with self._transaction():
            self._write_epoch(experiment_id, record)
            if state is not None:
                self._db.execute(UPSERT_STATE, (experiment_id, state))

    def _write_epoch(self, experiment_id: int, record: EpochRecord) -> None:
        self._db.execute(UPSERT_EPOCH, (experiment_id, str(record.kind), record.epoch, record.seconds,
                                        json.dumps(record.metrics), None if record.arch is None else
                                        json.dumps(record.arch), json.dumps([[a, acc] for a, acc in record.ranking])))

    def epochs(self, experiment_id: int) -> list[EpochRecord]:
        rows = self._rows("SELECT epoch, seconds, metrics, arch, kind, ranking FROM epochs WHERE experiment_id=%s "
                          "ORDER BY epoch, kind <> 'epoch', kind", (experiment_id,))
        return [EpochRecord(epoch, seconds, json.loads(metrics), None if arch is None else json.loads(arch), kind,
                            [(a, acc) for a, acc in json.loads(ranking)])
                for epoch, seconds, metrics, arch, kind, ranking in rows]

    def oneshot_state(self, experiment_id: int) -> bytes | None:
        rows = self._rows("SELECT state FROM oneshot_state WHERE experiment_id=%s", (experiment_id,))
        return None if not rows else bytes(rows[0][0])

    def close(self) -> None:
        """Release the experiments' locks (at once: the server drops them when the connection ends too, but only
        once its backend has noticed) and disconnect."""
        if self._locks and not self._db.closed:
            try:
                self._rows("SELECT pg_advisory_unlock_all()")
            except UserError:  # the connection is gone: so are its locks
                pass
        self._locks.clear()
        if not self._db.closed:
            self._db.close()


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _experiment(row: tuple) -> ExperimentRecord:
    id_, name, config, seed, status, created, updated, version = row
    return ExperimentRecord(int(id_), name, json.loads(config), int(seed), status, created, updated, version)
