"""compare_strategies: per-seed trajectories, summaries, parallel seeds (processes, Ray tasks) equal to serial ones,
the CLI's JSON; compare_stored: studies in a store summarised as the same runs in memory."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from archsearch.cli.main import main
from archsearch.compare import compare_stored, compare_strategies, run_seed, strategy_config, table_optimum
from archsearch.config import StudyConfig
from archsearch.core.errors import UserError
from archsearch.core.objectives import Objective
from archsearch.store.memory import InMemoryStore
from archsearch.store.sqlite import SQLiteStore
from archsearch.study import Study, best_trial

STRATEGIES = ["random", "regularized-evolution"]


def config(**keys: object) -> StudyConfig:
    return StudyConfig.from_mapping({"max_trials": 20, "budget_seconds": None, **keys})


def without_wall_time(results: dict) -> dict:
    return {name: {k: v for k, v in summary.items() if k != "wall_seconds"} for name, summary in results.items()}


def test_workers_give_the_serial_results_in_seed_order() -> None:
    serial = compare_strategies(config(), STRATEGIES, 3)
    parallel = compare_strategies(config(), STRATEGIES, 3, workers=2)
    assert list(parallel) == STRATEGIES
    assert without_wall_time(parallel) == without_wall_time(serial)


def test_summary_keys_and_trajectories() -> None:
    results = compare_strategies(config(), STRATEGIES, 3)
    for summary in results.values():
        assert {"final_test", "mean", "std", "wall_seconds", "trials", "trajectories"} <= set(summary)
        values = np.asarray(summary["final_test"])
        assert summary["mean"] == pytest.approx(values.mean()) and summary["std"] == pytest.approx(values.std(ddof=1))
        assert summary["trials"] == 20 and summary["wall_seconds"] > 0
        assert len(summary["trajectories"]) == 3
        for trajectory, final in zip(summary["trajectories"], summary["final_test"]):
            cost, reported = np.asarray(trajectory["cost"]), np.asarray(trajectory["reported"])
            assert len(cost) == len(reported) == 20
            assert (np.diff(cost) > 0).all() and cost[0] > 0  # every NB201 lookup charges its training time
            assert reported[-1] == final


def test_trajectory_is_the_reported_metric_of_the_best_by_the_objective() -> None:
    base = config(strategy="random", max_trials=15)
    run = run_seed(base, 4)
    study = Study.create(StudyConfig.from_mapping({**base.to_dict(), "seed": 4, "name": "x"}), InMemoryStore()).run()
    objective = Objective.parse(base.objective)
    for k in range(15):
        best = best_trial(study.trials[: k + 1], objective)
        assert run.reported[k] == best.metrics["final_test_acc"]
        assert run.cost[k] == pytest.approx(sum(t.cost for t in study.trials[: k + 1]))


def test_a_bad_strategy_fails_before_any_run() -> None:
    done: list = []
    with pytest.raises(UserError, match="unknown strategy 'nope'"):
        compare_strategies(config(), ["random", "nope"], 2, on_done=lambda s, i: done.append((s, i)))
    assert done == []
    with pytest.raises(UserError, match="workers"):
        compare_strategies(config(), ["random"], 2, workers=0)


def test_a_strategy_with_options_runs_under_its_spec_as_label() -> None:
    spec = "regularized-evolution:population_size=5:sample_size=2"
    parsed = strategy_config(config(), spec)
    assert (parsed.strategy, parsed.strategy_options) == ("regularized-evolution",
                                                          {"population_size": 5, "sample_size": 2})
    nested = strategy_config(config(), "optuna:sampler=tpe:sampler_options.n_startup_trials=4")
    assert nested.strategy_options == {"sampler": "tpe", "sampler_options": {"n_startup_trials": 4}}
    results = compare_strategies(config(), ["regularized-evolution", spec], 2)
    assert list(results) == ["regularized-evolution", spec]
    assert results[spec]["final_test"] != results["regularized-evolution"]["final_test"]  # a population of 5
    with pytest.raises(UserError, match="population_size"):
        compare_strategies(config(), ["regularized-evolution:population_size=0"], 1)


def test_table_optimum_is_the_best_reported_value_in_the_table() -> None:
    assert table_optimum(config()) == pytest.approx(94.37, abs=0.01)  # NB201 CIFAR-10, 200-epoch test accuracy
    assert table_optimum(config(benchmark=None, estimator="tabular")) is None


def test_cli_json_trajectories_only_on_request(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    plain, full = tmp_path / "plain.json", tmp_path / "full.json"
    arguments = ["compare", "--strategies", "random", "--seeds", "2", "--max-trials", "5", "--quiet"]
    assert main([*arguments, "--json", str(plain)]) == 0
    assert main([*arguments, "--json", str(full), "--trajectories", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "mean +- std" in out and "trials/run" in out and "wall s" in out
    summary = json.loads(plain.read_text())["results"]["random"]
    assert {"final_test", "mean", "std", "wall_seconds", "trials"} <= set(summary) and "trajectories" not in summary
    trajectories = json.loads(full.read_text())["results"]["random"]["trajectories"]
    assert len(trajectories) == 2 and len(trajectories[0]["cost"]) == 5


@pytest.mark.parametrize("arguments, message", [
    (["--plot", "curve.jpg"], "--plot must end in .png or .svg"),
    (["--plot", "missing/curve.png"], "folder for --plot does not exist"),
    (["--workers", "0"], "--workers must be at least 1"),
])
def test_cli_argument_errors_are_one_line(arguments: list[str], message: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "--seeds", "2", "--max-trials", "5", *arguments]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_cli_plot_is_written(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    plot = tmp_path / "curve.png"
    assert main(["compare", "--strategies", "random", "--seeds", "3", "--max-trials", "8", "--quiet",
                 "--plot", str(plot), "--plot-x", "trials"]) == 0
    assert plot.stat().st_size > 0 and f"wrote {plot}" in capsys.readouterr().out


def test_runs_without_a_result_are_left_out_of_the_mean() -> None:
    from archsearch.compare import SeedRun, summarise

    runs = [SeedRun(0, 90.0, (1.0,), (90.0,)), SeedRun(1, float("nan"), (1.0,), (float("nan"),)),
            SeedRun(2, 92.0, (1.0,), (92.0,))]
    summary = summarise(runs, 1.0)
    assert summary["mean"] == 91.0 and summary["runs_without_result"] == 1
    assert summary["std"] == pytest.approx(2 ** 0.5)
    empty = summarise([SeedRun(0, float("nan"), (1.0,), (float("nan"),))], 1.0)
    assert math.isnan(empty["mean"]) and empty["runs_without_result"] == 1


def test_stored_studies_compare_as_the_same_runs_in_memory(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = tmp_path / "runs.db"
    for strategy in STRATEGIES:
        for seed in (2, 0, 1):  # stored out of seed order
            assert main(["search", "--strategy", strategy, "--seed", str(seed), "--max-trials", "20", "--quiet",
                         "--store", str(store), "--name", f"{strategy}-{seed}"]) == 0
    opened = SQLiteStore(store, create=False)
    _, stored = compare_stored(opened)
    assert without_wall_time(stored) == without_wall_time(compare_strategies(config(), STRATEGIES, 3))
    _, two = compare_stored(opened, ["random-0", "random-1"])
    assert list(two) == ["random"] and two["random"]["final_test"] == stored["random"]["final_test"][:2]
    opened.close()
    out = tmp_path / "stored.json"
    assert main(["compare", "--from-store", str(store), "--json", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())["results"]["random"]["final_test"] == stored["random"]["final_test"]
    assert "over 3 seeds" in capsys.readouterr().out
    assert main(["search", "--dataset", "cifar100", "--max-trials", "3", "--store", str(store), "--name", "c100",
                 "--quiet"]) == 0
    assert main(["compare", "--from-store", str(store)]) == 2
    assert "differ in dataset" in capsys.readouterr().err


def test_ray_tasks_give_the_serial_results_in_seed_order() -> None:
    pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'archsearch[ray]'")
    serial = compare_strategies(config(), STRATEGIES, 3)
    assert without_wall_time(compare_strategies(config(), STRATEGIES, 3, workers=2, executor="ray")) == \
        without_wall_time(serial)


def test_a_seed_whose_worker_was_lost_runs_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over Ray a lost node costs only its runs: a seed whose task died with its worker is submitted again, up to
    ``SEED_RETRIES`` times; then the compare stops with one clear error."""
    from concurrent.futures import Future

    import archsearch.execution.ray as ray_executor
    from archsearch.compare import SEED_RETRIES
    from archsearch.execution import WorkerLost

    losses = {"left": 1}

    class Losing:  # an executor whose first tasks of seed 1 die with their worker
        def __init__(self, workers: int, address: str | None = None) -> None:
            pass

        def submit(self, fn, mapping: dict, seed: int) -> Future:  # type: ignore[no-untyped-def]
            future: Future = Future()
            if seed == 1 and losses["left"] > 0:
                losses["left"] -= 1
                future.set_exception(WorkerLost("node died"))
            else:
                future.set_result(fn(mapping, seed))
            return future

        def shutdown(self) -> None:
            pass

    monkeypatch.setattr(ray_executor, "RayExecutor", Losing)
    serial = compare_strategies(config(), ["random"], 3)
    assert without_wall_time(compare_strategies(config(), ["random"], 3, executor="ray")) == without_wall_time(serial)
    assert losses["left"] == 0
    losses["left"] = SEED_RETRIES + 1
    with pytest.raises(UserError, match=f"seed 1 lost its worker {SEED_RETRIES + 1} times"):
        compare_strategies(config(), ["random"], 3, executor="ray")
