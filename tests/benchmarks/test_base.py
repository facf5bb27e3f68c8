"""TabularBenchmark's optional methods have defaults: a table that implements only the abstract methods is
searched by the tabular estimator (cost from ``cost_seconds``, no curves, any space, a missing arch a failed
trial) and gives its best value through the default ``column``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from archsearch.benchmarks.base import TabularBenchmark
from archsearch.core.arch import Arch
from archsearch.core.errors import ArchError
from archsearch.core.registry import BENCHMARKS
from archsearch.estimators.tabular import TabularEstimator

ROWS = [Arch({"width": w}) for w in (8, 16, 32)]


class MinimalTable(TabularBenchmark):
    """Three archs, one dataset, one fidelity; accuracy grows with width; 2 s per epoch per row."""

    name = "minimal"

    def datasets(self) -> tuple[str, ...]:
        return ("toy",)

    def fidelities(self, dataset: str) -> tuple[int, ...]:
        return (4,)

    def metric_names(self, dataset: str, fidelity: int) -> tuple[str, ...]:
        return ("valid_acc",)

    def index_of(self, arch: Mapping[str, Any]) -> int:
        try:
            return ROWS.index(Arch(arch))
        except ValueError:
            raise ArchError(f"{dict(arch)} is not in the table") from None

    def arch_at(self, index: int) -> Arch:
        return ROWS[index]

    def __len__(self) -> int:
        return len(ROWS)

    def query(self, arch: Mapping[str, Any], dataset: str, fidelity: int) -> dict[str, float]:
        return {"valid_acc": 50.0 + self.index_of(arch) * 10.0}

    def cost_seconds(self, arch: Mapping[str, Any], dataset: str, fidelity: int) -> float:
        return 2.0 * fidelity * (self.index_of(arch) + 1)


@pytest.fixture()
def minimal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BENCHMARKS._entries, "minimal", BENCHMARKS._entries["nb201"].__class__(
        "minimal", f"{__name__}:MinimalTable", "three archs"))


def test_the_defaults_serve_the_tabular_estimator(minimal: None) -> None:
    estimator = TabularEstimator("minimal", dataset="toy")
    result = estimator.evaluate(ROWS[2])
    assert result.ok and result.metrics == {"valid_acc": 70.0}
    assert result.cost_seconds == 2.0 * 4 * 3  # no train_seconds in the query: cost_seconds
    assert result.curves == {}
    missing = estimator.evaluate(Arch({"width": 64}))
    assert missing.status == "failed" and "not in the table" in missing.error


def test_the_default_column_queries_every_row() -> None:
    np.testing.assert_array_equal(MinimalTable().column("toy", 4, "valid_acc"), [50.0, 60.0, 70.0])
    assert np.isnan(MinimalTable().column("toy", 4, "test_acc")).all()
