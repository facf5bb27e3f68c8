"""One table of every few-shot learner and meta-architecture x {5, 20}-way x {1, 5}-shot (issue 24).

Reads the meta-test results the other benchmarks wrote (perf/results/fewshot_baselines.json,
perf/results/meta_search_omniglot.json and the ``archsearch meta-test --json`` files under
perf/results/meta24/) and prints a markdown table: accuracy +- 95% CI over 600 meta-test episodes, parameters
and adaptation time per task; a setting not measured is marked so. Runs the commands listed in perf/README.md
("Issue 24") first.

    .venv/bin/python perf/meta_learners_table.py
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
SETTINGS = [(5, 1), (5, 5), (20, 1), (20, 5)]
LEARNERS = {  # row -> (learner, file stem under meta24/ with {w}w{s}s filled in)
    "MAML 4-conv": ("maml", "maml_{w}w{s}s"),
    "ProtoNet 4-conv": ("protonet", "protonet_{w}w{s}s"),
    "T-NAS, NB201 cells (derived task nets)": ("tnas-nb201", "tnas_nb201_{w}w{s}s"),
    "T-NAS, DARTS cells (derived task nets)": ("tnas-darts", "tnas_darts_{w}w{s}s"),
    "MetaNAS, NB201 cells (derived task nets)": ("metanas", "metanas_nb201_{w}w{s}s"),
    "searched ProtoNet embedding (DARTS cells)": ("searched-protonet", "searched_protonet_{w}w{s}s"),
    "searched ProtoNet embedding (NB201 cells, arch warm-up)": ("searched-protonet-nb201",
                                                                "searched_protonet_nb201_{w}w{s}s"),
}


def cell(result: dict | None) -> str:
    if result is None:
        return "not measured"
    acc, ci, episodes = result["mean_acc"], result["ci95"], result.get("episodes", 600)
    fewer = f", {episodes} episodes" if episodes != 600 else ""
    return f"{acc:.2f} +- {ci:.2f} ({result['params'] / 1000:.1f}k, {result['adapt_ms']:.0f} ms{fewer})"


def from_cli_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    params = data.get("derived_params_mean", data["params"])
    return {"mean_acc": 100 * data["mean_acc"], "ci95": 100 * data["ci95"], "params": params,
            "adapt_ms": 1000 * data["adapt_seconds_per_task"], "episodes": data.get("episodes", 600)}


def issue7_results() -> dict[tuple[str, int, int], dict]:
    """The 5-way rows measured for issue 7 (baselines and T-NAS on NB201 cells)."""
    found: dict[tuple[str, int, int], dict] = {}
    baselines = RESULTS / "fewshot_baselines.json"
    for row in json.loads(baselines.read_text()).get("meta_test", []) if baselines.is_file() else []:
        found[(row["learner"], row["ways"], row["shots"])] = {
            "mean_acc": 100 * row["mean_acc"], "ci95": 100 * row["ci95"], "params": row["params"],
            "adapt_ms": 1000 * row["adapt_seconds_per_task"]}
    tnas = RESULTS / "meta_search_omniglot.json"
    entry = json.loads(tnas.read_text())["results"].get("tnas", {}) if tnas.is_file() else {}
    for shots in (1, 5):
        test = entry.get(f"5way{shots}shot")
        if test:
            found[("tnas-nb201", 5, shots)] = {"mean_acc": test["mean_acc"], "ci95": test["ci95"],
                                               "params": test["derived_params_mean"],
                                               "adapt_ms": test["adapt_ms_per_task"]}
    return found


def paired_seeds(seeds: range = range(4)) -> None:
    """5-way 1-shot, the 4-conv against the NB201 searched embedding, trained and tested with the same seed
    (``meta-test --seed k``: the same training and test episodes for both), and the mean paired difference."""
    import numpy as np
    from scipy import stats

    rows = []
    for seed in seeds:
        suffix = "" if seed == 0 else f"_seed{seed}"
        conv = from_cli_json(RESULTS / "meta24" / f"protonet_5w1s_seed{seed}.json")
        searched = from_cli_json(RESULTS / "meta24" / f"searched_protonet_nb201_5w1s{suffix}.json")
        if conv and searched:
            rows.append((seed, conv["mean_acc"], searched["mean_acc"]))
    if not rows:
        return
    print("\n| training seed | ProtoNet 4-conv | searched embedding (NB201) | difference |\n|---|---|---|---|")
    for seed, conv, searched in rows:
        print(f"| {seed} | {conv:.2f} | {searched:.2f} | {searched - conv:+.2f} |")
    diff = np.array([s - c for _, c, s in rows])
    half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
    print(f"| mean of {len(rows)} | {np.mean([c for _, c, _ in rows]):.2f} | {np.mean([s for _, _, s in rows]):.2f} | "
          f"{diff.mean():+.2f} +- {half:.2f} (95% t interval) |")


def main() -> None:
    earlier = issue7_results()
    header = "| learner | " + " | ".join(f"{w}-way {s}-shot" for w, s in SETTINGS) + " |"
    print(header)
    print("|---" * (len(SETTINGS) + 1) + "|")
    for row, (key, stem) in LEARNERS.items():
        cells = []
        for ways, shots in SETTINGS:
            result = from_cli_json(RESULTS / "meta24" / (stem.format(w=ways, s=shots) + ".json"))
            cells.append(cell(result or earlier.get((key, ways, shots))))
        print(f"| {row} | " + " | ".join(cells) + " |")
    print("\naccuracy % +- 95% CI over 600 meta-test episodes unless a cell says fewer (parameters: of the tested network; for T-NAS the "
          "mean of the derived task networks where recorded; adaptation time per task, 1 thread)")
    paired_seeds()


if __name__ == "__main__":
    main()
