"""The partial NAS-Bench-101 table ``nb101-zc500``: rows by graph hash, parameter counts of the built
networks, lookups, missing cells as failed trials, and a search over it from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from archsearch.benchmarks.nb101 import load_nb101_zc500
from archsearch.cli.main import main
from archsearch.core.errors import ArchError, UserError
from archsearch.estimators.tabular import TabularEstimator
from archsearch.metrics.params import count_parameters
from archsearch.spaces.nb101 import NB101Space

SAMPLED_ROWS = 20


@pytest.fixture(scope="module")
def table():
    return load_nb101_zc500()


def test_rows_are_distinct_cells_keyed_by_their_hash(table) -> None:
    space = NB101Space()
    assert len(table) == 292  # NASLib's 500 keys hold 292 distinct cells
    hashes = [table.hash_at(i) for i in range(len(table))]
    assert len(set(hashes)) == len(table)
    for i in range(len(table)):
        arch = table.arch_at(i)
        assert space.hash(arch) == hashes[i] and table.index_of(arch) == i


def test_params_equal_the_built_network_on_sampled_rows(table) -> None:
    space = NB101Space()
    rows = np.random.default_rng(0).choice(len(table), SAMPLED_ROWS, replace=False)
    params = table.column("cifar10", 108, "params")
    for row in rows.tolist():
        assert count_parameters(space.build(table.arch_at(row))) == params[row]


def test_query_values_and_units(table) -> None:
    arch = table.arch_at(0)
    metrics = table.query(arch, "cifar10", 108)
    assert set(metrics) == set(table.metric_names("cifar10", 108))
    accuracies = table.column("cifar10", 108, "valid_acc")
    assert 50 < accuracies.min() and accuracies.max() < 100  # percent, as nb201's
    assert metrics["naslib_flops"] >= metrics["flops"] > 0
    assert table.cost_seconds(arch, "cifar10", 108) == 0.0
    with pytest.raises(UserError):
        table.query(arch, "cifar10", 12)
    with pytest.raises(UserError):
        table.query(arch, "cifar100", 108)


def _isolated_vertex(arch) -> int | None:
    """An interior vertex without any edge in the raw matrix, if there is one."""
    for v in range(1, 6):
        if not any(arch[f"edge_{min(u, v)}_{max(u, v)}"] for u in range(7) if u != v):
            return v
    return None


def test_a_cell_with_extra_dead_parts_finds_the_same_row(table) -> None:
    rows = [(i, table.arch_at(i)) for i in range(len(table))]
    row, arch, v = next((i, a, _isolated_vertex(a)) for i, a in rows if _isolated_vertex(a) is not None)
    twin = arch.replace(**{f"edge_0_{v}": 1, f"op_{v}": "maxpool3x3"})  # v is fed but feeds nothing: pruned
    assert twin != arch and table.index_of(twin) == row


def test_missing_cells_are_failed_trials_with_the_reason(table) -> None:
    space = NB101Space()
    estimator = TabularEstimator("nb101-zc500", "cifar10", 108)
    rng = np.random.default_rng(4)
    missing = next(a for a in (space.sample(rng) for _ in range(200)) if space.hash(a) not in
                   {table.hash_at(i) for i in range(len(table))})
    with pytest.raises(ArchError):
        table.index_of(missing)
    result = estimator.evaluate(missing)
    assert result.status == "failed" and space.hash(missing) in result.error and "nb101-zc500" in result.error
    found = estimator.evaluate(table.arch_at(3))
    assert found.status == "ok" and found.cost_seconds == 0.0 and found.metrics["valid_acc"] > 50


def test_search_over_the_partial_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = str(tmp_path / "runs.db")
    assert main(["search", "--space", "nb101", "--benchmark", "nb101-zc500", "--strategy", "random",
                 "--max-trials", "20", "--store", store, "--name", "nb101", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "best arch:" in out and "valid_acc" in out
    assert main(["search", "--space", "nb101", "--max-trials", "5", "--store", store, "--name", "defaults",
                 "--quiet"]) == 0  # nb101 defaults to its table, 108 epochs, valid_acc
    capsys.readouterr()
    assert main(["show", "nb101", "--store", store, "--json"]) == 0
    trials = json.loads(capsys.readouterr().out)["trials"]
    statuses = {t["status"] for t in trials}
    assert len(trials) == 20 and statuses == {"ok", "failed"}  # the table is partial
