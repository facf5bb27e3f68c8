"""A report opened in a real browser: headless Chromium renders it offline and the screenshot is not blank.

CI installs Debian's ``chromium`` package (``.ci/run``); where no browser can be installed the test is
skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from archsearch.cli.main import main

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# the flags Chromium needs on a closed network as root (no sandbox, no background connections)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--disable-dev-shm-usage")


def find_browser() -> str | None:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def screenshot(browser: str, page: Path, out: Path, profile: Path, size: str = "1280,2400") -> None:
    command = [browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
               f"--screenshot={out}", page.resolve().as_uri()]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120,
                               env={**os.environ, "HOME": str(profile)})
    assert out.exists(), f"no screenshot; Chromium said: {completed.stderr[-2000:]}"


@pytest.mark.skipif(find_browser() is None, reason="no Chromium here: install Debian's 'chromium' package (CI does)")
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    store, page, shot = tmp_path / "runs.db", tmp_path / "report.html", tmp_path / "shot.png"
    assert main(["search", "--max-trials", "30", "--store", str(store), "--name", "demo", "--quiet"]) == 0
    assert main(["report", "demo", "--store", str(store), "-o", str(page)]) == 0
    screenshot(find_browser(), page, shot, tmp_path / "profile")

    from matplotlib.image import imread

    pixels = imread(str(shot))[..., :3]  # (H, W, 3) floats in [0, 1]
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1200
    ink = (pixels.min(axis=2) < 0.6).mean()  # share of dark or coloured pixels
    assert ink > 0.01, f"the screenshot is (nearly) blank: {ink:.4f} of the pixels carry ink"
    rows_with_ink = (pixels.min(axis=2) < 0.6).any(axis=1).mean()
    assert rows_with_ink > 0.3, "the page's content covers too little of the screenshot"
    colours = np.unique((pixels * 15).round().reshape(-1, 3), axis=0)
    assert len(colours) > 20  # text, plot lines and fills, not a flat picture
