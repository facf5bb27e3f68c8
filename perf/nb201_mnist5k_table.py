"""Build (or resume) archsearch's own NB201 table on mnist5k and ship it in the package (issue 22, part 1).

The build is ``archsearch bench build`` (resumable: run the same command again after a stop):

    archsearch bench build --space nb201 --dataset mnist5k --epochs 4 --sample 500 \\
        --set estimator.net.channels=8 --set estimator.net.cells_per_stage=1 \\
        --executor processes --workers 2 --threads 1 --store nb201_mnist5k_build.db --name nb201-mnist5k-s0 \\
        --out nb201_mnist5k.csv

This script runs that build through the library (same study, same store, same name), then writes its ok trials
as ``src/archsearch/benchmarks/data/nb201_mnist5k.parquet`` with ``missing: restrict`` (a partial table searched
within its archs) and a description of how it was made, and a summary (archs, spread of test accuracy, build
cost) to ``perf/results/nb201_mnist5k_table.json``. ``--snapshot`` writes what the store holds so far without
training (a partial table while the build runs).

    .venv/bin/python perf/nb201_mnist5k_table.py --store nb201_mnist5k_build.db [--snapshot]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from archsearch.bench_build import build_config, built_table, run_build  # noqa: E402
from archsearch.benchmarks.table import write_table  # noqa: E402
from archsearch.config import StudyConfig  # noqa: E402
from archsearch.spaces import space_from_config  # noqa: E402
from archsearch.store.sqlite import SQLiteStore  # noqa: E402

NAME = "nb201-mnist5k-s0"
SAMPLE, EPOCHS, SEED = 500, 4.0, 0
NET = {"channels": 8, "cells_per_stage": 1}
OUT = ROOT / "src" / "archsearch" / "benchmarks" / "data" / "nb201_mnist5k.parquet"
SUMMARY = ROOT / "perf" / "results" / "nb201_mnist5k_table.json"


def base_config() -> StudyConfig:
    return StudyConfig.from_mapping({"space": "nb201", "dataset": "mnist5k", "seed": SEED, "executor": "processes",
                                     "workers": 2, "threads": 1, "estimator_options": {"net": dict(NET)}})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="nb201_mnist5k_build.db")
    parser.add_argument("--snapshot", action="store_true", help="write what is stored so far; train nothing")
    args = parser.parse_args()
    config = build_config(base_config(), EPOCHS, SAMPLE, NAME)
    store = SQLiteStore(args.store, create=not args.snapshot, write=not args.snapshot)
    try:
        if args.snapshot:
            trials = store.trials(store.get_experiment(NAME).id)
        else:
            trials = run_build(config, store, on_message=print).trials
    finally:
        store.close()
    meta, rows = built_table(config, space_from_config(config), trials)
    meta = dataclasses.replace(meta, missing="restrict", description=(
        f"{meta.description}; NB201 network with net.channels={NET['channels']}, "
        f"net.cells_per_stage={NET['cells_per_stage']}, one thread per trial; built by perf/nb201_mnist5k_table.py"))
    write_table(OUT, meta, rows)
    test = sorted(row["test_acc"] for row in rows)
    summary = {"archs": len(rows), "target": SAMPLE, "epochs": EPOCHS, "net": NET,
               "test_acc": {"best": test[-1], "median": statistics.median(test), "worst": test[0]},
               "valid_acc_median": statistics.median(row["valid_acc"] for row in rows),
               "build_trial_seconds": sum(row["trial_seconds"] for row in rows),
               "file_bytes": OUT.stat().st_size}
    SUMMARY.write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
