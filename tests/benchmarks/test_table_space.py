"""TableSpace: a search restricted to a partial table's archs (``missing: restrict``) asks only archs the table
holds, mutates to the nearest table arch, and otherwise is its base space."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from archsearch.benchmarks.table import write_table
from archsearch.benchmarks.table_space import TableSpace
from archsearch.config import StudyConfig
from archsearch.spaces.nb201 import NB201Space
from archsearch.store.memory import InMemoryStore
from archsearch.study import Study
from tests.benchmarks.conftest import synthetic_meta, synthetic_rows


@pytest.fixture(scope="module")
def restricted() -> TableSpace:
    rng = np.random.default_rng(3)
    base = NB201Space()
    archs = list(dict.fromkeys(base.sample(rng) for _ in range(60)))
    return TableSpace(base, archs)


def test_samples_mutations_and_neighbours_stay_in_the_table(restricted: TableSpace) -> None:
    rng = np.random.default_rng(0)
    members = set(restricted.archs)
    for _ in range(200):
        arch = restricted.sample(rng)
        child = restricted.mutate(arch, rng)
        assert arch in members and child in members and child != arch
        assert restricted.is_valid(child)
    arch = restricted.archs[0]
    neighbours = restricted.neighbours(arch)
    distances = {sum(a[n] != arch[n] for n in arch) for a in neighbours}
    assert neighbours and len(distances) == 1 and distances.pop() >= 1
    outsider = next(a for a in (NB201Space().sample(rng) for _ in range(1000)) if a not in members)
    assert not restricted.is_valid(outsider)
    assert restricted.size() == len(members) and restricted.format(arch) == NB201Space().format(arch)


def test_it_pickles_and_delegates_to_the_base_space(restricted: TableSpace) -> None:
    copy = pickle.loads(pickle.dumps(restricted))
    assert copy.archs == restricted.archs and copy.name == "nb201"
    arch = restricted.archs[0]
    assert copy.op_indices(arch) == NB201Space().op_indices(arch) and callable(copy.supernet)  # the base space's


def test_a_restricted_search_of_a_partial_table_asks_only_its_archs(tmp_path: Path) -> None:
    table = write_table(tmp_path / "partial.parquet", synthetic_meta(missing="restrict"), synthetic_rows(skip=2))
    for strategy in ("random", "regularized-evolution", "local-search"):
        config = StudyConfig.from_mapping({"table": str(table), "strategy": strategy, "max_trials": 12})
        study = Study.create(config, InMemoryStore()).run()
        assert len(study.trials) == 12 and all(t.status == "ok" for t in study.trials), strategy
