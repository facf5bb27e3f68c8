"""Generic tables: round trips through Parquet and CSV, metadata and column errors, partial tables in both
``missing`` modes, and the NAS-Bench-201 table exported as a generic table searching exactly like ``nb201``."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import pytest
import yaml

from archsearch.benchmarks import load_benchmark
from archsearch.benchmarks.builder import export_benchmark
from archsearch.benchmarks.table import load_table, metadata_path, write_table
from archsearch.benchmarks.table_meta import parse_metadata
from archsearch.compare import table_optimum
from archsearch.config import StudyConfig
from archsearch.core.arch import Arch
from archsearch.core.errors import ArchError, SearchAborted, UserError
from archsearch.estimators.tabular import TabularEstimator
from archsearch.store.memory import InMemoryStore
from archsearch.study import Study
from tests.benchmarks.conftest import CHAIN, synthetic_meta, synthetic_rows

@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    rows = synthetic_rows()
    path = write_table(tmp_path / f"t{suffix}", synthetic_meta(), rows)
    table = load_benchmark(str(path))
    assert table is load_table(path) and pickle.loads(pickle.dumps(table)) is table  # cached, pickles by path
    assert len(table) == 6 and table.datasets() == ("digits",) and table.fidelities("digits") == (1, 4)
    assert table.metric_names("digits", 4) == ("valid_acc", "test_acc", "train_seconds")
    for row in rows:
        arch = Arch({"block1": row["block1"], "depth": row["depth"]})
        metrics = table.query(arch, "digits", row["fidelity"])
        assert metrics == {name: row[name] for name in ("valid_acc", "test_acc", "train_seconds")}  # exact
        assert table.cost_seconds(arch, "digits", row["fidelity"]) == row["train_seconds"]
        assert table.curves(arch, "digits", row["fidelity"]) == {"valid_acc": row["curve_valid_acc"]}
        assert type(table.arch_at(table.index_of(arch))["depth"]) is int
    assert parse_metadata(yaml.safe_load(metadata_path(path).read_text())) == synthetic_meta()


def test_estimator_charges_the_cost_and_returns_curves(tmp_path: Path) -> None:
    path = write_table(tmp_path / "t.parquet", synthetic_meta(), synthetic_rows())
    estimator = TabularEstimator(str(path), dataset="digits", fidelity=4)
    arch = Arch({"block1": "nor_conv_3x3", "depth": 2})
    result = estimator.evaluate(arch)
    row = next(r for r in synthetic_rows() if r["block1"] == "nor_conv_3x3" and r["depth"] == 2 and r["fidelity"] == 4)
    assert result.ok and result.cost_seconds == row["train_seconds"] and result.curves["valid_acc"] == row["curve_valid_acc"]
    assert pickle.loads(pickle.dumps(estimator)).evaluate(arch) == result


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_recorded_failure_is_the_failed_trial_it_was(tmp_path: Path, suffix: str) -> None:
    rows = synthetic_rows()
    failed = {**{k: v for k, v in rows[0].items() if k in ("block1", "depth", "fidelity")}, "train_seconds": 0.25,
              "failure": "numerical guard: constant output"}
    rows = [failed, *rows[1:]]
    table = load_table(write_table(tmp_path / f"t{suffix}", synthetic_meta(), rows))
    arch = Arch({"block1": failed["block1"], "depth": failed["depth"]})
    assert table.failure(arch, "digits", failed["fidelity"]) == failed["failure"]
    assert table.failures(failed["fidelity"]) == 1 and table.failures(4 if failed["fidelity"] == 1 else 1) == 0
    assert all(table.failure(Arch({"block1": r["block1"], "depth": r["depth"]}), "digits", r["fidelity"]) is None
               for r in rows[1:])
    result = TabularEstimator(str(table.path), dataset="digits", fidelity=failed["fidelity"]).evaluate(arch)
    assert (result.status, result.error, result.cost_seconds, result.metrics) == ("failed", failed["failure"], 0.25, {})
    assert math.isnan(table.column("digits", failed["fidelity"], "valid_acc")[table.index_of(arch)])


def _write_raw(tmp_path: Path, meta: dict, rows: list[dict] | None = None) -> Path:
    path = write_table(tmp_path / "t.csv", synthetic_meta(), synthetic_rows() if rows is None else rows)
    metadata_path(path).write_text(yaml.safe_dump(meta))
    return path


@pytest.mark.parametrize("change, message", [
    ({"objective": "nope"}, "objective 'nope' is not one of the metrics"),
    ({"metrics": {"valid_acc": "up", "test_acc": "max", "train_seconds": "min"}}, "'valid_acc' has 'up'"),
    ({"dims": {"block1": "conv"}}, "dim 'block1'"),
    ({"fidelities": [1, -4]}, "fidelities must be distinct positive numbers"),
    ({"missing": "ignore"}, "missing must be fail or error"),
    ({"colour": "red"}, "unknown key 'colour'"),
    ({"cost": None}, "cost must be a name"),
])
def test_metadata_errors_are_one_line(tmp_path: Path, change: dict, message: str) -> None:
    meta = {**synthetic_meta().to_dict(), **change}
    path = _write_raw(tmp_path, meta)
    with pytest.raises(UserError, match=message) as error:
        load_table(path)
    assert "\n" not in str(error.value) and "t.meta.yaml" in str(error.value)


def test_missing_files_and_bad_columns(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="table file not found"):
        load_table(tmp_path / "absent.parquet")
    with pytest.raises(UserError, match="must be a .parquet or .csv"):
        load_table(tmp_path / "t.txt")
    path = write_table(tmp_path / "t.csv", synthetic_meta(), synthetic_rows())
    text = path.read_text()
    metadata_path(path).rename(tmp_path / "kept.yaml")
    with pytest.raises(UserError, match="no metadata file t.meta.yaml"):
        load_table(path)
    (tmp_path / "kept.yaml").rename(metadata_path(path))
    for bad, message in [(text.replace("nor_conv_3x3", "nor_conv_5x5"), "holds 'nor_conv_5x5', not a choice"),
                         (text.replace("valid_acc", "val_acc"), "column 'valid_acc' is missing"),
                         (text.replace(",4.0,", ",5.0,", 1), "fidelity 5 is not one of"),
                         (text + text.splitlines()[1] + "\n", "appears twice"),
                         ("", "cannot read table")]:
        path.write_text(bad)
        with pytest.raises(UserError, match=message):
            load_table(path)


@pytest.fixture()
def partial_table(tmp_path: Path) -> Path:
    return write_table(tmp_path / "partial.parquet", synthetic_meta(), synthetic_rows(skip=2))


def test_partial_table_missing_arch_fails_the_trial(partial_table: Path) -> None:
    table = load_table(partial_table)
    assert len(table) == 4 and table.rows(4) == 4
    missing = Arch({"block1": "skip_connect", "depth": 1})
    with pytest.raises(ArchError, match="is not in table partial.parquet"):
        table.query(missing, "digits", 4)
    result = TabularEstimator(str(partial_table), dataset="digits").evaluate(missing)
    assert result.status == "failed" and "not in table partial.parquet" in result.error
    config = StudyConfig.from_mapping({"table": str(partial_table), "strategy": "exhaustive", "max_trials": 6})
    study = Study.create(config, InMemoryStore()).run()  # the space (from the metadata) has 6 archs, the table 4
    assert [t.status for t in study.trials].count("failed") == 2
    assert config.space == "declared" and config.objective == "valid_acc:max" and config.fidelity == 4


def test_partial_table_missing_arch_can_stop_the_search(partial_table: Path) -> None:
    config = StudyConfig.from_mapping({"table": str(partial_table), "strategy": "exhaustive", "max_trials": 6,
                                       "estimator.missing": "error"})
    study = Study.create(config, InMemoryStore())
    with pytest.raises(SearchAborted, match="is not in table partial.parquet"):
        study.run()
    assert all(t.status == "ok" for t in study.trials) and len(study.trials) < 6


def test_exported_nb201_searches_like_nb201(tmp_path: Path) -> None:
    path = export_benchmark("nb201", "cifar10", tmp_path / "nb201.parquet")
    histories = []
    for keys in ({"benchmark": "nb201"}, {"table": str(path)}):
        config = StudyConfig.from_mapping({**keys, "strategy": "regularized-evolution", "seed": 11,
                                           "budget_seconds": 60_000})
        study = Study.create(config, InMemoryStore()).run()
        histories.append([(t.arch, t.metrics, t.cost, t.fidelity, t.status) for t in study.trials])
        assert table_optimum(config) is not None and math.isfinite(table_optimum(config))
    assert len(histories[0]) > 100 and histories[0] == histories[1]
    optimum = {key: table_optimum(StudyConfig.from_mapping({key: value, "fidelity": 200}))
               for key, value in (("benchmark", "nb201"), ("table", str(path)))}
    assert optimum["benchmark"] == optimum["table"]


def test_table_and_space_must_agree(tmp_path: Path) -> None:
    path = write_table(tmp_path / "t.parquet", synthetic_meta(), synthetic_rows())
    with pytest.raises(UserError, match="tabulates space 'declared', not 'nb201'"):
        Study.create(StudyConfig.from_mapping({"table": str(path), "space": "nb201", "max_trials": 2}), InMemoryStore())
    other = {**CHAIN, "dims": {"block1": ["skip_connect", "nor_conv_1x1"], "depth": {"low": 1, "high": 3}}}
    with pytest.raises(UserError, match="dim 'block1' has choices"):
        Study.create(StudyConfig.from_mapping({"table": str(path), "space_options": other, "max_trials": 2}),
                     InMemoryStore())
    with pytest.raises(UserError, match="name two tables"):
        StudyConfig.from_mapping({"table": str(path), "benchmark": "nb201", "max_trials": 2}).validate()
