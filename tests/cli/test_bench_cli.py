"""``archsearch bench build`` on a tiny declared space (3 layers x 2 choices, digits, 1 epoch): a killed build
resumes without training its done archs again, writes a complete table, and ``compare --table`` searches it."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from archsearch.bench_build import run_build
from archsearch.benchmarks.table import load_table
from archsearch.cli.bench import build_study_config
from archsearch.cli.main import build_parser, main
from archsearch.core.arch import Arch
from archsearch.store.sqlite import SQLiteStore

TINY_SPACE = """name: tiny3x2
kind: chain
stem_channels: 4
dims:
  block1: [skip_connect, nor_conv_3x3]
  block2: [skip_connect, nor_conv_3x3]
  block3: [skip_connect, nor_conv_1x1]
"""
ARCHS = 8
KILLED_AFTER = 3


def build_args(folder: Path, *extra: str, which: tuple[str, ...] = ("--all",)) -> list[str]:
    return ["bench", "build", "--space-file", str(folder / "tiny.yaml"), "--dataset", "digits", "--epochs", "1",
            *which, "--store", str(folder / "bench.db"), "--out", str(folder / "tiny.parquet"),
            "--set", "estimator.fraction=0.25", "--set", "estimator.latency_batch=4",
            "--set", "estimator.net.stem_channels=4", "--quiet", *extra]


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exit:  # argparse: usage errors and --help
            code = int(exit.code or 0)
    return code, out.getvalue(), err.getvalue()


class Killed(KeyboardInterrupt):
    """Stops the first build after a few trials, as a Ctrl-C or a kill would."""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("bench")
    (folder / "tiny.yaml").write_text(TINY_SPACE)
    config, _ = build_study_config(build_parser().parse_args(build_args(folder)))
    store = SQLiteStore(str(folder / "bench.db"), create=True)

    def stop(progress) -> None:
        if progress.trials >= KILLED_AFTER:
            raise Killed

    with pytest.raises(Killed):
        run_build(config, store, on_trial=stop)
    before = store.trials(store.get_experiment(config.name).id)
    store.close()
    code, out, err = run_cli(build_args(folder))
    assert code == 0, err
    store = SQLiteStore(str(folder / "bench.db"), create=False)
    after = store.trials(store.get_experiment(config.name).id)
    store.close()
    return {"folder": folder, "out": out, "before": before, "after": after, "name": config.name}


def test_a_resumed_build_skips_what_is_done(built: dict) -> None:
    assert len(built["before"]) == KILLED_AFTER
    assert f"trained {ARCHS - KILLED_AFTER} archs" in built["out"] and f"({KILLED_AFTER} were done before)" in built["out"]
    assert built["after"][:KILLED_AFTER] == built["before"]  # the done trials untouched
    assert len({Arch(t.arch).key() for t in built["after"]}) == len(built["after"]) == ARCHS


def test_build_all_writes_a_complete_table(built: dict) -> None:
    table = load_table(built["folder"] / "tiny.parquet")
    assert len(table) == table.rows(1) == ARCHS and table.meta.space == "declared"
    assert table.network_options() == {"stem_channels": 4}  # what train --from-study builds for its archs
    assert {"params", "flops", "latency_ms", "valid_acc", "test_acc", "trial_seconds"} <= set(table.metric_names("digits", 1))
    for trial in built["after"]:
        arch = Arch(trial.arch)
        assert table.query(arch, "digits", 1) == {**trial.metrics, "trial_seconds": trial.cost}
        assert table.curves(arch, "digits", 1) == trial.curves and len(trial.curves["valid_acc"]) == 1
        assert table.cost_seconds(arch, "digits", 1) == trial.metrics["train_seconds"]


def test_compare_table_searches_the_built_table(built: dict) -> None:
    folder = built["folder"]
    code, out, err = run_cli(["compare", "--table", str(folder / "tiny.parquet"), "--strategies", "random,exhaustive",
                              "--seeds", "3", "--max-trials", str(ARCHS), "--json", str(folder / "c.json"), "--quiet"])
    assert code == 0, err
    results = json.loads((folder / "c.json").read_text())["results"]
    best = max(built["after"], key=lambda t: t.metrics["valid_acc"])  # what a search of every arch reports
    assert results["exhaustive"]["final_test"] == [best.metrics["test_acc"]] * 3
    assert results["random"]["trials"] == ARCHS and "test_acc" in out


def test_bench_user_errors(built: dict, tmp_path: Path) -> None:
    folder = built["folder"]
    for args, message in [(build_args(folder, "--sample", "9"), "not allowed with argument"),
                          (build_args(folder, which=("--sample", "9")), "--sample 9 exceeds the 8 valid archs"),
                          (build_args(folder, "--out", str(tmp_path / "t.txt")), "--out must end in .parquet or .csv"),
                          (build_args(folder, "--name", built["name"], "--epochs", "2"), "is another build"),
                          (["bench", "export", "nb201", "--dataset", "mnist", "--out", str(tmp_path / "n.csv")],
                           "has no dataset 'mnist'"),
                          (["compare", "--table", str(tmp_path / "absent.parquet")], "table file not found")]:
        code, _, err = run_cli(args)
        assert code == 2 and message in err and err.count("\n") == 1, (args, err)


def test_every_bench_help_has_an_example() -> None:
    for action in ("build", "export"):
        code, out, _ = run_cli(["bench", action, "--help"])
        assert code == 0 and "example: archsearch bench " + action in out
    code, out, _ = run_cli(["bench", "--help"])
    assert code == 0 and "example: archsearch bench build" in out and "example: archsearch bench export" in out


def test_an_activation_build_records_what_the_guard_rejects(tmp_path: Path) -> None:
    """The first three codes in order are 2x, x^2 and x - x (constant: rejected by the numerical guard)."""
    args = ["bench", "build", "--space", "activation", "--estimator", "activation", "--dataset", "mnist1d",
            "--epochs", "0.1", "--sample", "3", "--set", "strategy.shuffle=false", "--store", str(tmp_path / "a.db"),
            "--out", str(tmp_path / "a.parquet"), "--quiet"]
    code, out, err = run_cli(args)
    assert code == 0, err
    assert "1 failed" in out
    table = load_table(tmp_path / "a.parquet")
    constant = Arch({"u1_unary1": "x", "u1_unary2": "x", "u1_binary": "sub"})
    assert table.failure(constant, "mnist1d", 0.1) == "numerical guard: constant output"
    assert table.rows(0.1) == 3 and table.failures(0.1) == 1
    assert "estimator activation" in table.meta.description
    code, _, err = run_cli([*args[:5], "zero-cost", *args[6:]])
    assert code == 2 and "estimator 'zero-cost' cannot build a table" in err and err.count("\n") == 1


def test_a_build_over_ray_trains_the_archs_as_the_local_build(built: dict, tmp_path: Path) -> None:
    """``--executor ray``: the archs spread over Ray tasks; every arch's trained metrics equal the local build's
    (measured times and latency aside)."""
    pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'archsearch[ray]'")
    (tmp_path / "tiny.yaml").write_text(TINY_SPACE)
    code, _, err = run_cli(build_args(tmp_path, "--executor", "ray", "--workers", "2"))
    assert code == 0, err
    local, spread = load_table(built["folder"] / "tiny.parquet"), load_table(tmp_path / "tiny.parquet")
    measured = {"latency_ms", "latency_batch_ms", "train_seconds", "trial_seconds"}
    for trial in built["after"]:
        arch = Arch(trial.arch)
        ours = {k: v for k, v in spread.query(arch, "digits", 1).items() if k not in measured}
        assert ours == {k: v for k, v in local.query(arch, "digits", 1).items() if k not in measured}
        assert spread.curves(arch, "digits", 1) == local.curves(arch, "digits", 1)
