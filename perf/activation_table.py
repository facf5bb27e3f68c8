"""Build (or resume) the whole one-unit activation space as a table and ship it in the package (issue 23, part 1).

Every one of the 6,561 functions ``b(u1(x), u2(x))`` of Ramachandran, Zoph & Le (2017) trained in the fixed
child (MNIST-1D, the MLP 40-100-100-10 with BatchNorm and the candidate at both activation sites; 3 epochs; the
activation estimator's recipe with common random numbers: within a seed every candidate starts from the same
weights and sees the same batches) with two seeds, each seed one ``archsearch bench build --all``:

    archsearch bench build --space activation --estimator activation --dataset mnist1d --epochs 3 --all \\
        --seed S --executor processes --workers 2 --threads 1 --store activation_mnist1d_build.db \\
        --name activation-mnist1d-sS --out activation_mnist1d_sS.parquet

This script runs the same builds through the library (resumable: run it again after a stop; ``--snapshot``
writes what the store holds without training), then writes the shipped table
``src/archsearch/benchmarks/data/activation_mnist1d.parquet``: seed 0's columns as built, the second seed's
accuracies as ``valid_acc_seed1`` / ``test_acc_seed1`` and their means over the seeds (``valid_acc_mean``, the
table's search objective, ``test_acc_mean`` its report); a candidate the numerical guard rejects is a row with its
``failure``. The summary (seed-to-seed rank correlation, failures, candidates per minute, build cost) goes to
``perf/results/activation_mnist1d_table.json``.

    .venv/bin/python perf/activation_table.py [--seeds 2] [--snapshot]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from archsearch.bench_build import build_config, built_table, run_build  # noqa: E402
from archsearch.benchmarks.shipped import ACTIVATION_MNIST1D_EPOCHS, ACTIVATION_MNIST1D_FILE  # noqa: E402
from archsearch.benchmarks.table import write_table  # noqa: E402
from archsearch.config import StudyConfig  # noqa: E402
from archsearch.spaces import space_from_config  # noqa: E402
from archsearch.store.sqlite import SQLiteStore  # noqa: E402

NAME = "activation-mnist1d-s{seed}"
CANDIDATES, EPOCHS = 6561, ACTIVATION_MNIST1D_EPOCHS
SEED_COLUMNS = ("valid_acc", "test_acc")
OUT = ROOT / "src" / "archsearch" / "benchmarks" / "data" / ACTIVATION_MNIST1D_FILE
SUMMARY = ROOT / "perf" / "results" / "activation_mnist1d_table.json"
STORE = ROOT / "perf" / "results" / "activation_mnist1d_build.db"


def seed_config(seed: int) -> StudyConfig:
    walk = {} if seed == 0 else {"strategy_options": {"order_seed": 0}}  # seed 0's order: a partial build pairs up
    base = StudyConfig.from_mapping({"space": "activation", "estimator": "activation", "dataset": "mnist1d",
                                     "seed": seed, "executor": "processes", "workers": 2, "threads": 1, **walk})
    return build_config(base, EPOCHS, CANDIDATES, NAME.format(seed=seed))


def seed_trials(store: SQLiteStore, config: StudyConfig, snapshot: bool) -> list:  # type: ignore[type-arg]
    if not snapshot:
        return run_build(config, store, on_message=print).trials
    names = {experiment.name: experiment for experiment in store.experiments()}
    return store.trials(names[config.name].id) if config.name in names else []


def key_of(arch: dict) -> str:  # type: ignore[type-arg]
    return json.dumps(arch, sort_keys=True)


def with_seeds(meta, rows: list[dict], others: list[list]) -> tuple:  # type: ignore[no-untyped-def, type-arg]
    """``rows`` with each further seed's accuracies (``<metric>_seed<k>``) and the mean over seeds."""
    dims = list(meta.dims)
    metrics = dict(meta.metrics)
    for k, trials in enumerate(others, start=1):
        by_arch = {key_of(t.arch): t.metrics for t in trials if t.status == "ok"}
        for row in rows:
            found = by_arch.get(key_of({d: row[d] for d in dims}), {})
            row.update({f"{name}_seed{k}": found.get(name, math.nan) for name in SEED_COLUMNS})
        metrics.update({f"{name}_seed{k}": "max" for name in SEED_COLUMNS})
    for row in rows:
        for name in SEED_COLUMNS:
            values = [v for v in (row.get(name), *(row[f"{name}_seed{k}"] for k in range(1, len(others) + 1)))
                      if v is not None and math.isfinite(v)]
            row[f"{name}_mean"] = sum(values) / len(values) if values and "failure" not in row else math.nan
    metrics.update({f"{name}_mean": "max" for name in SEED_COLUMNS})
    return dataclasses.replace(meta, metrics=metrics, objective="valid_acc_mean", report="test_acc_mean"), rows


def rank_agreement(rows: list[dict]) -> dict | None:  # type: ignore[type-arg]
    """Seed 0 vs seed 1: Spearman and Kendall over the candidates both trained, and the overlap of their top 1 %."""
    from scipy.stats import kendalltau, spearmanr

    pairs = [(r["valid_acc"], r["valid_acc_seed1"], r["test_acc"], r["test_acc_seed1"]) for r in rows
             if "failure" not in r and math.isfinite(r.get("valid_acc_seed1", math.nan))]
    if len(pairs) < 10:
        return None
    v0, v1, t0, t1 = zip(*pairs)
    top = max(1, len(pairs) // 100)
    best0 = set(sorted(range(len(pairs)), key=lambda i: -v0[i])[:top])
    best1 = set(sorted(range(len(pairs)), key=lambda i: -v1[i])[:top])
    return {"candidates": len(pairs), "valid_spearman": spearmanr(v0, v1)[0], "valid_kendall": kendalltau(v0, v1)[0],
            "test_spearman": spearmanr(t0, t1)[0], "test_kendall": kendalltau(t0, t1)[0],
            "top1pct_overlap": len(best0 & best1) / top, "top1pct_size": top}


def throughput(trials: list) -> dict:  # type: ignore[type-arg]
    """Candidates per wall minute over the build's stretches of work (gaps over 10 minutes are stops)."""
    times = sorted((t.started, t.finished) for t in trials if t.started is not None and t.finished is not None)
    wall, stretch_start, last = 0.0, None, None
    for started, finished in times:
        if stretch_start is None or started - last > 600:
            if stretch_start is not None:
                wall += last - stretch_start
            stretch_start = started
        last = finished if last is None else max(last, finished)
    if stretch_start is not None:
        wall += last - stretch_start
    return {"candidates": len(times), "wall_seconds": wall,
            "per_minute": 60 * len(times) / wall if wall > 0 else None,
            "trial_seconds_total": sum(t.cost for t in trials)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="training seeds (one build each)")
    parser.add_argument("--snapshot", action="store_true", help="write what is stored so far; train nothing")
    parser.add_argument("--store", default=str(STORE), help="the build store (committed)")
    args = parser.parse_args()
    configs = [seed_config(seed) for seed in range(args.seeds)]
    store = SQLiteStore(args.store, create=not args.snapshot, write=not args.snapshot)
    try:
        builds = [seed_trials(store, config, args.snapshot) for config in configs]
    finally:
        store.close()
    meta, rows = built_table(configs[0], space_from_config(configs[0]), builds[0])
    meta, rows = with_seeds(meta, rows, builds[1:])
    failures = [r["failure"] for r in rows if "failure" in r]
    meta = dataclasses.replace(meta, missing="fail" if len(rows) == CANDIDATES else "restrict", description=(
        f"{meta.description}; the child: MLP 40-100-100-10 with BatchNorm, the candidate at both activation sites, "
        f"3 epochs of the activation estimator's recipe, common random numbers per seed; seeds 1..{args.seeds - 1} "
        f"as <metric>_seed<k>, their mean as valid_acc_mean / test_acc_mean; built by perf/activation_table.py"))
    write_table(OUT, meta, rows)
    guard = sum(reason.startswith("numerical guard") for reason in failures)
    summary = {"candidates": len(rows), "target": CANDIDATES, "epochs": EPOCHS, "seeds": args.seeds,
               "trained_per_seed": [sum(t.status == "ok" for t in trials) for trials in builds],
               "failed": {"numerical_guard": guard, "other": len(failures) - guard,
                          "other_reasons": sorted({r for r in failures if not r.startswith("numerical guard")})[:10]},
               "seed_agreement": rank_agreement(rows),
               "throughput": [throughput(trials) for trials in builds], "file_bytes": OUT.stat().st_size}
    SUMMARY.write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
