"""A researcher's journey in one test: search on the table, Ctrl-C (SIGINT) mid-run, ``show`` says interrupted with
the resume command, resume with a larger ``--max-trials``, ``show`` (failures with reasons), ``report`` (opened in
headless Chromium where available), ``mv``, ``rm``."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from archsearch.cli.main import main
from tests.conftest import archsearch, committed_trials, find_browser, screenshot


TRIALS = 3000


def test_the_journey(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = tmp_path / "runs.db"
    where = ["--store", str(store)]
    process = subprocess.Popen(archsearch("search", "--space", "nb101", "--strategy", "random", "--max-trials",
                                          str(TRIALS), "--name", "trip", *where),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while committed_trials(store) < 20 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert process.poll() is None, process.communicate()  # still searching: the signal stops it midway
    os.kill(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "continue with: archsearch resume trip --store" in err
    stopped_at = committed_trials(store)

    assert main(["show", "trip", *where]) == 0
    shown = capsys.readouterr().out
    assert "(interrupted)" in shown and f"continue with: archsearch resume trip --store {store}" in shown

    more = stopped_at + 40
    assert main(["resume", "trip", "--max-trials", str(more), "--quiet", *where]) == 0
    assert main(["show", "trip", *where]) == 0
    shown = capsys.readouterr().out
    assert "(finished)" in shown and f"trials: {more}," in shown
    assert "failed trials:" in shown and "by reason:" in shown and "is not among the 292 cells" in shown

    page = tmp_path / "trip.html"
    assert main(["report", "trip", "-o", str(page), *where]) == 0 and page.stat().st_size > 10_000
    if find_browser() is not None:
        screenshot(find_browser(), page, tmp_path / "trip.png", tmp_path / "profile")

    assert main(["mv", "trip", "voyage", *where]) == 0
    assert main(["rm", "voyage", *where]) == 0
    capsys.readouterr()
    assert main(["show", *where]) == 0
    assert "the store has no experiments" in capsys.readouterr().out
