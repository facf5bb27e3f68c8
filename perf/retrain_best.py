"""Does search pay off? (issue 22, part 4): the best cells found on ``nb201-mnist5k``, retrained at the full budget.

1. The best tabular strategy of the table's comparison (``--tabular``, default local search: lowest regret in
   ``perf/results/compare_nb201_mnist5k.json``) searches the table for ``--trials`` queries (seed 0);
2. the best one-shot method (``--oneshot``, default SNAS: highest median derived-cell percentile in
   ``perf/results/oneshot_derived.json``) searches on mnist5k at the table's network size, its derived cell trained
   stand-alone as the table's rows were (its study's one trial);
3. each study's best arch is retrained with ``archsearch train --from-study NAME`` for ``--epochs`` epochs with
   ``--seeds`` training seeds, beside the hand-designed cell of the same network: NB201's ResNet cell (two 3x3
   convolutions in sequence and a skip connection, the residual block of He et al. 2016 that the NB201 paper places
   in its space), with the same recipe (the train estimator's: SGD Nesterov, cosine lr).

Two trainings run at once, one thread each. Writes ``perf/results/retrain_best.json`` (test accuracy mean +- std
per network, params) and keeps the studies in ``perf/results/retrain_best.db``.

    .venv/bin/python perf/retrain_best.py --epochs 30 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from archsearch.benchmarks.shipped import NB201_MNIST5K_EPOCHS, NB201_MNIST5K_NET  # noqa: E402
from archsearch.config import StudyConfig  # noqa: E402
from archsearch.store.sqlite import SQLiteStore  # noqa: E402
from archsearch.study import Study  # noqa: E402

NET = NB201_MNIST5K_NET
HAND_DESIGNED = {
    "resnet-cell": "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|",
}
ARCHSEARCH = [sys.executable, "-m", "archsearch"]


def search(store: SQLiteStore, name: str, mapping: dict) -> None:
    """Run the study ``name`` unless the store has it finished."""
    if name in {e.name for e in store.experiments()}:
        study = Study.resume(name, store)
    else:
        study = Study.create(StudyConfig.from_mapping({"name": name, "seed": 0, "device": "cpu", **mapping}), store)
    if not study.done():
        study.run()


def studies(store: SQLiteStore, tabular: str, oneshot: str, trials: int, search_epochs: int) -> dict[str, str]:
    search(store, f"tabular-{tabular}", {"strategy": tabular, "benchmark": "nb201-mnist5k", "max_trials": trials})
    search(store, f"oneshot-{oneshot}", {
        "strategy": oneshot, "space": "nb201", "dataset": "mnist5k", "estimator": "train",
        "fidelity": NB201_MNIST5K_EPOCHS, "threads": 2,
        "estimator_options": {"net": dict(NET)}, "strategy_options": {"net": dict(NET), "epochs": search_epochs}})
    return {f"{tabular} (tabular, {trials} queries)": f"tabular-{tabular}", f"{oneshot} (one-shot)": f"oneshot-{oneshot}"}


def train(source: list[str], seed: int, epochs: int, store: str) -> dict:
    command = [*ARCHSEARCH, "train", *source, "--epochs", str(epochs), "--seed", str(seed), "--device", "cpu",
               "--out", os.devnull, "--json", "--store", store]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabular", default="local-search")
    parser.add_argument("--oneshot", default="snas")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--search-epochs", type=int, default=10, help="the one-shot search's supernet epochs")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--store", default=str(ROOT / "perf" / "results" / "retrain_best.db"))
    parser.add_argument("--out", default=str(ROOT / "perf" / "results" / "retrain_best.json"))
    args = parser.parse_args()
    store = SQLiteStore(args.store, create=True)
    try:
        found = studies(store, args.tabular, args.oneshot, args.trials, args.search_epochs)
    finally:
        store.close()
    net = [item for key, value in NET.items() for item in ("--set", f"net.{key}={value}")]
    sources = {label: ["--from-study", name] for label, name in found.items()}
    sources.update({label: ["--arch", arch, "--space", "nb201", "--dataset", "mnist5k", *net]
                    for label, arch in HAND_DESIGNED.items()})
    jobs = [(label, seed) for label in sources for seed in map(int, args.seeds.split(","))]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda job: train(sources[job[0]], job[1], args.epochs, args.store), jobs))
    rows = {}
    for label in sources:
        runs = [r for (name, _), r in zip(jobs, results) if name == label]
        tests = [r["metrics"]["test_acc"] for r in runs]
        rows[label] = {"arch": runs[0]["arch"], "params": runs[0]["metrics"].get("params"),
                       "test_acc_mean": statistics.mean(tests), "test_acc_std": statistics.stdev(tests),
                       "test_acc": tests, "train_seconds": statistics.mean(r["metrics"]["train_seconds"] for r in runs)}
        print(label, json.dumps(rows[label]), flush=True)
    Path(args.out).write_text(json.dumps({"epochs": args.epochs, "seeds": args.seeds, "net": NET, "rows": rows},
                                         indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
