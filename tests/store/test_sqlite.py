"""The SQLite journal: round trips, atomic trial + checkpoint, readers beside a writer, bad files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from archsearch.core.errors import UserError
from archsearch.store.base import StrategyCheckpoint, TrialRecord
from archsearch.store.sqlite import SCHEMA_VERSION, SQLiteStore


def trial(number: int) -> TrialRecord:
    return TrialRecord(number, {"a": "x"}, 12.0, "ok", {"valid_acc": 80.0 + number}, 10.0, None, 1.0, 2.0)


def test_round_trip_and_checkpoint(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    experiment = store.create_experiment("demo", {"space": "nb201"}, seed=3)
    for n in range(3):
        store.record_trial(experiment.id, trial(n), StrategyCheckpoint(n + 1, 10.0 * (n + 1), {"step": n}))
    store.close()
    reopened = SQLiteStore(tmp_path / "runs.db", create=False)
    assert reopened.get_experiment("demo").config == {"space": "nb201"}
    assert [t.metrics["valid_acc"] for t in reopened.trials(experiment.id)] == [80.0, 81.0, 82.0]
    checkpoint = reopened.checkpoint(experiment.id)
    assert checkpoint is not None and checkpoint.trial_count == 3 and checkpoint.state == {"step": 2}


def test_wal_and_a_second_reader(tmp_path: Path) -> None:
    writer = SQLiteStore(tmp_path / "runs.db")
    experiment = writer.create_experiment("demo", {}, seed=0)
    reader = SQLiteStore(tmp_path / "runs.db", create=False)
    writer.record_trial(experiment.id, trial(0), None)
    assert len(reader.trials(experiment.id)) == 1
    writer.record_trial(experiment.id, trial(1), None)
    assert len(reader.trials(experiment.id)) == 2
    mode = sqlite3.connect(tmp_path / "runs.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_duplicate_trial_number_rolls_back_the_checkpoint(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    experiment = store.create_experiment("demo", {}, seed=0)
    store.record_trial(experiment.id, trial(0), StrategyCheckpoint(1, 10.0, {"v": 1}))
    with pytest.raises(sqlite3.IntegrityError):
        store.record_trial(experiment.id, trial(0), StrategyCheckpoint(2, 20.0, {"v": 2}))
    assert store.checkpoint(experiment.id).state == {"v": 1}


def test_duplicate_experiment_name_is_a_user_error(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    store.create_experiment("demo", {}, seed=0)
    with pytest.raises(UserError, match="already exists"):
        store.create_experiment("demo", {}, seed=1)


def test_not_sqlite_file_is_refused_and_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 10)
    before = path.read_bytes()
    with pytest.raises(UserError, match="not a SQLite file"):
        SQLiteStore(path)
    assert path.read_bytes() == before


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(UserError, match="without archsearch tables"):
        SQLiteStore(path)


def test_sqlite_file_without_tables_is_refused_and_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "blank.db"
    sqlite3.connect(path).execute("VACUUM").connection.close()  # a valid SQLite file with no tables
    before = path.read_bytes()
    assert before.startswith(b"SQLite format 3") and len(before) > 0
    for create in (True, False):
        with pytest.raises(UserError, match="not an archsearch store .*without tables"):
            SQLiteStore(path, create=create)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blank.db"]


def test_an_empty_file_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    path.write_bytes(b"")
    SQLiteStore(path).create_experiment("demo", {}, seed=0)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "runs.db").close()
    with sqlite3.connect(tmp_path / "runs.db") as db:
        db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(UserError, match="newer"):
        SQLiteStore(tmp_path / "runs.db")


def test_missing_folder_and_missing_store(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="folder does not exist"):
        SQLiteStore(tmp_path / "nope" / "runs.db")
    with pytest.raises(UserError, match="not found"):
        SQLiteStore(tmp_path / "runs.db", create=False)
    assert not (tmp_path / "runs.db").exists()


V1_TRIALS = """CREATE TABLE trials (
    experiment_id INTEGER NOT NULL REFERENCES experiments(id), number INTEGER NOT NULL,
    arch TEXT NOT NULL, fidelity REAL, status TEXT NOT NULL, metrics TEXT NOT NULL, cost REAL NOT NULL,
    error TEXT, started REAL, finished REAL, PRIMARY KEY (experiment_id, number))"""


def test_version_1_store_is_migrated_and_keeps_its_trials(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    store = SQLiteStore(path)
    experiment = store.create_experiment("old", {"space": "nb201"}, 0)
    store.close()
    with sqlite3.connect(path) as db:  # rebuild the version-1 layout with one stored trial
        db.execute("DROP TABLE trials")
        db.execute(V1_TRIALS)
        db.execute("INSERT INTO trials VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (experiment.id, 0, '{"a":"x"}', 12.0, "ok", '{"valid_acc": 81.0}', 10.0, None, 1.0, 2.0))
        db.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    reopened = SQLiteStore(path, create=False)
    (old,) = reopened.trials(experiment.id)
    assert old.metrics == {"valid_acc": 81.0} and old.curves == {}
    reopened.record_trial(experiment.id, trial(1), None)
    assert [t.number for t in reopened.trials(experiment.id)] == [0, 1]
    version = reopened._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    assert int(version) == SCHEMA_VERSION


def test_curves_round_trip(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "c.db")
    experiment = store.create_experiment("e", {}, 0)
    trial = TrialRecord(0, {"a": "x"}, 2.0, "ok", {"valid_acc": 50.0}, 1.0, None, 1.0, 2.0,
                        {"valid_acc": [40.0, 50.0]})
    store.record_trial(experiment.id, trial, None)
    assert store.trials(experiment.id)[0].curves == {"valid_acc": [40.0, 50.0]}


def test_a_transaction_left_open_by_an_interrupt_is_rolled_back_by_the_next_write(tmp_path: Path) -> None:
    """Ctrl-C between BEGIN and the body of a write left the connection inside a transaction; the status
    'interrupted' written next must not fail with 'cannot start a transaction within a transaction'."""
    store = SQLiteStore(tmp_path / "runs.db", create=True)
    experiment = store.create_experiment("cut", {"space": "nb201"}, 0)
    store._db.execute("BEGIN IMMEDIATE")  # what an interrupt inside _Transaction.__enter__ leaves behind
    store._db.execute("UPDATE experiments SET seed=99")  # never committed
    store.set_status(experiment.id, "interrupted")
    store.close()
    reopened = SQLiteStore(tmp_path / "runs.db", create=False)
    record = reopened.get_experiment("cut")
    reopened.close()
    assert (record.status, record.seed) == ("interrupted", 0)
