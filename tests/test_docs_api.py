"""docs/api.md is a script that runs: create, run, best, trials_dataframe, resume."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_api_page_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    (code,) = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "api.md").read_text(), flags=re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/api.md", "exec"), {"__name__": "docs_api"})
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[1].startswith("|")  # the best arch as NB201's string
    assert out[-1] == "finished 40"
    assert os.path.exists(tmp_path / "runs.db")
