"""A store written by the previous release (tests/fixtures/stores/SOURCE.md) resumes with the current code: the
30 stored trials are kept as they are and the finished history equals an uninterrupted run of today's code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from archsearch.cli.main import main
from archsearch.store.sqlite import SQLiteStore

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "stores" / "previous_release.db"


def history(path: Path, name: str) -> list[tuple]:
    store = SQLiteStore(path, create=False, write=False)
    try:
        experiment = store.get_experiment(name)
        return [(t.number, t.arch, t.fidelity, t.status, t.metrics, t.cost) for t in store.trials(experiment.id)]
    finally:
        store.close()


def test_a_store_of_the_previous_release_resumes_to_the_uninterrupted_history(tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture) -> None:
    old = tmp_path / "old.db"
    shutil.copyfile(FIXTURE, old)
    stored = history(old, "rea")
    assert len(stored) == 30
    assert main(["resume", "rea", "--store", str(old), "--quiet"]) == 0
    resumed = history(old, "rea")
    assert len(resumed) == 60 and resumed[:30] == stored
    fresh = tmp_path / "fresh.db"
    assert main(["search", "--strategy", "regularized-evolution", "--max-trials", "60", "--seed", "7", "--name",
                 "rea", "--store", str(fresh), "--quiet"]) == 0
    assert resumed == history(fresh, "rea")
    assert FIXTURE.read_bytes() != old.read_bytes()  # the copy was written, the fixture was not
