"""EpochRecord.kind: one of five kinds, stored as its text and read back as the kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsearch.core.result import EpochKind, EpochRecord
from archsearch.store.sqlite import SQLiteStore


def test_a_kind_is_one_of_five_and_reads_back(tmp_path: Path) -> None:
    assert [kind.value for kind in EpochKind] == ["epoch", "split", "ranking", "prerank", "meta"]
    with pytest.raises(ValueError):
        EpochRecord(0, 1.0, {}, kind="epoc")
    store = SQLiteStore(tmp_path / "runs.db", create=True)
    try:
        experiment = store.create_experiment("e", {"strategy": "darts"}, 0)
        for kind in ("epoch", "split", "ranking", "prerank", "meta"):
            store.record_epoch(experiment.id, EpochRecord(0, 1.0, {"x": 1.0}, None, kind), None)
        kinds = [record.kind for record in store.epochs(experiment.id)]
    finally:
        store.close()
    assert sorted(kinds) == sorted(EpochKind) and all(isinstance(kind, EpochKind) for kind in kinds)
    assert EpochKind.META == "meta" and f"{EpochKind.PRERANK}" == "prerank"
