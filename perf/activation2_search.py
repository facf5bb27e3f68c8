"""The two-unit activation space searched on the real estimator (issue 23, part 5), its best functions on the
transfer task.

REINFORCE (Zoph & Le's LSTM controller, as in ``perf/activation_table_search.py``) over ``activation2`` (two core
units, ~3.9 x 10^7 programs: no table can hold it) on MNIST-1D with the table's child (the MLP, 3 epochs, common
random numbers), ``--trials`` candidates on 2 worker processes of one thread each (the run is a study in
``--store``: a stopped search resumes). Then its ``--top`` distinct functions by validation accuracy are trained on
the transfer task of ``perf/activation_transfer.py`` (the ResNet child on mnist5k, the same seeds and options),
paired t-tests against the ReLU runs stored there, Holm-adjusted over these functions.

    .venv/bin/python perf/activation2_search.py [--trials 5000] [--top 3] [--seeds 10]

Writes perf/results/activation2_search.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "perf"))

from activation_transfer import OUT as TRANSFER, print_summary, summary_of, train_one  # noqa: E402
from archsearch.activation_study import top_trials  # noqa: E402
from archsearch.config import StudyConfig  # noqa: E402
from archsearch.core.arch import Arch  # noqa: E402
from archsearch.spaces.activation import ActivationSpace  # noqa: E402
from archsearch.store.sqlite import SQLiteStore  # noqa: E402
from archsearch.study import Study  # noqa: E402

NAME = "activation2-reinforce-mnist1d-s0"
STORE = ROOT / "perf" / "results" / "activation2_search.db"
OUT = ROOT / "perf" / "results" / "activation2_search.json"


def search(trials: int) -> list:  # type: ignore[type-arg]
    config = StudyConfig.from_mapping({
        "name": NAME, "space": "activation2", "strategy": "reinforce", "estimator": "activation", "dataset": "mnist1d",
        "fidelity": 3.0, "max_trials": trials, "budget_seconds": None, "seed": 0, "executor": "processes",
        "workers": 2, "threads": 1, "objective": "valid_acc:max", "report": "test_acc:max"})
    store = SQLiteStore(str(STORE), create=True)
    try:
        names = {e.name for e in store.experiments()}
        study = Study.resume(NAME, store) if NAME in names else Study.create(config, store)
        if not study.done():
            study.run()
        return list(study.trials)
    finally:
        store.close()


def stored_trials() -> list:  # type: ignore[type-arg]
    store = SQLiteStore(str(STORE), create=False, write=False)
    try:
        return store.trials(store.get_experiment(NAME).id)
    finally:
        store.close()


def main() -> int:
    import torch

    torch.set_num_threads(1)  # the driver's controller: tiny ops stall in a spinning OpenMP pool beside 2 workers
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5000)
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--evaluate-only", action="store_true", help="evaluate what the store holds; search no more")
    args = parser.parse_args()
    trials = stored_trials() if args.evaluate_only else search(args.trials)
    space = ActivationSpace(2)
    top = top_trials(trials, "valid_acc", True, args.top)
    functions = [space.format(Arch(t.arch)) for t in top]
    transfer = json.loads(TRANSFER.read_text())
    relu = [r for r in transfer["runs"] if r["function"] == "relu"]
    jobs = [(f, s) for f in functions for s in range(args.seeds)]
    with ProcessPoolExecutor(2) as pool:
        runs = list(pool.map(train_one, [f for f, _ in jobs], [s for _, s in jobs],
                             [transfer["epochs"]] * len(jobs), [2] * len(jobs)))
    table = summary_of(["relu", *functions], relu + runs)  # Holm over these functions, ReLU the reference
    relu_summary = table.pop("relu")
    document = {
        "search": {"trials": len(trials), "distinct": len({Arch(t.arch).key() for t in trials}),
                   "failed": sum(t.status == "failed" for t in trials),
                   "wall_seconds": max(t.finished for t in trials) - min(t.started for t in trials),
                   "top": [{"arch": space.format(Arch(t.arch)), "formula": space.formula(Arch(t.arch)),
                            "name": space.known_name(Arch(t.arch)), "valid_acc": t.metrics["valid_acc"],
                            "test_acc": t.metrics["test_acc"]} for t in top_trials(trials, "valid_acc", True, 10)]},
        "transfer": {"relu": relu_summary, **{f: {"formula": space.formula(space.parse(f)), **table[f]}
                                               for f in functions}},
        "runs": runs}
    OUT.write_text(json.dumps(document, indent=1, default=str) + "\n")
    print_summary(table, lambda f: space.formula(space.parse(f)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
