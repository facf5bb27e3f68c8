"""Activation-function search, then an honest evaluation (issue 8; not part of the test suite).

1. ``archsearch activation-search``: REINFORCE (the paper's controller) over the one-unit ``activation`` space
   (6,561 functions) on MNIST-1D with the MLP child, ``--trials`` candidates of ``--epochs`` epochs each.
2. ``archsearch activation-eval`` of the search's top 5 against ReLU, Swish and GELU on **another dataset**
   (mnist5k, the small pre-activation ResNet child), ``--seeds`` seeds each (paired: same initial weights and
   batches per seed), mean +- std and a paired t-test against ReLU.
3. Whether a Swish-like function (x * sigmoid(beta x), x * sigmoid(x), or within 5% RMSE of x * sigmoid(c x))
   is among the search's top 10.

    .venv/bin/python perf/activation_search.py [--trials 200] [--epochs 3] [--seeds 5] [--eval-epochs 3]

Writes perf/results/activation_search.json and perf/results/activation_search_top.png.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from archsearch.activation_study import objective_of, top_trials
from archsearch.cli.main import main as archsearch
from archsearch.core.arch import Arch
from archsearch.nn.activation import SWISH_NAMES
from archsearch.spaces.activation import ActivationSpace
from archsearch.store.sqlite import SQLiteStore

RESULTS = Path(__file__).parent / "results"


def run(argv: list[str]) -> None:
    print("$ archsearch " + " ".join(argv), flush=True)
    code = archsearch(argv)
    if code != 0:
        raise SystemExit(f"archsearch exited with {code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--strategy", default="reinforce")
    parser.add_argument("--search-dataset", default="mnist1d")
    parser.add_argument("--eval-dataset", default="mnist5k")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--eval-epochs", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", default=str(Path(tempfile.gettempdir()) / "activation_search.db"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(exist_ok=True)
    name = f"act-{args.strategy}-{args.search_dataset}-s{args.seed}"
    started = time.time()
    store = SQLiteStore(args.store, create=True)
    try:
        exists = name in {e.name for e in store.experiments()}
    finally:
        store.close()
    if not exists:  # re-running the script re-uses a finished search
        run(["activation-search", "--strategy", args.strategy, "--dataset", args.search_dataset, "--max-trials",
             str(args.trials), "--seed", str(args.seed), "--set", f"estimator.epochs={args.epochs}", "--store",
             args.store, "--name", name, "--top", "10", "--plot", str(RESULTS / "activation_search_top.png"),
             "--quiet"])
    search_seconds = time.time() - started
    store = SQLiteStore(args.store, create=False)
    try:
        experiment = store.get_experiment(name)
        trials = store.trials(experiment.id)
    finally:
        store.close()
    space = ActivationSpace()
    metric, maximise = objective_of(experiment.config)
    top10 = top_trials(trials, metric, maximise, 10)
    named = [{"rank": i + 1, "arch": space.format(Arch(t.arch)), "formula": space.formula(Arch(t.arch)),
              "name": space.known_name(Arch(t.arch)), "valid_acc": t.metrics.get("valid_acc"),
              "test_acc": t.metrics.get("test_acc")} for i, t in enumerate(top10)]
    swish_like = [entry for entry in named if entry["name"] in SWISH_NAMES]
    distinct = len({Arch(t.arch).key() for t in trials})
    failed = sum(t.status == "failed" for t in trials)
    guard = sum(t.status == "failed" and (t.error or "").startswith("numerical guard") for t in trials)
    eval_json = RESULTS / "activation_eval.json"
    started = time.time()
    run(["activation-eval", "--from-study", name, "--store", args.store, "--top", "5", "--dataset", args.eval_dataset,
         "--seeds", str(args.seeds), "--epochs", str(args.eval_epochs), "--json", str(eval_json)])
    evaluation = json.loads(eval_json.read_text())
    report = {"search": {"strategy": args.strategy, "dataset": args.search_dataset, "trials": len(trials),
                         "distinct_functions": distinct, "failed": failed, "rejected_by_guard": guard,
                         "epochs": args.epochs, "wall_seconds": search_seconds, "top10": named,
                         "swish_like_in_top10": swish_like},
              "evaluation": {"dataset": args.eval_dataset, "seeds": args.seeds, "epochs": args.eval_epochs,
                             "wall_seconds": time.time() - started, "functions": {
                                 f: {k: v for k, v in entry.items() if k != "runs"}
                                 for f, entry in evaluation["functions"].items()}},
              "threads": args.threads}
    (RESULTS / "activation_search.json").write_text(json.dumps(report, indent=1, default=str))
    print(f"search: {len(trials)} candidates ({distinct} distinct, {failed} failed, {guard} by the guard) in "
          f"{search_seconds:.0f} s; Swish-like in the top 10: "
          + (", ".join(f"#{e['rank']} {e['formula']} ({e['name']})" for e in swish_like) or "none"))
    print(f"wrote {RESULTS / 'activation_search.json'}")


if __name__ == "__main__":
    main()
