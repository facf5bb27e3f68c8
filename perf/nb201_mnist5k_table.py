"""Build (or resume) archsearch's own NB201 table on mnist5k and ship it in the package (issue 22, part 1).

The build is ``archsearch bench build`` (resumable: run the same command again after a stop):

    archsearch bench build --space nb201 --dataset mnist5k --epochs 4 --sample 500 \\
        --set estimator.net.channels=8 --set estimator.net.cells_per_stage=1 \\
        --executor processes --workers 2 --threads 1 --store nb201_mnist5k_build.db --name nb201-mnist5k-s0 \\
        --out nb201_mnist5k.csv

``--low-fidelity`` also trains the archs for 1 epoch (``nb201-mnist5k-s0-e1``; the table's second fidelity);
``--second-seed`` then trains the same archs again with other training seeds (study seed 1, the walk of seed 0:
``exhaustive``'s ``order_seed``) as ``nb201-mnist5k-s1``; the table gets its accuracies as ``valid_acc_seed1`` /
``test_acc_seed1`` and the summary the seed-to-seed Kendall tau (the table's noise ceiling).

This script runs the build(s) through the library (same study, same store, same name), then writes its ok trials
as ``src/archsearch/benchmarks/data/nb201_mnist5k.parquet`` with ``missing: restrict`` (a partial table searched
within its archs) and a description of how it was made, and a summary (archs, spread of test accuracy, build
cost) to ``perf/results/nb201_mnist5k_table.json``. ``--snapshot`` writes what the store holds so far without
training (a partial table while the build runs).

    .venv/bin/python perf/nb201_mnist5k_table.py [--snapshot] [--second-seed] [--low-fidelity]

The build store is committed (perf/results/nb201_mnist5k_build.db, 0.4 MB), so the table is reproduced from it
and extended by the second seed or fidelity without training its 500 archs again.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from archsearch.bench_build import build_config, built_table, run_build  # noqa: E402
from archsearch.benchmarks.shipped import NB201_MNIST5K_EPOCHS, NB201_MNIST5K_NET  # noqa: E402
from archsearch.benchmarks.table import write_table  # noqa: E402
from archsearch.config import StudyConfig  # noqa: E402
from archsearch.spaces import space_from_config  # noqa: E402
from archsearch.store.sqlite import SQLiteStore  # noqa: E402

NAME = "nb201-mnist5k-s0"
SECOND = "nb201-mnist5k-s1"
LOW, LOW_EPOCHS = "nb201-mnist5k-s0-e1", 1.0
SEED_COLUMNS = ("valid_acc", "test_acc")  # the second seed's columns: <name>_seed1
SAMPLE, EPOCHS, SEED = 500, NB201_MNIST5K_EPOCHS, 0
NET = NB201_MNIST5K_NET  # the table's network
OUT = ROOT / "src" / "archsearch" / "benchmarks" / "data" / "nb201_mnist5k.parquet"
SUMMARY = ROOT / "perf" / "results" / "nb201_mnist5k_table.json"


def base_config(seed: int = SEED) -> StudyConfig:
    walk = {} if seed == SEED else {"strategy_options": {"order_seed": SEED}}  # the archs of seed 0's build
    return StudyConfig.from_mapping({"space": "nb201", "dataset": "mnist5k", "seed": seed, "executor": "processes",
                                     "workers": 2, "threads": 1, "estimator_options": {"net": dict(NET)}, **walk})


def build_trials(store: SQLiteStore, config: StudyConfig, snapshot: bool) -> list:  # type: ignore[type-arg]
    """The build's trials: run (or resume) it, or, with ``snapshot``, what the store holds (none: [])."""
    if not snapshot:
        return run_build(config, store, on_message=print).trials
    names = {experiment.name: experiment for experiment in store.experiments()}
    return store.trials(names[config.name].id) if config.name in names else []


def with_second_seed(meta, rows: list[dict], trials: list) -> tuple:  # type: ignore[no-untyped-def, type-arg]
    """``rows`` with the second seed's accuracies (nan where it has not trained the arch yet)."""
    second = {json.dumps(t.arch, sort_keys=True): t.metrics for t in trials if t.status == "ok"}
    dims = list(meta.dims)
    for row in rows:
        metrics = second.get(json.dumps({d: row[d] for d in dims}, sort_keys=True), {})
        row.update({f"{name}_seed1": metrics.get(name, float("nan")) for name in SEED_COLUMNS})
    metric_directions = {**meta.metrics, **{f"{name}_seed1": "max" for name in SEED_COLUMNS}}
    return dataclasses.replace(meta, metrics=metric_directions), rows


def noise_ceiling(rows: list[dict]) -> dict[str, float] | None:
    """Kendall tau and Spearman rho between the two seeds' validation accuracies (archs trained by both)."""
    from scipy.stats import kendalltau, spearmanr

    pairs = [(r["valid_acc"], r["valid_acc_seed1"]) for r in rows if math.isfinite(r.get("valid_acc_seed1", math.nan))]
    if len(pairs) < 5:
        return None
    first, second = zip(*pairs)
    return {"archs": len(pairs), "kendall_tau": kendalltau(first, second)[0], "spearman": spearmanr(first, second)[0]}


def fidelity_agreement(rows: list[dict]) -> dict[str, float] | None:
    """Kendall tau between the 1-epoch and the 4-epoch validation accuracy of the archs trained at both."""
    from scipy.stats import kendalltau

    low = {json.dumps({d: r[d] for d in r if d.startswith("edge_")}, sort_keys=True): r["valid_acc"]
           for r in rows if r["fidelity"] == LOW_EPOCHS}
    pairs = [(low[key], r["valid_acc"]) for r in rows if r["fidelity"] == EPOCHS
             and (key := json.dumps({d: r[d] for d in r if d.startswith("edge_")}, sort_keys=True)) in low]
    if len(pairs) < 5:
        return None
    return {"archs": len(pairs), "kendall_tau": kendalltau(*zip(*pairs))[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=str(ROOT / "perf" / "results" / "nb201_mnist5k_build.db"),
                        help="the build store (committed: a resumed or extended build trains nothing twice)")
    parser.add_argument("--snapshot", action="store_true", help="write what is stored so far; train nothing")
    parser.add_argument("--second-seed", action="store_true", help="also train the archs with other seeds")
    parser.add_argument("--low-fidelity", action="store_true", help="also train the archs for 1 epoch")
    args = parser.parse_args()
    config = build_config(base_config(), EPOCHS, SAMPLE, NAME)
    store = SQLiteStore(args.store, create=not args.snapshot, write=not args.snapshot)
    try:
        trials = build_trials(store, config, args.snapshot)
        low_config = build_config(base_config(), LOW_EPOCHS, SAMPLE, LOW)
        low = build_trials(store, low_config, args.snapshot) if args.low_fidelity or args.snapshot else []
        second = (build_trials(store, build_config(base_config(1), EPOCHS, SAMPLE, SECOND), args.snapshot)
                  if args.second_seed or args.snapshot else [])
    finally:
        store.close()
    meta, rows = built_table(config, space_from_config(config), trials)
    if second:
        meta, rows = with_second_seed(meta, rows, second)
    if any(t.status == "ok" for t in low):
        low_meta, low_rows = built_table(low_config, space_from_config(low_config), low)
        meta = dataclasses.replace(meta, fidelities=(LOW_EPOCHS, EPOCHS), fidelity=EPOCHS,
                                   metrics={**low_meta.metrics, **meta.metrics})
        rows = rows + low_rows
    extras = (f"; {LOW_EPOCHS:g}-epoch rows from build {LOW!r} ({sum(t.status == 'ok' for t in low)} archs)" if low else "")
    extras += (f"; a second training seed (study seed 1) as valid_acc_seed1 / test_acc_seed1 from build {SECOND!r} "
               f"({sum(t.status == 'ok' for t in second)} archs, nan elsewhere)" if second else "")
    meta = dataclasses.replace(meta, missing="restrict", description=(
        f"{meta.description}; NB201 network with net.channels={NET['channels']}, "
        f"net.cells_per_stage={NET['cells_per_stage']}, one thread per trial{extras}; built by "
        f"perf/nb201_mnist5k_table.py"))
    write_table(OUT, meta, rows)
    test = sorted(row["test_acc"] for row in rows if row["fidelity"] == EPOCHS)
    summary = {"archs": len(test), "low_fidelity_archs": len(rows) - len(test), "target": SAMPLE, "epochs": EPOCHS,
               "net": NET,
               "test_acc": {"best": test[-1], "median": statistics.median(test), "worst": test[0]},
               "valid_acc_median": statistics.median(row["valid_acc"] for row in rows if row["fidelity"] == EPOCHS),
               "build_trial_seconds": {name: sum(t.cost for t in group if t.status == "ok")
                                       for name, group in ((NAME, trials), (LOW, low), (SECOND, second)) if group},
               "second_seed_archs": sum(t.status == "ok" for t in second),
               "noise_ceiling": noise_ceiling([row for row in rows if row["fidelity"] == EPOCHS]),
               "fidelity_agreement": fidelity_agreement(rows),
               "file_bytes": OUT.stat().st_size}
    SUMMARY.write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
