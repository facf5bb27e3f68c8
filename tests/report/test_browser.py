"""A report opened in a real browser: headless Chromium renders it offline and the screenshot is not blank.

CI installs Debian's ``chromium`` package (``.ci/run``); where no browser can be installed the test is
skipped with the reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from archsearch.cli.main import main
from tests.conftest import find_browser, screenshot


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
