"""The layer rules of .importlinter hold: core < spaces/nn < strategies, estimators, benchmarks, data, fewshot,
metrics < store/execution < study < report < cli, and strategies import nothing of archsearch but core."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold() -> None:
    pytest.importorskip("importlinter", reason="import-linter comes with the test extra: pip install -e '.[test]'")
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter"), "--no-cache"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout
