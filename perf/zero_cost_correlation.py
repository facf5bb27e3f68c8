"""How well our SynFlow ranks NAS-Bench-201 cells (not part of the test suite).

(1) Spearman of ``synflow`` (ZeroCostEstimator, CIFAR-10 shapes 3x32x32, 10 classes, C=16, N=5) on
random NB201 cells (seeded) vs the table's 200-epoch CIFAR-10 validation accuracy; Abdelfattah et al.
(ICLR 2021) report about 0.74-0.76 on all 15,625 cells. (2) Spearman of our synflow vs NASLib's synflow
scores on NASLib's 724-cell CIFAR-10 zero-cost subset (perf/fixtures/naslib_zc_nb201_cifar10.json, see
perf/fixtures/SOURCE.md), and of both vs the subset's validation accuracy.

    .venv/bin/python perf/zero_cost_correlation.py [--cells 1000] [--seed 0]
    .venv/bin/python perf/zero_cost_correlation.py --make-fixture PATH/zc_nasbench201.json   # once

Writes perf/results/zero_cost.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from archsearch.core.arch import Arch
from archsearch.estimators.zero_cost import ZeroCostEstimator
from archsearch.spaces.nb201 import EDGE_DIMS, NB201Space

HERE = Path(__file__).parent
FIXTURE = HERE / "fixtures" / "naslib_zc_nb201_cifar10.json"
RESULTS = HERE / "results" / "zero_cost.json"
# NASLib's NB201 op tuple: op index per edge, edges (0,1),(0,2),(0,3),(1,2),(1,3),(2,3)
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))


def decode_naslib(op_tuple: str) -> Arch:
    ops = [int(token) for token in op_tuple.strip("()").split(",")]
    choices = {f"edge_{i}_{j}": NASLIB_OPS[op] for (i, j), op in zip(NASLIB_EDGES, ops)}
    return Arch({name: choices[name] for name in EDGE_DIMS})


def make_fixture(source: Path) -> None:
    """Convert NASLib's zc_nasbench201.json (cifar10) to the fixture; checks the decoding by params."""
    from archsearch.metrics import count_parameters

    space, rows, worst = NB201Space(), [], 0.0
    for key, cell in json.loads(source.read_text())["cifar10"].items():
        arch = decode_naslib(cell["arch"])
        ours = count_parameters(space.build(arch, num_classes=10, in_channels=3)) / 1e6
        worst = max(worst, abs(ours - cell["params"]["score"]) / cell["params"]["score"])
        rows.append({"naslib_arch": cell["arch"], "nb201": space.format(arch), "synflow": cell["synflow"]["score"],
                     "val_accuracy": cell["val_accuracy"], "params_m": cell["params"]["score"],
                     "flops_m": cell["flops"]["score"]})
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text("[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]\n")
    print(f"wrote {len(rows)} cells to {FIXTURE}; worst relative params gap of the decoding {worst:.2e}")


def score_all(estimator: ZeroCostEstimator, archs: list[Arch], label: str) -> tuple[np.ndarray, float]:
    started, scores = time.perf_counter(), []
    for count, arch in enumerate(archs, start=1):
        result = estimator.evaluate(arch)
        scores.append(result.metric("score") if result.ok else np.nan)
        if count % 100 == 0 or count == len(archs):
            print(f"{label}: {count}/{len(archs)} cells, {time.perf_counter() - started:.0f} s", flush=True)
    return np.asarray(scores), time.perf_counter() - started


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    keep = np.isfinite(a) & np.isfinite(b)
    return float(spearmanr(a[keep], b[keep]).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--make-fixture", type=Path, default=None)
    args = parser.parse_args()
    if args.make_fixture is not None:
        make_fixture(args.make_fixture)
        return
    from archsearch.benchmarks.nb201 import load_nb201

    space, table = NB201Space(), load_nb201()
    estimator = ZeroCostEstimator(space, proxy="synflow", seed=args.seed, device="cpu",
                                  input_shape=(3, 32, 32), num_classes=10)
    rng = np.random.default_rng(args.seed)
    indices = rng.choice(len(table), size=args.cells, replace=False)
    archs = [table.arch_at(int(i)) for i in indices]
    ours, seconds = score_all(estimator, archs, "random cells")
    valid = np.asarray([table.query(arch, "cifar10", 200)["valid_acc"] for arch in archs])
    report: dict[str, Any] = {"random_cells": {
        "cells": args.cells, "seed": args.seed, "seconds": round(seconds, 1),
        "failed": int(np.sum(~np.isfinite(ours))),
        "spearman_synflow_vs_valid_acc_200": round(spearman(ours, valid), 4), "literature": "0.74-0.76"}}
    rows = json.loads(FIXTURE.read_text())
    subset = [space.parse(row["nb201"]) for row in rows]
    ours_subset, seconds_subset = score_all(estimator, subset, "NASLib subset")
    naslib = np.asarray([row["synflow"] for row in rows])
    accuracy = np.asarray([row["val_accuracy"] for row in rows])
    report["naslib_subset"] = {
        "cells": len(rows), "seconds": round(seconds_subset, 1),
        "spearman_ours_vs_naslib_synflow": round(spearman(ours_subset, naslib), 4),
        "spearman_ours_vs_val_accuracy": round(spearman(ours_subset, accuracy), 4),
        "spearman_naslib_synflow_vs_val_accuracy": round(spearman(naslib, accuracy), 4)}
    report["machine"] = {"platform": platform.platform(), "torch": torch.__version__,
                         "threads": torch.get_num_threads()}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
