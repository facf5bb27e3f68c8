"""One process per experiment: the lock beside a SQLite store refuses a second runner, a removal and a rename,
and its side file is removed when it is released, safely for a locker that opened the file before."""

from __future__ import annotations

import fcntl
import hashlib
from pathlib import Path

import pytest

from archsearch.cli.main import main
from archsearch.config import StudyConfig
from archsearch.core.errors import UserError
from archsearch.store import locks
from archsearch.store.sqlite import SQLiteStore
from archsearch.study import Study


def lock_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".lock"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_no_lock_file_is_left_after_a_search(tmp_path: Path) -> None:
    store = tmp_path / "runs.db"
    for name in ("a", "b"):
        assert main(["search", "--max-trials", "3", "--store", str(store), "--name", name, "--quiet"]) == 0
    assert main(["resume", "a", "--store", str(store), "--max-trials", "5", "--quiet"]) == 0
    assert lock_files(tmp_path) == []


def test_the_lock_file_lives_while_the_study_holds_it(tmp_path: Path) -> None:
    config = StudyConfig.from_mapping({"name": "t", "max_trials": 2, "budget_seconds": None})
    store = SQLiteStore(tmp_path / "runs.db")
    Study.create(config, store).run()
    assert lock_files(tmp_path) == [".runs.db.1.lock"]
    store.close()
    assert lock_files(tmp_path) == []


def test_a_held_experiment_cannot_be_run_removed_or_renamed(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    runner = SQLiteStore(path)
    experiment = runner.create_experiment("demo", {"name": "demo"}, seed=0)
    runner.lock_experiment(experiment.id, "demo")
    other = SQLiteStore(path, create=False)  # another process: a lock on its own open file
    before = digest(path)
    with pytest.raises(UserError, match=r"'demo' is being run by process \d+ on .*before resuming"):
        other.lock_experiment(experiment.id, "demo")
    with pytest.raises(UserError, match=r"'demo' is being run by process \d+ on .*stop it before removing it"):
        other.delete_experiment("demo")
    with pytest.raises(UserError, match=r"'demo' is being run by process \d+ on .*stop it before renaming it"):
        other.rename_experiment("demo", "new")
    assert digest(path) == before and [e.name for e in other.experiments()] == ["demo"]
    runner.close()
    other.rename_experiment("demo", "new")
    other.delete_experiment("new")
    assert other.experiments() == [] and lock_files(tmp_path) == []
    other.close()


def test_the_store_that_runs_an_experiment_may_remove_it(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    experiment = store.create_experiment("demo", {}, seed=0)
    store.lock_experiment(experiment.id, "demo")
    store.rename_experiment("demo", "new")
    assert lock_files(tmp_path) == [".runs.db.1.lock"]  # still held: still its runner
    store.delete_experiment("new")
    assert lock_files(tmp_path) == []
    store.close()


def test_a_lock_on_an_experiment_removed_or_renamed_meanwhile_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    experiment = store.create_experiment("demo", {}, seed=0)  # a resume read this record, then ...
    other = SQLiteStore(path, create=False)
    other.rename_experiment("demo", "renamed")  # ... another process renamed it before the resume locked it
    with pytest.raises(UserError, match="removed or renamed"):
        store.lock_experiment(experiment.id, "demo")
    assert lock_files(tmp_path) == []
    store.close()
    other.close()


def test_a_locker_that_opened_the_file_before_its_removal_locks_the_new_one(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The race of a clean release: B opens the side file, A removes it and unlocks, B locks the removed file.
    B must see that and lock the file now at the path, else two processes would hold "the" lock."""
    path = tmp_path / ".runs.db.1.lock"
    first = locks.acquire(path, "demo", "stop it")
    assert first is not None
    real_flock, seen = fcntl.flock, []

    def flock_after_release(handle: object, operation: int) -> None:
        if not seen:  # B has opened the file: A releases it now, before B locks
            locks.release(first, path)
        seen.append(handle)
        real_flock(handle, operation)

    monkeypatch.setattr(fcntl, "flock", flock_after_release)
    second = locks.acquire(path, "demo", "stop it")
    monkeypatch.setattr(fcntl, "flock", real_flock)
    assert second is not None and len(seen) == 2  # locked the removed file, saw it, locked the new one
    assert locks._is_at(second, path) and second.fileno() != -1
    with pytest.raises(UserError, match="is being run by process"):
        locks.acquire(path, "demo", "stop it")
    locks.release(second, path)
    assert not path.exists()
