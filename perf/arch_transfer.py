"""Architectures that transfer: does the best arch a search finds on one dataset keep its rank on others? (issue 24,
part 5; not part of the test suite)

**NB201** (``--part nb201``): per strategy, source dataset (CIFAR-10, CIFAR-100, ImageNet16-120) and seed, one search
on the table under the protocol of perf/nb201_protocol.py (12-epoch validation objective; CIFAR-10: 12,000
simulated seconds, the paper's budget; CIFAR-100 and ImageNet16-120: 100 trials, as that script's second table);
its best arch (by the objective) is looked up on all three datasets: the percentile of its 200-epoch test accuracy
among all 15,625 cells (ties half: :mod:`archsearch.benchmarks.transfer`) on its own dataset and on the other two.
Set beside it: the whole table's Spearman / Kendall tau across each dataset pair, over all cells and over the source's
top 10 %, the top-k overlap, where the source's table optimum lands, and the percentile a search run directly on the
target reaches (same strategy, same seeds).

**nb201-mnist5k** (``--part mnist5k``): per strategy and seed, a search of the shipped table (50 trials, 10 % of it,
as issue 22's ``compare``); its best arch's percentile of test accuracy on mnist5k and on the tables of the same archs
trained with the same network and recipe on digits and mnist1d (perf/arch_transfer_tables.py), beside the tables'
rank agreement over the common archs, each table's seed-to-seed agreement (its noise ceiling), the top-k overlap and
the mnist5k top-5's percentiles.

    OMP_NUM_THREADS=1 .venv/bin/python perf/arch_transfer.py [--part nb201,mnist5k] [--seeds 30]
        [--strategies random,regularized-evolution,reinforce,local-search,bananas,bohb,hyperband]

Resumable: each run's best arch is kept in perf/results/arch_transfer.json as it lands (a rerun searches only the
missing seeds); the summaries are recomputed from the runs every time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from archsearch.benchmarks import load_benchmark  # noqa: E402
from archsearch.benchmarks.table import load_table  # noqa: E402
from archsearch.benchmarks.transfer import (disattenuated, percentile_ranks, rank_agreement, summarise_percentiles,  # noqa: E402
                                            top_k_overlap)
from archsearch.config import StudyConfig  # noqa: E402
from archsearch.spaces import space_from_config  # noqa: E402
from archsearch.store.memory import InMemoryStore  # noqa: E402
from archsearch.study import Study  # noqa: E402

OUT = ROOT / "perf" / "results" / "arch_transfer.json"
NB201_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
NB201_PROTOCOL = {"cifar10": {"budget_seconds": 12_000.0}, "cifar100": {"max_trials": 100, "budget_seconds": None},
                  "ImageNet16-120": {"max_trials": 100, "budget_seconds": None}}
NB201_TOP_K = (10, 100, 156, 1563)  # 156: the top 1 %, 1563: the top 10 % of 15,625
STRATEGIES = "random,regularized-evolution,reinforce,local-search,bananas,bohb,hyperband"
MNIST5K, MNIST5K_EPOCHS, MNIST5K_TRIALS = "nb201-mnist5k", 4.0, 50
MNIST5K_STRATEGIES = "random,regularized-evolution,local-search,bananas,hyperband"
SMALL = ("digits", "mnist1d")  # the tables of perf/arch_transfer_tables.py
SMALL_TOP_K = (5, 10, 50)  # 50: the top 10 % of 500


def search_best(config: dict[str, Any]) -> dict[str, Any]:
    """One in-memory search; its best arch (by the objective) as a mapping and string, its reported value."""
    study = Study.create(StudyConfig.from_mapping(config), InMemoryStore())
    started = time.perf_counter()
    study.run()
    best = study.best
    return {"arch": dict(best.arch.dict) if hasattr(best.arch, "dict") else dict(best.arch), "text": str(best.arch),
            "reported": study.reported_value(), "trials": len(study.trials),
            "seconds": round(time.perf_counter() - started, 3)}


def run_searches(report: dict[str, Any], key: str, configs: dict[str, dict[str, Any]], seeds: int,
                 strategies: list[str], out: Path) -> None:
    """Fill ``report["runs"][key][group][strategy][seed]`` for the missing seeds, saving after each strategy."""
    runs = report.setdefault("runs", {}).setdefault(key, {})
    for group, base in configs.items():
        for strategy in strategies:
            done = runs.setdefault(group, {}).setdefault(strategy, {})
            missing = [seed for seed in range(seeds) if str(seed) not in done]
            if not missing:
                continue
            started = time.perf_counter()
            for seed in missing:
                done[str(seed)] = search_best({**base, "strategy": strategy, "seed": seed, "name": f"s{seed}"})
            print(f"{key} {group:15s} {strategy:24s} {len(missing)} seeds in {time.perf_counter() - started:.1f} s",
                  flush=True)
            save(report, out)


def save(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")


def rounded(value: Any, digits: int = 3) -> Any:
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, float):
        return round(value, digits)
    return value


# -- NB201 ----------------------------------------------------------------------------------------------------
def nb201_columns() -> tuple[Any, dict[str, np.ndarray]]:
    table = load_benchmark("nb201")
    return table, {d: np.asarray(table.column(d, 200, "test_acc"), dtype=float) for d in NB201_DATASETS}


def nb201_table_agreement(columns: dict[str, np.ndarray]) -> dict[str, Any]:
    """Per ordered dataset pair: rank agreement over all cells and the source's top 10 %, top-k overlaps, and
    where the source's optimum and its top 1 % land on the target (percentiles)."""
    ranks = {d: percentile_ranks(c) for d, c in columns.items()}
    out: dict[str, Any] = {}
    for source in NB201_DATASETS:
        top10 = ranks[source] >= 90.0
        top1 = ranks[source] >= 99.0
        for target in NB201_DATASETS:
            if target == source:
                continue
            out[f"{source}->{target}"] = rounded({
                "all": rank_agreement(columns[source], columns[target]),
                "source_top10pct": rank_agreement(columns[source][top10], columns[target][top10]),
                "top_k_overlap": {str(k): top_k_overlap(columns[source], columns[target], k) for k in NB201_TOP_K},
                "source_optimum_pct_on_target": float(ranks[target][int(np.nanargmax(columns[source]))]),
                "source_top1pct_on_target": summarise_percentiles(ranks[target][top1].tolist())}, 4)
    return out


def nb201_transfer(report: dict[str, Any], strategies: list[str]) -> dict[str, Any]:
    """Per strategy and source: the found archs' percentiles on the source and on each target, and a direct
    search's percentile on the target (the same strategy run there)."""
    table, columns = nb201_columns()
    ranks = {d: percentile_ranks(c) for d, c in columns.items()}
    runs = report["runs"]["nb201"]
    out: dict[str, Any] = {}
    for strategy in strategies:
        for source in NB201_DATASETS:
            found = [table.index_of(run["arch"]) for run in runs[source][strategy].values()]
            entry: dict[str, Any] = {"seeds": len(found), "distinct_archs": len(set(found)),
                                     "own": summarise_percentiles(ranks[source][found].tolist())}
            for target in NB201_DATASETS:
                if target != source:
                    direct = [table.index_of(run["arch"]) for run in runs[target][strategy].values()]
                    entry[target] = {"transferred": summarise_percentiles(ranks[target][found].tolist()),
                                     "direct": summarise_percentiles(ranks[target][direct].tolist()),
                                     "transferred_test_acc": float(np.mean(columns[target][found])),
                                     "direct_test_acc": float(np.mean(columns[target][direct]))}
            out.setdefault(strategy, {})[source] = rounded(entry)
    return out


def nb201_part(report: dict[str, Any], seeds: int, strategies: list[str], out: Path) -> None:
    configs = {d: {"benchmark": "nb201", "space": "nb201", "dataset": d, "fidelity": 12, **NB201_PROTOCOL[d]}
               for d in NB201_DATASETS}
    run_searches(report, "nb201", configs, seeds, strategies, out)
    _, columns = nb201_columns()
    table = load_benchmark("nb201")
    params = np.asarray(table.column("cifar10", 200, "params"), dtype=float)  # the cells' order of size
    report["nb201"] = {"protocol": {d: {"fidelity": 12, **NB201_PROTOCOL[d]} for d in NB201_DATASETS},
                       "spearman_given_params": partial_given_params(
                           {f"{d}_s0": c for d, c in columns.items()}, params),
                       "agreement_with_params": {
                           d: rounded(rank_agreement(table.column(d, 200, "params"), c), 4) for d, c in columns.items()},
                       "metric": "200-epoch test accuracy; percentile among all 15,625 cells, ties half",
                       "seeds": seeds, "table": nb201_table_agreement(columns),
                       "strategies": nb201_transfer(report, strategies)}
    save(report, out)


# -- nb201-mnist5k and the small tables ----------------------------------------------------------------------
def small_tables() -> dict[str, tuple[Any, str]]:
    """Every table of perf/arch_transfer_tables.py there is: name -> (table, dataset)."""
    tables = {}
    for dataset in SMALL:
        for seed in (0, 1):
            path = ROOT / "perf" / "results" / f"arch_transfer_{dataset}_s{seed}.parquet"
            if path.is_file():
                tables[f"{dataset}_s{seed}"] = (load_table(path), dataset)
    return tables


def aligned_columns(metric: str) -> tuple[Any, dict[str, np.ndarray]]:
    """The mnist5k table and every column aligned with its archs (nan where a table lacks the arch)."""
    source = load_benchmark(MNIST5K)
    archs = [source.arch_at(i) for i in range(len(source))]
    columns = {"mnist5k_s0": np.asarray(source.column("mnist5k", MNIST5K_EPOCHS, metric), dtype=float),
               "mnist5k_s1": np.asarray(source.column("mnist5k", MNIST5K_EPOCHS, f"{metric}_seed1"), dtype=float)}
    for name, (table, dataset) in small_tables().items():
        fidelity = table.fidelities(dataset)[0]
        values = np.asarray(table.column(dataset, fidelity, metric), dtype=float)
        index = {table.arch_at(i).key(): i for i in range(len(table))}
        columns[name] = np.array([values[index[a.key()]] if a.key() in index else np.nan for a in archs])
    return source, columns


def with_means(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``columns`` and, per dataset with two seeds, their mean (``<dataset>_mean``: a less noisy ground truth)."""
    out = dict(columns)
    for name in [n for n in columns if n.endswith("_s0")]:
        second = name[:-1] + "1"
        if second in columns:
            out[name[:-3] + "_mean"] = (columns[name] + columns[second]) / 2.0
    return out


def small_agreement(columns: dict[str, np.ndarray]) -> dict[str, Any]:
    names = list(columns)
    out: dict[str, Any] = {}
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            same = first.rsplit("_", 1)[0] == second.rsplit("_", 1)[0]
            if same and {first[-3:], second[-3:]} != {"_s0", "_s1"}:
                continue  # a seed against the mean of the seeds it is part of
            entry = rank_agreement(columns[first], columns[second])
            if first.endswith("_s0") and second.endswith("_s0"):
                entry["top_k_overlap"] = {str(k): top_k_overlap(columns[first], columns[second], k) for k in SMALL_TOP_K}
            out[f"{first}~{second}"] = rounded(entry, 4)
    return out


def common(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``columns`` with nan wherever any column lacks the arch (every pair then ranks the same archs)."""
    mask = np.logical_and.reduce([np.isfinite(c) for c in columns.values()])
    return {name: np.where(mask, column, np.nan) for name, column in columns.items()}


def corrected(columns: dict[str, np.ndarray]) -> dict[str, Any]:
    """Spearman between the first seeds of two datasets with both seeds, corrected for each one's seed-to-seed
    Spearman (:func:`disattenuated`), over all archs each pair has and over the archs all columns have."""
    out: dict[str, Any] = {}
    doubled = [n[:-3] for n in columns if n.endswith("_s0") and n[:-1] + "1" in columns]
    for label, cols in (("all", columns), ("common", common(columns))):
        for i, first in enumerate(doubled):
            for second in doubled[i + 1:]:
                r_xy = rank_agreement(cols[f"{first}_s0"], cols[f"{second}_s0"])["spearman"]
                r_xx = rank_agreement(cols[f"{first}_s0"], cols[f"{first}_s1"])["spearman"]
                r_yy = rank_agreement(cols[f"{second}_s0"], cols[f"{second}_s1"])["spearman"]
                out[f"{first}~{second} ({label})"] = rounded({"spearman": r_xy, "reliability_" + first: r_xx,
                                                             "reliability_" + second: r_yy,
                                                             "disattenuated": disattenuated(r_xy, r_xx, r_yy)}, 4)
    return out


def partial_given_params(columns: dict[str, np.ndarray], params: np.ndarray) -> dict[str, float]:
    """Spearman between two datasets' first seeds with the size (params) partialled out: what the tables share
    beyond "larger cells are better" (the partial correlation of the ranks)."""
    out = {}
    names = [n for n in columns if n.endswith("_s0")]
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            r_xy = rank_agreement(columns[first], columns[second])["spearman"]
            r_xz = rank_agreement(columns[first], params)["spearman"]
            r_yz = rank_agreement(columns[second], params)["spearman"]
            out[f"{first}~{second}"] = round((r_xy - r_xz * r_yz) / np.sqrt((1 - r_xz**2) * (1 - r_yz**2)), 4)
    return out


def small_transfer(report: dict[str, Any], strategies: list[str], source: Any,
                   columns: dict[str, np.ndarray], valid: np.ndarray) -> dict[str, Any]:
    """Percentiles (among each table's archs) on mnist5k, digits and mnist1d of each strategy's found archs and of
    the mnist5k top 5 (by test accuracy)."""
    targets = [name for name in columns if name.endswith("_s0")] + ["mnist5k_s1"]  # s1: the same data, other seeds
    ranks = {name: percentile_ranks(columns[name]) for name in targets}
    valid_ranks = percentile_ranks(valid)  # the objective the searches maximised
    top5 = [int(i) for i in np.lexsort((np.arange(columns["mnist5k_s0"].size), -columns["mnist5k_s0"]))[:5]]
    space = space_from_config(StudyConfig.from_mapping({"space": "nb201"}))
    out: dict[str, Any] = {"mnist5k_top5": [
        {"arch": space.format(source.arch_at(i)), **{name: round(float(ranks[name][i]), 1) for name in targets},
         **{f"{name}_test_acc": round(float(columns[name][i]), 2) for name in targets}} for i in top5]}
    runs = report["runs"]["mnist5k"]["mnist5k"]
    for strategy in strategies:
        found = [source.index_of(run["arch"]) for run in runs[strategy].values()]
        out[strategy] = rounded({"seeds": len(found), "distinct_archs": len(set(found)),
                                 "mnist5k_s0_valid": summarise_percentiles(valid_ranks[found].tolist()),
                                 **{name: summarise_percentiles(ranks[name][found].tolist()) for name in targets}}, 2)
    return out


def mnist5k_part(report: dict[str, Any], seeds: int, strategies: list[str], out: Path) -> None:
    configs = {"mnist5k": {"benchmark": MNIST5K, "space": "nb201", "dataset": "mnist5k", "max_trials": MNIST5K_TRIALS,
                           "budget_seconds": None}}
    run_searches(report, "mnist5k", configs, seeds, strategies, out)
    source, columns = aligned_columns("test_acc")
    _, valid = aligned_columns("valid_acc")
    params = np.asarray(source.column("mnist5k", MNIST5K_EPOCHS, "params"), dtype=float)  # the same net everywhere
    report["mnist5k"] = {"protocol": {"benchmark": MNIST5K, "max_trials": MNIST5K_TRIALS, "seeds": seeds,
                                      "objective": "valid_acc", "metric": "test_acc (4 epochs), percentile among the "
                                      "archs of each table, ties half"},
                         "archs": {name: int(np.isfinite(c).sum()) for name, c in columns.items()},
                         "agreement_test_acc": small_agreement(with_means(columns)),
                         "agreement_valid_acc": small_agreement(with_means(valid)),
                         "agreement_with_params": {name: rounded(rank_agreement(params, column), 4)
                                                   for name, column in with_means(columns).items()},
                         "agreement_test_acc_common": small_agreement(common(columns)),
                         "disattenuated_spearman": corrected(columns),
                         "spearman_given_params": partial_given_params(columns, params),
                         "strategies": small_transfer(report, strategies, source, columns, valid["mnist5k_s0"])}
    save(report, out)


# -- printing (the tables of perf/README.md) ----------------------------------------------------------------
def print_summary(report: dict[str, Any]) -> None:
    if "nb201" in report:
        print("\n| pair | Spearman | Kendall tau | tau in source's top 10 % | top-10 / top-100 / top-1 % overlap "
              "| source optimum's pct on target |\n|---|---|---|---|---|---|")
        for pair, entry in report["nb201"]["table"].items():
            overlap = " / ".join(f"{entry['top_k_overlap'][str(k)]:.2f}" for k in NB201_TOP_K[:3])
            print(f"| {pair} | {entry['all']['spearman']:.3f} | {entry['all']['kendall_tau']:.3f} | "
                  f"{entry['source_top10pct']['kendall_tau']:.3f} | {overlap} | {entry['source_optimum_pct_on_target']:.2f} |")
        print("\n| strategy | source | own pct | target: transferred pct / direct search pct (medians; mean test acc) |"
              "\n|---|---|---|---|")
        for strategy, sources in report["nb201"]["strategies"].items():
            for source, entry in sources.items():
                cells = [f"{t}: {e['transferred']['median']:.2f} (min {e['transferred']['min']:.1f}) / "
                         f"{e['direct']['median']:.2f}; {e['transferred_test_acc']:.2f} / {e['direct_test_acc']:.2f}"
                         for t, e in entry.items() if isinstance(e, dict) and "transferred" in e]
                print(f"| {strategy} | {source} | {entry['own']['median']:.2f} (min {entry['own']['min']:.1f}) | "
                      f"{'; '.join(cells)} |")
    if "mnist5k" in report:
        part = report["mnist5k"]
        print(f"\narchs per column: {part['archs']}\n\n| pair | archs | Spearman | Kendall tau | top-5 / 10 / 50 overlap |"
              "\n|---|---|---|---|---|")
        print("agreement with params:", {n: e["spearman"] for n, e in part["agreement_with_params"].items()})
        for pair, entry in part["agreement_test_acc"].items():
            overlap = " / ".join(f"{v:.2f}" for v in entry.get("top_k_overlap", {}).values()) or "-"
            print(f"| {pair} | {entry['archs']} | {entry['spearman']:.3f} | {entry['kendall_tau']:.3f} | {overlap} |")
        print("common archs:", {p: (e["spearman"], e["kendall_tau"]) for p, e in part["agreement_test_acc_common"].items()})
        print("disattenuated:", json.dumps(part["disattenuated_spearman"]))
        print("given params:", json.dumps(part["spearman_given_params"]))
        print("\n| found on mnist5k | mnist5k valid | " + " | ".join(
            n for n in part["archs"] if n.endswith("_s0")) + " | mnist5k_s1 |")
        for name, entry in part["strategies"].items():
            if name == "mnist5k_top5":
                for row in entry:
                    arch = row["arch"].replace("|", "\\|")
                    print(f"| top-5 `{arch}` | - | " + " | ".join(
                        f"{v}" for k, v in row.items() if k.endswith("_s0") or k.endswith("_s1")) + " |")
                continue
            print(f"| {name} ({entry['distinct_archs']} archs) | " + " | ".join(
                f"{v['median']:.1f} (mean {v['mean']:.1f}, min {v['min']:.1f})"
                for k, v in entry.items() if isinstance(v, dict)) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="nb201,mnist5k")
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--strategies", default=STRATEGIES, help="NB201 strategies, comma-separated")
    parser.add_argument("--mnist5k-strategies", default=MNIST5K_STRATEGIES)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    out = Path(args.out)
    report = json.loads(out.read_text()) if out.is_file() else {}
    parts = {p.strip() for p in args.part.split(",")}
    if "nb201" in parts:
        nb201_part(report, args.seeds, [s for s in args.strategies.split(",") if s], out)
    if "mnist5k" in parts:
        mnist5k_part(report, args.seeds, [s for s in args.mnist5k_strategies.split(",") if s], out)
    print_summary(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
