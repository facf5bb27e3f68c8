"""The NAS-Bench-301 surrogate (estimator ``nb301``) at a glance (not part of the test suite).

(1) The predicted 98-epoch validation accuracy of DARTS-V2 (and DARTS-V1, GDAS) against ``--cells`` random
cells of NAS-Bench-301's space (``darts`` without ``none``, seeded): median, quartiles, max, and the published
cells' percentiles. (2) DARTS-V2's prediction and simulated cost at a few epochs. (3) The encoding check:
swapping two independent nodes (3 and 4) gives the same network, so the right column order should predict
nearly the same for both; compared with the sorted key order of ``encoding_v2.json`` (a plausible mistake).
(4) Milliseconds per query: ``evaluate`` one arch at a time, and ``predict`` in one batch. (5) Optionally
(``--seeds N``) random search vs regularized evolution, ``--trials`` trials each, 98 epochs.

Siems et al. 2020 (NAS-Bench-301); Pfisterer et al. 2022 (YAHPO Gym surrogate ``nb301`` v2).

    .venv/bin/python perf/nb301_surrogate.py [--cells 100] [--seed 0] [--seeds 10] [--trials 100]

Writes perf/results/nb301_surrogate.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from archsearch.core.arch import Arch
from archsearch.estimators.nb301 import NB301Estimator, encode, surrogate_spec
from archsearch.spaces.darts import DARTS_V1, DARTS_V2, GDAS, DartsSpace

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "nb301_surrogate.json"
PUBLISHED = {"DARTS-V2": DARTS_V2, "DARTS-V1": DARTS_V1, "GDAS": GDAS}
EPOCHS = (1, 4, 11, 33, 50, 98)
TIMED_QUERIES = 2000
SPACE = DartsSpace(none_op=False)


def accuracy(estimator: NB301Estimator, arch: Arch, epochs: int | None = None) -> float:
    return estimator.evaluate(arch, epochs).metrics["valid_acc"]


def published_vs_random(estimator: NB301Estimator, cells: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    scores = np.array([accuracy(estimator, SPACE.sample(rng)) for _ in range(cells)])
    q1, median, q3 = np.percentile(scores, [25, 50, 75])
    out: dict[str, Any] = {"cells": cells, "seed": seed, "median": median, "q1": q1, "q3": q3,
                           "min": scores.min(), "max": scores.max(), "published": {}}
    for name, genotype in PUBLISHED.items():
        value = accuracy(estimator, SPACE.parse(genotype))
        out["published"][name] = {"valid_acc": value, "percentile": 100.0 * float((scores < value).mean())}
    return out


def over_epochs(estimator: NB301Estimator) -> list[dict[str, float]]:
    arch = SPACE.parse(DARTS_V2)
    rows = []
    for epochs in EPOCHS:
        result = estimator.evaluate(arch, epochs)
        rows.append({"epochs": epochs, "valid_acc": result.metrics["valid_acc"],
                     "valid_loss": result.metrics["valid_loss"], "train_seconds": result.cost_seconds})
    return rows


def swap_nodes_3_4(arch: Arch, cell: str) -> Arch:
    """The same cell with nodes 3 and 4 exchanged (valid when node 3 reads {0,1} and node 4 reads {0,1,2})."""
    rename = {3: 4, 4: 3}
    choices = dict(arch)
    for node in (3, 4):
        for part in ("input", "op"):
            for slot in (0, 1):
                choices[f"{cell}_node{rename[node]}_{part}{slot}"] = arch[f"{cell}_node{node}_{part}{slot}"]
    for slot in (0, 1):
        source = arch[f"{cell}_node5_input{slot}"]
        choices[f"{cell}_node5_input{slot}"] = rename.get(source, source)
    return Arch({name: choices[name] for name in SPACE.dims()})


def encoding_check(estimator: NB301Estimator, pairs: int, seed: int) -> dict[str, float]:
    """Correlation of predictions for isomorphic cell pairs, in our column order and in sorted key order."""
    rng, spec = np.random.default_rng(seed), surrogate_spec()
    first, second = [], []
    while len(first) < pairs:
        arch = SPACE.sample(rng)
        if {arch["normal_node3_input0"], arch["normal_node3_input1"]} <= {0, 1} \
                and 3 not in (arch["normal_node4_input0"], arch["normal_node4_input1"]):
            first.append(encode(arch))
            second.append(encode(swap_nodes_3_4(arch, "normal")))
    sorted_order = [spec.columns.index(name) for name in sorted(spec.columns)]
    out = {}
    for label, order in (("trained_order", list(range(len(spec.columns)))), ("sorted_key_order", sorted_order)):
        a = estimator.predict(np.stack(first)[:, order], 98)[:, 0]
        b = estimator.predict(np.stack(second)[:, order], 98)[:, 0]
        out[label] = float(np.corrcoef(a, b)[0, 1])
    return out


def query_speed(estimator: NB301Estimator, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    archs = [SPACE.sample(rng) for _ in range(TIMED_QUERIES)]
    estimator.evaluate(archs[0])  # the session
    started = time.perf_counter()
    for arch in archs:
        estimator.evaluate(arch)
    single = (time.perf_counter() - started) / len(archs)
    rows = np.stack([encode(arch) for arch in archs])
    started = time.perf_counter()
    estimator.predict(rows, 98)
    batch = (time.perf_counter() - started) / len(archs)
    return {"evaluate_ms": 1e3 * single, "batch_predict_ms_per_arch": 1e3 * batch, "queries": TIMED_QUERIES}


def search_quality(seeds: int, trials: int) -> dict[str, Any]:
    from archsearch.compare import compare_strategies
    from archsearch.config import StudyConfig

    base = StudyConfig.from_mapping({"estimator": "nb301", "max_trials": trials})
    base.finish_budget()  # the nb301 defaults (space darts without none, 98 epochs), before the copies per strategy
    results = compare_strategies(base, ["random", "regularized-evolution"], seeds)
    return {name: {"mean": r["mean"], "std": r["std"], "max": max(r["final_test"]), "wall_seconds": r["wall_seconds"]}
            for name, r in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=0, help="search seeds per strategy (0: no search)")
    parser.add_argument("--trials", type=int, default=100)
    args = parser.parse_args()
    estimator = NB301Estimator()
    results: dict[str, Any] = {"machine": platform.platform(), "date": time.strftime("%Y-%m-%d"),
                               "random": published_vs_random(estimator, args.cells, args.seed),
                               "epochs": over_epochs(estimator), "encoding_check": encoding_check(estimator, 500, 1),
                               "speed": query_speed(estimator, 2)}
    if args.seeds:
        results["search"] = search_quality(args.seeds, args.trials)
    report(results)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, default=float) + "\n")


def report(results: dict[str, Any]) -> None:
    r = results["random"]
    print(f"{r['cells']} random cells (seed {r['seed']}), valid_acc at 98 epochs: median {r['median']:.2f}, "
          f"quartiles {r['q1']:.2f} / {r['q3']:.2f}, min {r['min']:.2f}, max {r['max']:.2f}")
    for name, p in r["published"].items():
        print(f"  {name:9s} {p['valid_acc']:.2f}  (above {p['percentile']:.0f}% of the random cells)")
    print("DARTS-V2 over epochs: " + ", ".join(
        f"{row['epochs']}: {row['valid_acc']:.2f}% / {row['train_seconds']:.0f} s" for row in results["epochs"]))
    check = results["encoding_check"]
    print(f"isomorphic-pair correlation: trained column order {check['trained_order']:.3f}, "
          f"sorted key order {check['sorted_key_order']:.3f}")
    speed = results["speed"]
    print(f"{speed['evaluate_ms']:.3f} ms per evaluate, "
          f"{speed['batch_predict_ms_per_arch']:.4f} ms per arch in a batch")
    for name, s in results.get("search", {}).items():
        print(f"search {name}: {s['mean']:.2f} +- {s['std']:.2f} (max {s['max']:.2f}), {s['wall_seconds']:.1f} s")


if __name__ == "__main__":
    main()
