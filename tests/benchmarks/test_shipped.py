"""archsearch's own table ``nb201-mnist5k`` ships in the package: it loads in under a second, its metadata says
what it is, a search of it stays within its archs, and its build is reproducible bit for bit on the CPU."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from archsearch.bench_build import build_config, run_build
from archsearch.benchmarks import load_benchmark
from archsearch.benchmarks.shipped import NB201_MNIST5K_NET
from archsearch.config import StudyConfig
from archsearch.store.memory import InMemoryStore
from archsearch.study import Study

DETERMINISTIC = ("params", "flops", "train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc")


def test_it_loads_in_a_fresh_process_without_torch() -> None:
    """A search of the table is a lookup: loading it must not pull in torch (its load time is in perf/README)."""
    code = ("import sys; from archsearch.benchmarks import load_benchmark; "
            "table = load_benchmark('nb201-mnist5k'); print(len(table), 'torch' in sys.modules)")
    rows, torch_loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                        timeout=120).stdout.split()
    assert int(rows) >= 50 and torch_loaded == "False"


def test_its_metadata_says_what_it_is() -> None:
    table = load_benchmark("nb201-mnist5k")
    meta = table.meta
    assert (meta.space, meta.dataset, meta.fidelities, meta.missing) == ("nb201", "mnist5k", (1.0, 4.0), "restrict")
    assert meta.default_fidelity == 4.0 and table.network_options() == NB201_MNIST5K_NET
    assert {"valid_acc", "test_acc", "params", "flops", "latency_ms", "train_seconds", "valid_acc_seed1",
            "test_acc_seed1"} <= set(meta.metrics)
    assert "net.channels=8" in meta.description and "net.cells_per_stage=1" in meta.description
    arch = table.arch_at(0)  # the first arch of the walk: trained at both fidelities and with both seeds
    assert len(table.curves(arch, "mnist5k", 4)["valid_acc"]) == 4
    assert len(table.curves(arch, "mnist5k", 1)["valid_acc"]) == 1
    four = table.query(arch, "mnist5k", 4)
    assert 10.0 <= four["test_acc"] <= 100.0 and 10.0 <= four["test_acc_seed1"] <= 100.0
    assert four["params"] == table.query(arch, "mnist5k", 1)["params"]  # one network, two trainings


def test_a_search_of_it_asks_only_its_archs() -> None:
    config = StudyConfig.from_mapping({"benchmark": "nb201-mnist5k", "strategy": "regularized-evolution",
                                       "strategy.population_size": 10, "strategy.sample_size": 3})
    study = Study.create(config, InMemoryStore()).run()
    assert len(study.trials) == 50 and all(t.status == "ok" for t in study.trials)
    assert study.config.report == "test_acc" and study.best.metrics["test_acc"] > 90


@pytest.mark.timeout(300)
def test_its_first_rows_rebuild_bit_for_bit() -> None:
    """The first 3 archs of the build's seeded sample, trained again here as the build trained them."""
    base = StudyConfig.from_mapping({"space": "nb201", "dataset": "mnist5k", "seed": 0, "threads": 1,
                                     "estimator_options": {"net": dict(NB201_MNIST5K_NET)}})
    study = run_build(build_config(base, 4.0, 3, "rebuild"), InMemoryStore())
    table = load_benchmark("nb201-mnist5k")
    for trial in study.trials:
        shipped = table.query(trial.arch, "mnist5k", 4)
        assert {k: shipped[k] for k in DETERMINISTIC} == {k: trial.metrics[k] for k in DETERMINISTIC}, \
            json.dumps(trial.arch)
        assert table.curves(trial.arch, "mnist5k", 4)["valid_acc"] == trial.curves["valid_acc"]
