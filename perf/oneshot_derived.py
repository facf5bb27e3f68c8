"""Derived cells against archsearch's own table (issue 22, part 3): does a one-shot method's cell beat random?

Each method searches on mnist5k at the table's network size (NB201 cell, C=8, one cell per stage) for
``--epochs`` supernet epochs, once per seed; its derived cell (RS-WS: the best of ``candidates`` table archs by
shared weights, BatchNorm recalibrated on ``--bn`` batches, ranked as ``--rsws``'s options say) is looked up in
``nb201-mnist5k`` or, when the table lacks it, trained stand-alone exactly as the table's rows were (4 epochs, same
recipe and network). Its percentile is the share of table archs whose validation accuracy it beats (ties count
half). The goal (issue 22): the best method's median derived cell >= 80th percentile, no method's median below the
50th. Each run is a study in ``--store`` (``derived-METHOD-sSEED``: ``archsearch train --from-study`` retrains it)
and a row of ``--out``; a rerun skips the runs done with the same settings (resumable).

    .venv/bin/python perf/oneshot_derived.py --methods darts,darts2,snas,gdas,rsws --seeds 0,1,2,3,4 --epochs 10 \\
        --rsws epochs=80,rank_by=loss --out perf/results/oneshot_derived.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402

from archsearch.benchmarks import load_benchmark  # noqa: E402
from archsearch.benchmarks.shipped import NB201_MNIST5K_NET  # noqa: E402
from archsearch.config import StudyConfig  # noqa: E402
from archsearch.core.errors import ArchError  # noqa: E402
from archsearch.core.threads import configure  # noqa: E402
from archsearch.estimators.train import TrainEstimator  # noqa: E402
from archsearch.spaces.nb201 import NB201Space  # noqa: E402
from archsearch.estimators.supernet import param_free_share  # noqa: E402
from archsearch.store.sqlite import SQLiteStore  # noqa: E402
from archsearch.study import Study  # noqa: E402

NET = NB201_MNIST5K_NET  # the table's network
METHODS = {"darts": ("darts", {"order": 1}), "darts2": ("darts", {"order": 2}), "snas": ("snas", {}),
           "gdas": ("gdas", {}), "gdas-long": ("gdas", {"epochs": 30, "warmup_epochs": 10}),
           "gdas-long-fast": ("gdas", {"epochs": 30, "warmup_epochs": 10, "arch_lr": 3e-3}), "rsws": ("rsws", {})}


def derived_cell(method: str, seed: int, options: dict, store: SQLiteStore) -> tuple[dict, float, float]:
    """The derived arch of ``method`` at ``seed`` (its study in ``store``), the search seconds and the share of
    parameter-free ops in the derived arch."""
    strategy, own = METHODS[method]
    name = f"derived-{method}-s{seed}"
    if name in {e.name for e in store.experiments()}:
        store.delete_experiment(name)  # a run killed before its row was written: search again
    config = StudyConfig.from_mapping({"name": name, "strategy": strategy, "benchmark": "nb201-mnist5k", "seed": seed,
                                       "device": "cpu", "strategy_options": {"net": dict(NET), **options, **own}})
    started = time.perf_counter()
    study = Study.create(config, store).run()
    arch = dict(study.components.strategy.derived[0])
    return arch, time.perf_counter() - started, param_free_share(arch)


def valid_accuracy(table, arch: dict) -> tuple[float, bool]:  # type: ignore[no-untyped-def]
    """The table's 4-epoch validation accuracy of ``arch``, else one trained as the table's rows were."""
    try:
        return table.query(arch, "mnist5k", 4)["valid_acc"], True
    except ArchError:
        space = NB201Space()
        estimator = TrainEstimator(space, "mnist5k", fidelity=4, seed=0, device="cpu", net=dict(NET))
        return estimator.evaluate(space.validate(arch)).metric("valid_acc"), False


def method_options(args: argparse.Namespace, method: str) -> dict:
    """The search options of ``method``: the common epochs, RS-WS's own (``--rsws key=value,...``)."""
    options: dict = {"epochs": METHODS[method][1].get("epochs", args.epochs)}  # a method's own epochs win
    if method == "rsws":
        options["bn_batches"] = args.bn
        for pair in filter(None, args.rsws.split(",")):
            key, value = pair.split("=", 1)
            options[key] = int(value) if value.isdigit() else value
    return options


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="darts,darts2,snas,gdas,rsws")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--bn", type=int, default=20)
    parser.add_argument("--rsws", default="epochs=80,rank_by=loss", help="RS-WS options, key=value,...")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--store", default=str(ROOT / "perf" / "results" / "oneshot_derived.db"))
    parser.add_argument("--out", default=str(ROOT / "perf" / "results" / "oneshot_derived.json"))
    args = parser.parse_args()
    configure(args.threads)
    table = load_benchmark("nb201-mnist5k")
    population = np.array([table.query(table.arch_at(i), "mnist5k", 4)["valid_acc"] for i in range(len(table))])
    out = Path(args.out)
    runs = json.loads(out.read_text())["runs"] if out.is_file() else []
    store = SQLiteStore(args.store, create=True)
    methods = args.methods.split(",")
    try:
        for method in methods:
            options = method_options(args, method)
            for seed in map(int, args.seeds.split(",")):
                if any(r["method"] == method and r["seed"] == seed and r.get("options") == options for r in runs):
                    continue
                arch, seconds, free = derived_cell(method, seed, options, store)
                accuracy, in_table = valid_accuracy(table, arch)
                percentile = 100.0 * (np.mean(population < accuracy) + 0.5 * np.mean(population == accuracy))
                runs = [r for r in runs if (r["method"], r["seed"]) != (method, seed)]
                runs.append({"method": method, "seed": seed, "options": options,
                             "arch": NB201Space().format(NB201Space().validate(arch)), "valid_acc": accuracy,
                             "in_table": in_table, "percentile": percentile, "param_free_share": free,
                             "search_seconds": seconds})
                print(json.dumps(runs[-1]), flush=True)
                write(out, args, population, runs)
    finally:
        store.close()
    return 0


def write(out: Path, args: argparse.Namespace, population: np.ndarray, runs: list[dict]) -> None:
    methods = sorted({r["method"] for r in runs})
    medians = {m: statistics.median(r["percentile"] for r in runs if r["method"] == m) for m in methods}
    document = {"net": NET, "table_rows": len(population), "threads": args.threads,
                "table_valid_acc": {"best": float(population.max()), "median": float(np.median(population)),
                                    "p80": float(np.percentile(population, 80))},
                "median_percentile": medians, "seeds": {m: sum(r["method"] == m for r in runs) for m in methods},
                "runs": runs}
    out.write_text(json.dumps(document, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
