"""Comparing strategies over many seeds under one protocol (e.g. the NAS-Bench-201 paper's:
12-epoch validation accuracy as the objective, 12,000 simulated seconds on CIFAR-10, the 200-epoch
test accuracy of the best arch reported). Runs in memory: nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from archsearch.config import StudyConfig
from archsearch.store.memory import InMemoryStore
from archsearch.study import Study, build_components


def run_seed(config: StudyConfig, seed: int) -> float:
    """The reported metric of one in-memory search with ``seed``."""
    run_config = StudyConfig.from_mapping({**config.to_dict(), "seed": seed, "name": f"seed-{seed}"})
    return Study.create(run_config, InMemoryStore()).run().reported_value()


def compare_strategies(base: StudyConfig, strategies: Sequence[str], seeds: int,
                       on_done: Callable[[str, int], None] | None = None) -> dict[str, Any]:
    """``{"<strategy>": {"final_test": [...], "mean", "std"}}`` over seeds ``0 .. seeds-1``."""
    results: dict[str, Any] = {}
    for strategy in strategies:
        config = StudyConfig.from_mapping({**base.to_dict(), "strategy": strategy})
        build_components(config)  # fail fast on a bad name or option
        values = []
        for seed in range(seeds):
            values.append(run_seed(config, seed))
            if on_done is not None:
                on_done(strategy, seed)
        array = np.asarray(values, dtype=float)
        results[strategy] = {"final_test": values, "mean": float(array.mean()),
                             "std": float(array.std(ddof=1)) if len(values) > 1 else 0.0}
    return results
