"""The subcommands end to end (in-process): search, show, resume, compare, evaluate, list, config files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archsearch.cli.main import main
from archsearch.spaces.nb201 import NB201Space
from tests.cli.conftest import RESNET_CELL
from tests.conftest import search_and_show, shown


def test_default_search_says_what_it_did(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["search", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "regularized-evolution on nb201" in out and "budget 12,000 s" in out
    assert "best arch:" in out and "final_test_acc" in out and "runs.db" in out
    assert (tmp_path / "runs.db").exists()


def test_search_then_show_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    document = search_and_show(tmp_path / "runs.db", "demo", "--strategy", "random", "--max-trials", "15",
                               "--seed", "2", capsys=capsys)
    assert {"name", "space", "strategy", "seed", "status", "trials", "best"} <= set(document)
    assert document["name"] == "demo" and document["strategy"] == "random" and document["seed"] == 2
    assert document["status"] == "finished" and len(document["trials"]) == 15
    trial = document["trials"][0]
    assert {"arch", "fidelity", "metrics", "cost", "status"} <= set(trial)
    NB201Space().parse(trial["arch"])  # the NB201 string parses back
    best_value = max(t["metrics"]["valid_acc"] for t in document["trials"])
    assert document["best"]["metrics"]["valid_acc"] == best_value


def test_show_text_lists_trials_and_best(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = str(tmp_path / "runs.db")
    main(["search", "--max-trials", "30", "--store", store, "--name", "demo", "--quiet"])
    capsys.readouterr()
    assert main(["show", "demo", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "trials: 30" in out and "last 20 trials" in out and "best arch:" in out
    assert main(["show", "--store", store]) == 0
    assert "demo" in capsys.readouterr().out


def test_config_file_flags_and_set_overrides(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = tmp_path / "exp.yaml"
    config.write_text("strategy: {name: regularized-evolution, population_size: 4, sample_size: 2}\n"
                      "dataset: cifar100\nmax_trials: 9\nseed: 3\n")
    document = search_and_show(tmp_path / "runs.db", "cfg", "--config", str(config), "--set",
                               "strategy.population_size=5", "--seed", "4", capsys=capsys)
    assert document["config"]["strategy_options"] == {"population_size": 5, "sample_size": 2}
    assert document["config"]["dataset"] == "cifar100" and document["seed"] == 4
    assert len(document["trials"]) == 9 and document["config"]["budget_seconds"] is None


def test_resume_of_a_finished_search_adds_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = str(tmp_path / "runs.db")
    main(["search", "--max-trials", "8", "--store", store, "--name", "demo", "--quiet"])
    assert main(["resume", "demo", "--store", store, "--quiet"]) == 0
    assert "finished 'demo': 8 trials" in capsys.readouterr().out


def test_compare_writes_the_documented_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out.json"
    assert main(["compare", "--benchmark", "nb201", "--dataset", "cifar10", "--strategies",
                 "random,regularized-evolution", "--seeds", "3", "--fidelity", "12", "--budget-seconds", "3000",
                 "--json", str(out)]) == 0
    document = json.loads(out.read_text())
    assert {"benchmark", "dataset", "fidelity", "budget_seconds", "max_trials", "results"} <= set(document)
    assert document["budget_seconds"] == 3000 and document["max_trials"] is None
    for name in ("random", "regularized-evolution"):
        summary = document["results"][name]
        values = summary["final_test"]
        assert len(values) == 3 and 93.0 < summary["mean"] < 94.38  # reported 200-epoch test accuracy
        assert summary["mean"] == pytest.approx(sum(values) / 3)
    assert main(["compare", "--strategies", "random", "--seeds", "2", "--max-trials", "5"]) == 0


def test_evaluate_looks_up_the_resnet_cell(capsys: pytest.CaptureFixture) -> None:
    assert main(["evaluate", "--fidelity", "200", "--json", RESNET_CELL]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "ok" and round(result["metrics"]["final_test_acc"], 2) == 93.91


def test_list_every_kind(capsys: pytest.CaptureFixture) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for word in ("spaces:", "nb201", "strategies:", "regularized-evolution", "random", "estimators:", "tabular",
                 "benchmarks:", "datasets:", "ImageNet16-120"):
        assert word in out
    assert main(["list", "strategies"]) == 0
    assert "nb201" not in capsys.readouterr().out


def test_console_entry_point_and_help_examples() -> None:
    for command in ("search", "resume", "show", "compare", "evaluate", "list"):
        result = subprocess.run([sys.executable, "-m", "archsearch.cli.main", command, "--help"],
                                capture_output=True, text=True, check=True)
        assert "example:" in result.stdout


def test_import_is_light() -> None:
    code = "import sys, archsearch, archsearch.study; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_multi_objective_search_show_front_plot_and_compare(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = str(tmp_path / "runs.db")
    objectives = ["--objective", "valid_acc:max", "--objective", "train_seconds:min"]
    assert main(["search", "--strategy", "nsga2", *objectives, "--max-trials", "30", "--store", store,
                 "--name", "mo", "--quiet", "--set", "strategy.population_size=8"]) == 0
    out = capsys.readouterr().out
    assert "Pareto front of valid_acc:max, train_seconds:min" in out and "hypervolume" in out
    plot = tmp_path / "front.png"
    assert main(["show", "mo", "--store", store, "--plot", str(plot), "--reference-point", "0,5000"]) == 0
    out = capsys.readouterr().out
    assert "reference point 0, 5000: given" in out and plot.stat().st_size > 10_000
    document = shown("mo", store, capsys)
    front = document["front"]
    assert front["hypervolume"] > 0 and front["trials"] and front["reference_choice"].startswith("worst")
    values = {t["number"]: t["metrics"] for t in document["trials"]}
    for number in front["trials"]:  # no stored trial dominates a front member
        a = values[number]
        assert not any(b["valid_acc"] >= a["valid_acc"] and b["train_seconds"] <= a["train_seconds"]
                       and (b["valid_acc"], b["train_seconds"]) != (a["valid_acc"], a["train_seconds"])
                       for b in values.values())
    out_json = tmp_path / "compare.json"
    assert main(["compare", "--strategies", "random,mo-regularized-evolution", *objectives, "--max-trials", "20",
                 "--seeds", "2", "--quiet", "--json", str(out_json), "--plot", str(tmp_path / "c.svg")]) == 0
    out = capsys.readouterr().out
    assert "hypervolume of each run's front" in out and (tmp_path / "c.svg").exists()
    summary = json.loads(out_json.read_text())["results"]["random"]
    assert len(summary["hypervolume"]) == 2 and summary["hv_mean"] > 0


def test_reward_and_constraints_pick_the_best(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = str(tmp_path / "runs.db")
    assert main(["search", "--strategy", "random", "--max-trials", "40", "--store", store, "--name", "r",
                 "--quiet", "--reward", "mnasnet-hard:train_seconds<=1500",
                 "--constraint", "valid_acc>=60"]) == 0
    assert "reward:      mnasnet-hard:train_seconds<=1500" in capsys.readouterr().out
    document = shown("r", store, capsys)
    feasible = [t["metrics"] for t in document["trials"] if t["metrics"]["valid_acc"] >= 60]
    best = document["best"]["metrics"]
    under = [m for m in feasible if m["train_seconds"] <= 1500]
    assert best["valid_acc"] == max(m["valid_acc"] for m in under)  # hard reward: accuracy alone under T
