"""The PostgreSQL store beyond the shared contract: the advisory lock (one runner per experiment, released when the
connection ends), ``running`` without a holder reads ``interrupted``, many first opens create the tables once, the
schema version and migrations, and every connection or URL mistake as one ``UserError``. Runs on a server of
``tests/postgres_server.py`` (skipped with the reason where none can start)."""

from __future__ import annotations

import socket
import sys
import threading

import pytest

from archsearch.core.errors import UserError
from archsearch.store import postgres
from archsearch.store.base import StrategyCheckpoint, TrialRecord
from archsearch.store.factory import open_store
from archsearch.store.postgres import PostgresStore, display_url
from tests.postgres_server import new_database


@pytest.fixture
def url() -> str:
    return new_database()


def test_one_runner_per_experiment_and_a_dead_one_reads_interrupted(url: str) -> None:
    runner = PostgresStore(url)
    experiment = runner.create_experiment("demo", {"name": "demo"}, seed=0)
    runner.lock_experiment(experiment.id, "demo")
    other = PostgresStore(url, create=False)
    with pytest.raises(UserError, match=r"'demo' is being run by archsearch process \d+ on .*before resuming"):
        other.lock_experiment(experiment.id, "demo")
    with pytest.raises(UserError, match="stop it before removing it"):
        other.delete_experiment("demo")
    with pytest.raises(UserError, match="stop it before renaming it"):
        other.rename_experiment("demo", "new")
    assert other.get_experiment("demo").status == "running"
    runner.close()  # as a killed driver: the server drops the lock with the connection
    assert other.get_experiment("demo").status == "interrupted"
    other.lock_experiment(experiment.id, "demo")
    assert other.get_experiment("demo").status == "running"
    other.rename_experiment("demo", "new")  # this store holds the lock itself
    other.close()


def test_many_first_opens_create_the_tables_once(url: str) -> None:
    errors: list[BaseException] = []

    def open_and_create(n: int) -> None:
        try:
            store = PostgresStore(url)
            store.create_experiment(f"e{n}", {}, seed=n)
            store.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_and_create, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = PostgresStore(url, create=False)
    assert sorted(e.name for e in store.experiments()) == [f"e{n}" for n in range(6)]
    store.close()


def test_schema_version_newer_refused_older_migrated(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = PostgresStore(url)
    experiment = store.create_experiment("demo", {}, seed=0)
    store.record_trial(experiment.id, TrialRecord(0, {"op": "a"}, None, "ok", {"acc": 1.0}, 2.0),
                       StrategyCheckpoint(1, 2.0))
    store._db.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    with pytest.raises(UserError, match="schema version 5, newer than this archsearch understands"):
        PostgresStore(url)
    store._db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    monkeypatch.setitem(postgres.MIGRATIONS, 3, ("ALTER TABLE trials ADD COLUMN note TEXT NOT NULL DEFAULT ''",))
    migrated = PostgresStore(url, create=False)
    assert migrated._all("SELECT value FROM meta WHERE key = 'schema_version'") == [("4",)]
    assert migrated._all("SELECT note FROM trials") == [("",)]
    assert [t.number for t in migrated.trials(experiment.id)] == [0]
    migrated.close()
    store.close()


def test_a_database_without_tables_is_not_created_by_a_reader(url: str) -> None:
    with pytest.raises(UserError, match="no archsearch store in .*no archsearch tables"):
        open_store(url, create=False)
    open_store(url, create=True).close()
    assert open_store(url, create=False).experiments() == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_mistakes_are_one_user_error(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError, match="cannot connect to the PostgreSQL store postgresql://me:\\*\\*\\*@127"):
        open_store(f"postgresql://me:secret@127.0.0.1:{_closed_port()}/nas")
    with pytest.raises(UserError, match="not a valid PostgreSQL URL"):
        open_store("postgresql://me@db/nas?no_such_option=1")
    with pytest.raises(UserError, match="cannot connect"):
        open_store(url.replace("/archsearch_test_", "/no_such_db_"))
    with pytest.raises(UserError, match="unknown store URL scheme 'mysql://'"):
        open_store("mysql://me@host/nas")
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(UserError, match=r"needs psycopg.*archsearch\[postgres\]"):
        open_store(url)


def test_a_lost_server_is_a_user_error(url: str) -> None:
    store = PostgresStore(url)
    experiment = store.create_experiment("demo", {}, seed=0)
    killer = PostgresStore(url)
    killer._all("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ? "
                 "AND pid <> pg_backend_pid()", (store._db.info.parameter_status("application_name"),))
    with pytest.raises(UserError, match="the PostgreSQL store .* failed"):
        store.record_trial(experiment.id, TrialRecord(0, {}, None, "ok", {}, 0.0), None)
    assert killer.get_experiment("demo").status == "interrupted"
    killer.close()
    store.close()


def test_messages_hide_the_password() -> None:
    assert display_url("postgresql://me:secret@db:5432/nas") == "postgresql://me:***@db:5432/nas"
    assert display_url("postgresql://me@db/nas") == "postgresql://me@db/nas"


def test_psycopg_is_imported_only_for_a_postgresql_store() -> None:
    import subprocess

    code = ("import sys, archsearch.store, archsearch.cli.main; from archsearch.store import open_store; "
            "import tempfile, os; open_store(os.path.join(tempfile.mkdtemp(), 'r.db')).close(); "
            "assert 'psycopg' not in sys.modules, 'psycopg loaded'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
