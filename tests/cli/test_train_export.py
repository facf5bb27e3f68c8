"""``search --estimator train``, ``train`` and ``export`` from the command line, and their user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archsearch.cli.main import main

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
TINY = ["--set", "net.channels=4", "--set", "net.cells_per_stage=1"]
TINY_SEARCH = ["--set", "estimator.net.channels=4", "--set", "estimator.net.cells_per_stage=1"]


def test_search_with_training_then_show_and_export(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = str(tmp_path / "runs.db")
    assert main(["search", "--estimator", "train", "--dataset", "digits", "--fidelity", "1", "--max-trials", "3",
                 "--device", "cpu", *TINY_SEARCH, "--store", store, "--name", "t", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "reported:    test_acc" in out and "params=" in out
    assert main(["show", "t", "--store", store, "--json"]) == 0
    assert "valid_acc" in capsys.readouterr().out
    assert main(["export", "t", "--store", store, "--out-dir", str(tmp_path / "x"), "--formats",
                 "genotype,torchscript"]) == 0
    genotype = json.loads((tmp_path / "x" / "genotype.json").read_text())
    assert genotype["input_shape"] == [1, 8, 8] and genotype["net"] == {"channels": 4, "cells_per_stage": 1}
    capsys.readouterr()
    assert main(["show", "t", "--store", store, "--json"]) == 0
    best = json.loads(capsys.readouterr().out)["best"]["arch"]
    retrained = tmp_path / "best.pt"
    assert main(["train", "--from-study", "t", "--store", store, "--epochs", "1", "--device", "cpu",
                 "--out", str(retrained), "--json"]) == 0  # the study's dataset (digits) and network options
    out = capsys.readouterr().out
    assert f"best of 't': trial" in out and json.loads(out.splitlines()[-1])["arch"] == best
    assert main(["export", "--checkpoint", str(retrained), "--out-dir", str(tmp_path / "y"), "--formats", "genotype"]) == 0
    genotype = json.loads((tmp_path / "y" / "genotype.json").read_text())
    assert genotype["input_shape"] == [1, 8, 8] and genotype["net"] == {"channels": 4, "cells_per_stage": 1}


def test_train_saves_a_checkpoint_that_exports(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    checkpoint = tmp_path / "m.pt"
    assert main(["train", "--arch", ARCH, "--dataset", "digits", "--epochs", "1", "--device", "cpu", *TINY,
                 "--set", "batch_size=32", "--out", str(checkpoint), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["metrics"]["test_acc"] > 20 and len(result["curves"]["valid_acc"]) == 1
    assert main(["export", "--checkpoint", str(checkpoint), "--out-dir", str(tmp_path / "e")]) == 0
    assert {p.name for p in (tmp_path / "e").iterdir()} >= {"model.onnx", "model.torchscript.pt", "genotype.json"}


@pytest.mark.parametrize("argv, message", [
    (["search", "--estimator", "train", "--dataset", "cifar10", "--max-trials", "1"], "--data-dir"),
    (["search", "--estimator", "train", "--dataset", "digits", "--device", "tpu", "--max-trials", "1"], "device"),
    (["search", "--estimator", "train", "--dataset", "nope", "--max-trials", "1"], "unknown dataset"),
    (["search", "--estimator", "train", "--max-trials", "1", "--set", "estimator.lr=-1"], "lr"),
    (["search", "--estimator", "train", "--max-trials", "1", "--workers", "2"], "--executor processes"),
    (["search", "--estimator", "train", "--max-trials", "1", "--executor", "dask"], "unknown executor"),
    (["search", "--estimator", "train", "--dataset", "npz", "--data-dir", "/nonexistent.npz", "--max-trials", "1"],
     "nonexistent"),
    (["train", "--arch", "|bad|", "--dataset", "digits"], "arch"),
    (["train", "--arch", ARCH, "--dataset", "digits", "--set", "seed=3"], "--seed"),
    (["train", "--arch", ARCH, "--dataset", "digits", "--set", "momentum_typo=3"], "unknown option"),
    (["train", "--from-study", "ghost", "--store", "runs.db"], "store not found"),
    (["train", "--from-study", "t", "--space", "nb201"], "leave out --space"),
    (["export", "--out-dir", "x"], "exactly one"),
    (["export", "--checkpoint", "/nonexistent.pt"], "checkpoint not found"),
])
def test_user_errors_end_in_one_line_and_exit_2(argv: list[str], message: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--store", str(tmp_path / "runs.db")] if argv[0] == "search" else argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "runs.db").exists()


def test_the_readme_example_config_builds() -> None:
    from archsearch.config import StudyConfig
    from archsearch.study import build_components

    config = StudyConfig.from_file(str(Path(__file__).resolve().parents[2] / "examples" / "mnist5k-search.yaml"))
    config.finish_budget()
    components = build_components(config)
    assert components.estimator.name == "train" and config.max_trials == 20 and config.budget_seconds is None
    assert config.workers == 2 and config.report == "test_acc"


def test_train_from_a_table_study_builds_the_tables_network(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A study of a built table retrains its best arch in the network the rows were trained in (``net`` in the
    table's metadata), not the space's default network."""
    from archsearch.benchmarks.table import write_table
    from tests.benchmarks.conftest import synthetic_meta, synthetic_rows

    table = write_table(tmp_path / "t.parquet", synthetic_meta(net={"stem_channels": 6}), synthetic_rows())
    store = str(tmp_path / "runs.db")
    assert main(["search", "--table", str(table), "--max-trials", "3", "--store", store, "--name", "t",
                 "--quiet"]) == 0
    capsys.readouterr()
    checkpoint = tmp_path / "best.pt"
    assert main(["train", "--from-study", "t", "--store", store, "--epochs", "1", "--device", "cpu",
                 "--out", str(checkpoint), "--json"]) == 0
    capsys.readouterr()
    assert main(["export", "--checkpoint", str(checkpoint), "--out-dir", str(tmp_path / "g"), "--formats",
                 "genotype"]) == 0
    assert json.loads((tmp_path / "g" / "genotype.json").read_text())["net"] == {"stem_channels": 6}
