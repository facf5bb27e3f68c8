"""``archsearch meta-test``: one-line errors with exit code 2, and a tiny run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archsearch.cli.main import main

ERRORS = {
    "ways 1": (["--ways", "1"], "--ways must be >= 2"),
    "too many ways": (["--ways", "107"], "need 107 classes"),
    "too many images": (["--shots", "10", "--queries", "15"], "only 20 images"),
    "no episodes": (["--episodes", "0"], "--episodes must be >= 1"),
    "runs with 5 shots": (["--one-shot-runs", "--shots", "5"], "one-shot runs are 1-shot"),
    "maml runs at 5 ways": (["--one-shot-runs", "--ways", "5"], "use --ways 20"),
    "missing json folder": (["--json", "/nonexistent/folder/r.json"], "output folder does not exist"),
    "negative iterations": (["--meta-iterations", "-1"], "--meta-iterations must be >= 0"),
}


@pytest.mark.parametrize("flags, message", ERRORS.values(), ids=ERRORS.keys())
def test_errors_are_one_line_exit_2(flags: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["meta-test", "--baseline", "maml", "--meta-iterations", "1", *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_unknown_baseline_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["meta-test", "--baseline", "matching"])
    assert exit_info.value.code == 2 and capsys.readouterr().err.count("\n") == 1


def test_tiny_run_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    assert main(["meta-test", "--baseline", "protonet", "--meta-iterations", "2", "--episodes", "4", "--hidden", "4",
                 "--queries", "2", "--json", str(out)]) == 0
    assert "4 episodes, 5-way" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["baseline"] == "protonet" and report["episodes"] == 4 and 0 <= report["mean_acc"] <= 1
    assert report["train_episode"] == [60, 1, 5] and report["params"] > 0


def test_one_shot_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["meta-test", "--baseline", "maml", "--one-shot-runs", "--meta-iterations", "1", "--meta-batch", "1",
                 "--hidden", "4", "--quiet"]) == 0
    assert "20 one-shot runs" in capsys.readouterr().out


def test_the_cli_names_every_baseline_without_importing_torch() -> None:
    from archsearch.cli.meta_test import BASELINES
    from archsearch.fewshot.baselines import BASELINES as BUILT

    assert BASELINES == BUILT
