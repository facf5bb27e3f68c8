"""``archsearch latency``: predicted vs measured latency of random archs, the table built, saved and reused, and
its user errors (one line, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archsearch.cli.main import main
from archsearch.metrics.latency_table import LatencyTable

TINY = ["--input-shape", "3,16,16", "--num-classes", "10", "--net", "width_mult=0.25", "--net", "head_channels=32",
        "--net", "stem_channels=8"]


def exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse errors
        return int(exit_.code or 0)


def test_latency_builds_saves_and_reuses_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table, out = tmp_path / "lut.json", tmp_path / "latency.json"
    assert main(["latency", "--archs", "2", "--table", str(table), "--json", str(out), *TINY]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert len(lines) == 3 and all("predicted" in line and "measured" in line and "error" in line for line in lines[:2])
    assert "mean absolute percentage error" in lines[2] and "measured now" in lines[2]
    document = json.loads(out.read_text())
    assert len(document["archs"]) == 2 and document["mape_pct"] >= 0 and document["net"]["width_mult"] == 0.25
    for row in document["archs"]:
        assert row["predicted_ms"] > 0 and row["measured_ms"] > 0
        assert row["error_pct"] == pytest.approx((row["predicted_ms"] - row["measured_ms"]) / row["measured_ms"] * 100)
    saved = LatencyTable.load(table)
    assert len(saved) > 0
    assert main(["latency", "--archs", "2", "--table", str(table), *TINY]) == 0
    assert "(0 measured now)" in capsys.readouterr().out  # the same seed, the same units: all from the table


@pytest.mark.parametrize("argv,message", [
    (["--input-shape", "3,16"], "--input-shape"),
    (["--input-shape", "3,a,16"], "--input-shape"),
    (["--archs", "0"], "--archs"),
    (["--net", "colour=red"], "unknown --net option 'colour'"),
    (["--net", "width_mult=0"], "width_mult"),
    (["--net", "novalue"], "key=value"),
    (["--space", "nope"], "unknown space"),
    (["--space", "nb201", "--input-shape", "3,8,8"], "latency_units"),
    (["--json", "/nonexistent/out.json"], "does not exist"),
    (["--archs", "many"], "invalid int"),
])
def test_latency_user_errors(tmp_path: Path, argv: list[str], message: str,
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["latency", "--table", str(tmp_path / "lut.json"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_corrupt_and_foreign_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{ half a table")
    assert main(["latency", "--archs", "1", "--table", str(corrupt), *TINY]) == 2
    assert "cannot read latency table" in capsys.readouterr().err
    foreign = tmp_path / "foreign.json"
    document = LatencyTable().to_dict()
    document["signature"]["name"] = "another processor"
    foreign.write_text(json.dumps(document))
    assert main(["latency", "--archs", "1", "--table", str(foreign), *TINY]) == 2
    assert "another processor" in capsys.readouterr().err
    assert main(["latency", "--archs", "1", "--table", str(foreign), "--force", *TINY]) == 0
