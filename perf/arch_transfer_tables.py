"""Small ground-truth tables of nb201-mnist5k's archs on other small datasets (issue 24, part 5b; not a test).

The archs of the shipped table ``nb201-mnist5k`` (500 NB201 cells, 4 epochs on mnist5k, C=8 N=1: issue 22) are
trained with the table's network and recipe (the ``train`` estimator, 4 epochs, ``net.channels=8``,
``net.cells_per_stage=1``, one thread, study seed 0, so each trial's seed is the one ``bench build`` gives that arch)
on ``digits`` (scikit-learn's 8x8 digits) and ``mnist1d`` (signals of length 40, as 1 x 40 images). A build is the
library's bench build (:func:`archsearch.bench_build.run_build`: one study in a SQLite store, resumable; a
killed build trains none of its done archs again) whose strategy walks a fixed list of archs instead of a seeded
sample of the space: the table's archs in a seeded random order (``--order-seed``), so any prefix (``--count``) is
a uniform sample of the table. ``--seed 1`` trains the same archs with other training seeds (the noise ceiling).

    OMP_NUM_THREADS=1 .venv/bin/python perf/arch_transfer_tables.py --datasets digits,mnist1d [--count 500]
    OMP_NUM_THREADS=1 .venv/bin/python perf/arch_transfer_tables.py --datasets digits --seed 1 --count 150
    .venv/bin/python perf/arch_transfer_tables.py --datasets digits,mnist1d --snapshot   # write, train nothing

Each build's ok trials are written as ``perf/results/arch_transfer_<dataset>_s<seed>.parquet`` (with its
``.meta.yaml``: a table ``archsearch.benchmarks.table.load_table`` reads); the store is
``perf/results/arch_transfer_build.db``. The strategy ``arch-list`` exists only in this script (registered when it
is imported), so resume a build with this script, not with ``archsearch resume``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from archsearch.bench_build import build_config, built_table, run_build  # noqa: E402
from archsearch.benchmarks import load_benchmark  # noqa: E402
from archsearch.benchmarks.shipped import NB201_MNIST5K_EPOCHS, NB201_MNIST5K_NET  # noqa: E402
from archsearch.benchmarks.table import write_table  # noqa: E402
from archsearch.config import StudyConfig  # noqa: E402
from archsearch.core.registry import STRATEGIES  # noqa: E402
from archsearch.spaces import space_from_config  # noqa: E402
from archsearch.store.sqlite import SQLiteStore  # noqa: E402
from archsearch.strategies.exhaustive import ExhaustiveSearch  # noqa: E402

RESULTS = ROOT / "perf" / "results"
STORE = RESULTS / "arch_transfer_build.db"
SOURCE = "nb201-mnist5k"  # the table whose archs are trained again
DATASETS = ("digits", "mnist1d")


class ArchList(ExhaustiveSearch):
    """The archs of ``archs`` (NB201 strings) in their order, then the exhaustive walk (a build asks no more)."""

    name = "arch-list"

    def __init__(self, archs: list[str]) -> None:
        super().__init__(shuffle=False)
        self.archs = [str(text) for text in archs]

    def setup(self) -> None:
        super().setup()
        self._warm = tuple(self.space.parse(text) for text in self.archs)  # a resume replaces it by what is left


STRATEGIES.register("arch-list", f"{__name__}:ArchList", "a fixed list of archs in order (perf/arch_transfer_tables.py)")


def source_archs(order_seed: int = 0) -> list[str]:
    """The source table's archs (its 4-epoch rows) as NB201 strings, in a seeded random order."""
    table = load_benchmark(SOURCE)
    space = space_from_config(StudyConfig.from_mapping({"space": "nb201"}))
    texts = [space.format(table.arch_at(index)) for index in range(len(table))]
    order = np.random.default_rng(order_seed).permutation(len(texts))
    return [texts[i] for i in order]


def table_config(dataset: str, seed: int, count: int, order_seed: int) -> StudyConfig:
    """The build study: bench build's config (train estimator, the table's network and epochs) walking the list."""
    base = StudyConfig.from_mapping({"space": "nb201", "dataset": dataset, "seed": seed, "executor": "serial",
                                     "workers": 1, "threads": 1, "estimator_options": {"net": dict(NB201_MNIST5K_NET)}})
    config = build_config(base, NB201_MNIST5K_EPOCHS, count, f"arch-transfer-{dataset}-s{seed}")
    archs = source_archs(order_seed)[:count]
    listed = StudyConfig.from_mapping({**config.to_dict(), "strategy": "arch-list",
                                       "strategy_options": {"archs": archs}})
    listed.validate()
    return listed


def table_path(dataset: str, seed: int) -> Path:
    return RESULTS / f"arch_transfer_{dataset}_s{seed}.parquet"


def stored_trials(store: SQLiteStore, name: str) -> list[Any]:
    names = {experiment.name: experiment for experiment in store.experiments()}
    return store.trials(names[name].id) if name in names else []


def build_one(store: SQLiteStore, config: StudyConfig, snapshot: bool) -> Path | None:
    """Run (or resume) one build, unless ``snapshot``, then write its ok trials as a table; None without any."""
    started = time.perf_counter()
    if not snapshot:
        run_build(config, store, on_message=lambda text: print(text, flush=True))
    trials = stored_trials(store, config.name)
    if not any(t.status == "ok" for t in trials):
        print(f"{config.name}: no ok trial yet")
        return None
    meta, rows = built_table(config, space_from_config(config), trials)
    meta = dataclasses.replace(meta, missing="restrict", description=(
        f"{meta.description}; the archs of {SOURCE} (a seeded random order, a prefix of {config.max_trials}), "
        f"NB201 network with net.channels={NB201_MNIST5K_NET['channels']}, "
        f"net.cells_per_stage={NB201_MNIST5K_NET['cells_per_stage']}, one thread; built by perf/arch_transfer_tables.py"))
    path = write_table(table_path(config.dataset, config.seed), meta, rows)
    seconds = sum(t.cost for t in trials if t.status == "ok")
    print(f"{config.name}: {len(rows)} rows ({sum(t.status != 'ok' for t in trials)} failed trials), "
          f"{seconds:.0f} trial-s in all, {time.perf_counter() - started:.0f} s now; wrote {path}", flush=True)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seed", type=int, default=0, help="the study seed (1: other training seeds, same archs)")
    parser.add_argument("--count", type=int, default=500, help="the first N archs of the seeded order")
    parser.add_argument("--order-seed", type=int, default=0)
    parser.add_argument("--store", default=str(STORE))
    parser.add_argument("--snapshot", action="store_true", help="write what the store holds; train nothing")
    args = parser.parse_args()
    store = SQLiteStore(args.store, create=not args.snapshot, write=not args.snapshot)
    try:
        for dataset in [d.strip() for d in args.datasets.split(",") if d.strip()]:
            build_one(store, table_config(dataset, args.seed, args.count, args.order_seed), args.snapshot)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
