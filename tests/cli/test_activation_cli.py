"""activation-search and activation-eval end to end (tiny), and their user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archsearch.cli.main import main

TINY = ["--set", "estimator.epochs=0.5", "--set", "estimator.fraction=0.2"]


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("act") / "runs.db"
    assert main(["activation-search", "--max-trials", "6", "--store", str(store), "--name", "act", "--quiet",
                 "--plot", str(store.parent / "top.png"), "--top", "3", *TINY]) == 0
    return store


def test_activation_search_lists_the_top_functions_and_plots_them(searched: Path, capsys: pytest.CaptureFixture) -> None:
    assert (searched.parent / "top.png").stat().st_size > 1000
    assert main(["show", "act", "--store", str(searched), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["space"] == "activation" and document["strategy"] == "reinforce"
    assert document["config"]["estimator"] == "activation" and document["config"]["dataset"] == "mnist1d"
    assert len(document["trials"]) == 6


def test_activation_search_prints_formulas(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = str(tmp_path / "runs.db")
    assert main(["activation-search", "--strategy", "random", "--max-trials", "3", "--store", store, "--name", "r",
                 "--quiet", "--top", "2", *TINY]) == 0
    out = capsys.readouterr().out
    assert "random on activation" in out and "functions by valid_acc" in out
    lines = [line for line in out.splitlines() if "|" in line and "(" in line]
    assert 1 <= len(lines) <= 2


def test_activation_eval_from_a_study_with_baselines(searched: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    out_json = tmp_path / "eval.json"
    assert main(["activation-eval", "sigmoid_mul(beta_mul(x), x(x))", "--from-study", "act", "--store", str(searched),
                 "--top", "1", "--dataset", "mnist1d", "--seeds", "2", "--epochs", "0.5", "--baselines", "relu,swish",
                 "--set", "estimator.fraction=0.2", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "relu" in out and "vs ReLU" in out and "(Swish)" in out and "beyond the noise" in out
    document = json.loads(out_json.read_text())
    functions = document["functions"]
    assert len(functions) == 4 and all(len(f["runs"]) == 2 for f in functions.values())
    swish, symbolic = functions["swish"], functions["sigmoid_mul(beta_mul(x), x(x))"]
    assert swish["test_mean"] == symbolic["test_mean"]  # the same function, seeds and batches
    assert "p_vs_relu" in swish and "p_vs_relu" not in functions["relu"]


def test_activation_eval_from_a_table_with_holm_adjusted_p_values(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    from archsearch.benchmarks.table import TableMeta, write_table
    from archsearch.spaces.activation import ActivationSpace

    space = ActivationSpace()
    meta = TableMeta(space="activation", dataset="mnist1d", dims=space.dims(), fidelities=(3.0,),
                     metrics={"valid_acc": "max", "train_seconds": "min"}, objective="valid_acc", report="valid_acc",
                     cost="train_seconds")
    rows = [{**space.parse(arch), "fidelity": 3.0, "valid_acc": acc, "train_seconds": 1.0}
            for arch, acc in (("mul(atan(x), x(x))", 60.0), ("sigmoid_mul(beta_mul(x), x(x))", 70.0))]
    table = write_table(tmp_path / "act.parquet", meta, rows)
    assert main(["activation-eval", "--from-table", str(table), "--top", "2", "--baselines", "relu", "--dataset",
                 "mnist1d", "--seeds", "2", "--epochs", "0.5", "--set", "estimator.fraction=0.2"]) == 0
    out = capsys.readouterr().out
    assert "3 functions" in out and "(Swish)" in out and "atan(x)" in out
    assert "Holm-adjusted p-values over the 2 functions" in out
    assert main(["activation-eval", "--from-table", "nb201"]) == 2
    assert "not a table of activation functions" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["activation-eval", "add(nope(x), x(x))"], "unknown unary op"),
    (["activation-eval", "--baselines", "relu,softmaxx"], "unknown baseline"),
    (["activation-eval", "relu", "--seeds", "0"], "--seeds"),
    (["activation-eval", "--baselines", ""], "no function"),
    (["activation-eval", "relu", "--set", "strategy.x=1"], "estimator.<option>"),
    (["activation-eval", "relu", "--dataset", "nope"], "unknown dataset"),
    (["activation-search", "--plot", "top.pdf", "--max-trials", "1"], "--plot"),
    (["activation-search", "--space", "nb201", "--estimator", "activation", "--max-trials", "1"], "not an activation"),
])
def test_user_errors_are_one_line_and_exit_2(argv: list[str], message: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    assert main([*argv, "--store", str(tmp_path / "runs.db")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "runs.db").exists()


def test_search_with_an_activation_space_defaults_to_the_activation_estimator(tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture) -> None:
    store = str(tmp_path / "runs.db")
    assert main(["search", "--space", "activation2", "--strategy", "regularized-evolution", "--max-trials", "2",
                 "--store", store, "--name", "s", "--quiet", *TINY]) == 0
    assert "regularized-evolution on activation2 (mnist1d)" in capsys.readouterr().out


def test_activation_search_of_the_shipped_table_looks_functions_up(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    """A benchmark named on the command line is looked up (tabular), not trained (the space's default estimator)."""
    from archsearch.store.sqlite import SQLiteStore

    store = tmp_path / "runs.db"
    assert main(["activation-search", "--benchmark", "activation-mnist1d", "--max-trials", "30", "--store", str(store),
                 "--name", "t", "--quiet", "--top", "3"]) == 0
    assert "top 3 of 30 functions by valid_acc_mean" in capsys.readouterr().out
    opened = SQLiteStore(str(store), create=False, write=False)
    try:
        config = opened.get_experiment("t").config
    finally:
        opened.close()
    assert (config["estimator"], config["space"], config["objective"]) == ("tabular", "activation",
                                                                           "valid_acc_mean:max")
