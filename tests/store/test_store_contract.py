"""The contract every ``Store`` keeps (``SQLiteStore``, ``PostgresStore`` and ``InMemoryStore`` alike): experiments
by unique name, and managing them: remove, rename, export/import and copy (also from one kind of store into another).
The PostgreSQL cases run on a server of ``tests/postgres_server.py``, a new database each, and skip (saying why) where
no server can start."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from archsearch.core.errors import UserError
from archsearch.core.result import EpochRecord
from archsearch.store.base import ExperimentRecord, StrategyCheckpoint, Store, TrialRecord
from archsearch.store.memory import InMemoryStore
from archsearch.store.sqlite import SQLiteStore
from tests.postgres_server import new_database

KINDS = ["sqlite", "memory", "postgres"]
DURABLE = ["sqlite", "postgres"]


def new_store(kind: str, folder: Path) -> Store:
    if kind == "sqlite":
        return SQLiteStore(folder / "s.db")
    if kind == "postgres":
        from archsearch.store.postgres import PostgresStore

        return PostgresStore(new_database())
    return InMemoryStore()


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[Callable[[str], Store]]:
    """``make_store(kind)``: a new empty store of that kind (each SQLite one in its own file, each PostgreSQL one
    in its own database)."""
    made: list[Store] = []

    def make(kind: str) -> Store:
        folder = tmp_path / f"s{len(made)}"
        folder.mkdir()
        store = new_store(kind, folder)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def trial(number: int) -> TrialRecord:
    return TrialRecord(number, {"op": f"x{number}"}, 12.0, "ok", {"valid_acc": 80.0 + number}, 10.0, None, 1.0, 2.0,
                       {"valid_acc": [70.0, 80.0 + number]})


def filled(store: Store, name: str = "demo", trials: int = 3) -> ExperimentRecord:
    """An experiment with trials, a checkpoint with a pending trial, two epochs and a one-shot state."""
    experiment = store.create_experiment(name, {"name": name, "space": "nb201", "max_trials": 9}, seed=4)
    for n in range(trials):
        store.record_trial(experiment.id, trial(n), StrategyCheckpoint(n + 1, 10.0 * (n + 1), {"step": n}))
    store.save_checkpoint(experiment.id, StrategyCheckpoint(trials, 10.0 * trials, {"step": trials},
                                                            [{"arch": {"op": "y"}, "fidelity": None, "attempts": 1}]))
    store.record_epoch(experiment.id, EpochRecord(0, 1.5, {"train_acc": 0.5}, {"op": "x0"}), b"state-0")
    store.record_epoch(experiment.id, EpochRecord(0, 0.5, {}, None, "ranking", [({"op": "x1"}, 91.0)]), b"state-1")
    store.set_status(experiment.id, "interrupted")
    return store.get_experiment(name)


def contents(store: Store, name: str) -> tuple:
    """What a resume reads of experiment ``name`` (its id, name and times aside)."""
    experiment = store.get_experiment(name)
    return (experiment.config, experiment.seed, experiment.status, experiment.version, store.trials(experiment.id),
            store.checkpoint(experiment.id), store.epochs(experiment.id), store.oneshot_state(experiment.id))


@pytest.mark.parametrize("kind", KINDS)
def test_remove_takes_everything_of_one_experiment(kind: str, make_store: Callable[[str], Store]) -> None:
    store = make_store(kind)
    kept = filled(store, "kept")
    gone = filled(store, "gone", trials=2)
    before = contents(store, "kept")
    store.delete_experiment("gone")
    assert [e.name for e in store.experiments()] == ["kept"]
    assert contents(store, "kept") == before
    assert store.trials(gone.id) == [] and store.checkpoint(gone.id) is None
    assert store.epochs(gone.id) == [] and store.oneshot_state(gone.id) is None
    with pytest.raises(UserError, match="no experiment named 'gone'"):
        store.get_experiment("gone")
    with pytest.raises(UserError, match="no experiment named 'ghost'"):
        store.delete_experiment("ghost")
    new = store.create_experiment("new", {}, seed=0)
    assert new.id not in (kept.id,) and store.trials(new.id) == []


@pytest.mark.parametrize("kind", KINDS)
def test_rename_keeps_everything_and_renames_the_config(kind: str, make_store: Callable[[str], Store]) -> None:
    store = make_store(kind)
    experiment = filled(store, "old")
    filled(store, "other")
    config, *rest = contents(store, "old")
    renamed = store.rename_experiment("old", "new")
    assert renamed.id == experiment.id and renamed.name == "new"
    assert contents(store, "new") == ({**config, "name": "new"}, *rest)
    assert [e.name for e in store.experiments()] == ["new", "other"]
    with pytest.raises(UserError, match="already exists"):
        store.rename_experiment("new", "other")
    with pytest.raises(UserError, match="no experiment named 'old'"):
        store.rename_experiment("old", "newer")
    with pytest.raises(UserError, match="non-empty"):
        store.rename_experiment("new", " ")
    assert store.rename_experiment("new", "new").name == "new"
    assert [e.name for e in store.experiments()] == ["new", "other"]


@pytest.mark.parametrize("source_kind", KINDS)
@pytest.mark.parametrize("target_kind", KINDS)
def test_a_copy_holds_what_a_resume_reads(source_kind: str, target_kind: str,
                                          make_store: Callable[[str], Store]) -> None:
    source, target = make_store(source_kind), make_store(target_kind)
    filled(source, "demo")
    target.create_experiment("there", {}, seed=0)
    copied = source.copy_experiment("demo", target)
    assert copied.name == "demo" and target.get_experiment("demo") == copied
    assert contents(target, "demo") == contents(source, "demo")
    renamed = source.copy_experiment("demo", target, "demo-2")
    config, *rest = contents(source, "demo")
    assert contents(target, "demo-2") == ({**config, "name": "demo-2"}, *rest)
    assert len({copied.id, renamed.id, target.get_experiment("there").id}) == 3
    with pytest.raises(UserError, match="already exists"):
        source.copy_experiment("demo", target)
    target.record_trial(copied.id, trial(3), None)  # the copy lives on its own
    assert len(source.trials(source.get_experiment("demo").id)) == 3


@pytest.mark.parametrize("kind", KINDS)
def test_a_copy_in_the_same_store_needs_another_name(kind: str, make_store: Callable[[str], Store]) -> None:
    store = make_store(kind)
    filled(store, "demo")
    with pytest.raises(UserError, match="already exists"):
        store.copy_experiment("demo", store)
    store.copy_experiment("demo", store, "twin")
    assert contents(store, "twin")[1:] == contents(store, "demo")[1:]
    with pytest.raises(UserError, match="no experiment named 'ghost'"):
        store.copy_experiment("ghost", store, "x")


@pytest.mark.parametrize("kind", KINDS)
def test_set_config_replaces_the_stored_config(kind: str, make_store: Callable[[str], Store]) -> None:
    store = make_store(kind)
    experiment = filled(store, "demo")
    store.set_config(experiment.id, {**experiment.config, "max_trials": 20})
    assert store.get_experiment("demo").config["max_trials"] == 20
    assert store.get_experiment("demo").status == "interrupted"


@pytest.mark.parametrize("kind", DURABLE)
def test_a_failed_import_stores_nothing(kind: str, make_store: Callable[[str], Store]) -> None:
    """One transaction: an import that fails halfway (two trials numbered alike) leaves no experiment behind."""
    source, target = InMemoryStore(), make_store(kind)
    experiment = filled(source, "demo")
    source.record_trial(experiment.id, trial(0), None)
    with pytest.raises(Exception, match="UNIQUE|duplicate key"):
        source.copy_experiment("demo", target)
    assert target.experiments() == []
    assert all(target.trials(n) == [] for n in range(1, 4))


@pytest.mark.parametrize("kind", DURABLE)
def test_a_trial_and_its_checkpoint_commit_together(kind: str, make_store: Callable[[str], Store]) -> None:
    """A trial that cannot be written (its number taken) leaves the checkpoint as it was, and the store usable."""
    store = make_store(kind)
    experiment = filled(store, "demo")
    before = contents(store, "demo")
    with pytest.raises(Exception, match="UNIQUE|duplicate key|already"):
        store.record_trial(experiment.id, trial(1), StrategyCheckpoint(99, 0.0, {"step": 99}))
    assert contents(store, "demo") == before
    store.record_trial(experiment.id, trial(3), StrategyCheckpoint(4, 40.0, {"step": 4}))
    assert [t.number for t in store.trials(experiment.id)] == [0, 1, 2, 3]
