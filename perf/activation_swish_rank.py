"""Where Swish stands among all 6,561 one-unit activation functions (issue 23, part 2).

Reads the shipped ``activation-mnist1d`` table (every function in the MLP child on MNIST-1D, 3 epochs, 2 seeds)
and reports the rank and percentile, by the mean validation and test accuracy over the seeds, of

- the paper's top one-unit functions (Ramachandran, Zoph & Le 2017, Table 1, those one core unit expresses):
  x * sigmoid(beta x) (Swish), max(x, sigmoid(x)), cos(x) - x, min(x, sin(x)), max(x, tanh(x)), sinc(x) + x,
  and x * sigmoid(x) (Swish-1 / SiLU);
- every function of the space that computes ReLU exactly (``known_name``);
- ReLU, Swish, GELU and ELU as modules (GELU and ELU are not one core unit), trained with the very same
  estimator, seeds and batches as the table's rows, placed in the table's distribution.

The top 20 functions are plotted beside ReLU (dashed), with Swish as the last panel.

Then, because Swish's advantage in the paper grew with depth and training length, the table's top 10, Swish, GELU
and ReLU are compared on other MLP children (``CHILDREN``: the table's own at 3 epochs, 10 epochs, and 6 hidden
layers at 10 epochs), 5 paired seeds each (``archsearch activation-eval`` of each set), with the paired t-test
against ReLU Holm-adjusted over the functions.

    .venv/bin/python perf/activation_swish_rank.py

Writes perf/results/activation_swish_rank.json and activation_top20.png.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from archsearch.activation_study import prepare_evaluation, table_functions  # noqa: E402
from archsearch.benchmarks import load_benchmark  # noqa: E402
from archsearch.estimators.activation import ActivationEstimator  # noqa: E402
from archsearch.report.diagrams import activation_curves  # noqa: E402
from archsearch.spaces.activation import ActivationSpace  # noqa: E402

BENCHMARK, DATASET, FIDELITY, SEEDS = "activation-mnist1d", "mnist1d", 3, 2
PAPER = {"x * sigmoid(beta x) (Swish)": "sigmoid_mul(beta_mul(x), x(x))",
         "x * sigmoid(x) (Swish-1)": "sigmoid_mul(x(x), x(x))", "max(x, sigmoid(x))": "max(x(x), sigmoid(x))",
         "cos(x) - x": "sub(cos(x), x(x))", "min(x, sin(x))": "min(x(x), sin(x))",
         "max(x, tanh(x))": "max(x(x), tanh(x))", "sinc(x) + x": "add(sinc(x), x(x))"}
MODULES = ("relu", "swish", "gelu", "elu")
CHILDREN = {"table child (2 hidden layers, 3 epochs)": (3.0, {}), "2 hidden layers, 10 epochs": (10.0, {}),
            "6 hidden layers, 10 epochs": (10.0, {"net": {"layers": 6}})}
CHILD_SEEDS = 5
RESULTS = ROOT / "perf" / "results"


def place(value: float, column: np.ndarray) -> dict[str, float]:
    """Rank (1 = best) and percentile (share of candidates strictly worse, %) of ``value`` in ``column``."""
    return {"value": value, "rank": int((column > value).sum()) + 1,
            "percentile": float(100.0 * (column < value).mean())}


def placed(values: dict[str, float], columns: dict[str, np.ndarray]) -> dict[str, Any]:
    return {metric: place(values[metric], columns[metric]) for metric in columns if math.isfinite(values[metric])}


def module_runs() -> dict[str, dict[str, float]]:
    """Each module's mean accuracies over the table's seeds, trained as the table's rows were (one thread)."""
    torch.set_num_threads(1)
    space = ActivationSpace()
    out = {}
    for name in MODULES:
        runs = [ActivationEstimator(space, DATASET, epochs=float(FIDELITY), seed=seed).evaluate_function(name, seed)
                for seed in range(SEEDS)]
        out[name] = {"valid_acc_mean": float(np.mean([r.metric("valid_acc") for r in runs])),
                     "test_acc_mean": float(np.mean([r.metric("test_acc") for r in runs]))}
    return out


def children_comparison() -> dict[str, Any]:
    """The table's top 10 with Swish, GELU and ReLU on each of ``CHILDREN`` (mean test accuracy, vs ReLU)."""
    _, top = table_functions(BENCHMARK, 10)
    out = {}
    for label, (epochs, options) in CHILDREN.items():
        evaluation = prepare_evaluation(top, dataset=DATASET, seeds=CHILD_SEEDS, epochs=epochs,
                                        baselines=("relu", "swish", "gelu"), options=options)
        table = evaluation.run()
        ranked = sorted(table, key=lambda f: -table[f]["test_mean"])
        out[label] = {f: {"label": evaluation.label(f), "rank_in_set": ranked.index(f) + 1, **table[f]} for f in table}
        print(f"{label}: " + ", ".join(f"{evaluation.label(f)[:28]} {table[f]['test_mean']:.1f}" for f in ranked[:5]),
              flush=True)
    return out


def main() -> int:
    table = load_benchmark(BENCHMARK)
    space = ActivationSpace()
    columns_all = {m: table.column(DATASET, FIDELITY, m) for m in ("valid_acc_mean", "test_acc_mean")}
    ok = np.isfinite(columns_all["valid_acc_mean"])
    columns = {m: c[ok] for m, c in columns_all.items()}

    def row_values(arch_text: str) -> dict[str, float]:
        index = table.index_of(space.parse(arch_text))
        return {m: float(c[index]) for m, c in columns_all.items()}

    paper = {label: {"arch": text, **placed(row_values(text), columns)} for label, text in PAPER.items()}
    relu_archs = [space.format(table.arch_at(i)) for i in range(len(table))
                  if ok[i] and space.known_name(table.arch_at(i)) == "ReLU"]
    relu_in_space = {text: placed(row_values(text), columns) for text in relu_archs}
    modules = {name: placed(values, columns) for name, values in module_runs().items()}
    order = np.argsort(-columns_all["valid_acc_mean"], kind="stable")[:20]
    top = [{"rank": k + 1, "arch": space.format(table.arch_at(int(i))), "formula": space.formula(table.arch_at(int(i))),
            "name": space.known_name(table.arch_at(int(i))), **{m: float(c[i]) for m, c in columns_all.items()}}
           for k, i in enumerate(order)]
    summary = {"candidates_ok": int(ok.sum()), "candidates": len(table), "paper_functions": paper,
               "relu_in_space": relu_in_space, "modules": modules, "top20": top,
               "median": {m: float(np.median(c)) for m, c in columns.items()}}
    (RESULTS / "activation_swish_rank.json").write_text(json.dumps(summary, indent=1) + "\n")
    summary["children"] = children_comparison()
    (RESULTS / "activation_swish_rank.json").write_text(json.dumps(summary, indent=1) + "\n")
    archs = [table.arch_at(int(i)) for i in order] + [space.parse(PAPER["x * sigmoid(beta x) (Swish)"])]
    swish_rank = paper["x * sigmoid(beta x) (Swish)"]["valid_acc_mean"]["rank"]
    labels = [f"#{t['rank']} {t['valid_acc_mean']:.1f}%" for t in top] + [f"Swish: #{swish_rank}"]
    activation_curves(space, archs, labels).savefig(RESULTS / "activation_top20.png", dpi=90)
    for label, entry in {**paper, **{f"module {k}": v for k, v in modules.items()}}.items():
        valid = entry.get("valid_acc_mean", {})
        print(f"{label:34s} valid {valid.get('value', math.nan):6.2f}  rank {valid.get('rank')}  "
              f"percentile {valid.get('percentile', math.nan):5.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
