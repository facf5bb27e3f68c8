"""EfficientNet compound scaling: the coefficient grid honours alpha*beta^2*gamma^2 ~ 2, scaled build options,
a two-candidate run on digits (tiny networks, a fraction of an epoch), and ``archsearch scale``'s errors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from archsearch.cli.main import main
from archsearch.core.errors import UserError
from archsearch.estimators.train import TrainEstimator
from archsearch.scaling import (EFFICIENTNET_B0, Coefficients, check_scalable, coefficient_grid, scale_family,
                                search_coefficients)
from archsearch.spaces.mobile import MobileSpace
from archsearch.spaces.nb201 import NB201Space
from archsearch.store.base import TrialRecord
from archsearch.store.sqlite import SQLiteStore

SPACE = MobileSpace()
ARCH_TEXT = "|".join(["e1k3-re-L1-w0.75"] + ["e3k3-re-L1-w0.75"] * 6)
ARCH = SPACE.parse(ARCH_TEXT)
TINY = {"width_mult": 0.25, "head_channels": 32, "stem_channels": 8}
BUDGET = ["--epochs", "0.1", "--fraction", "0.1", "--device", "cpu", "--set", "batch_size=32"]
TINY_SET = ["--set", "net.width_mult=0.25", "--set", "net.head_channels=32", "--set", "net.stem_channels=8"]


def exit_code(argv: list[str]) -> int:
    """``main``'s return value, or the exit code of an argparse error."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


def test_grid_keeps_only_combinations_near_two() -> None:
    grid = coefficient_grid(0.05, 0.1)
    assert len(grid) > 20
    for c in grid:
        assert 1.0 <= min(c.alpha, c.beta, c.gamma) and max(c.alpha, c.beta, c.gamma) <= 2.0
        assert abs(c.alpha * c.beta**2 * c.gamma**2 - 2.0) <= 0.1 + 1e-9 and c.product == pytest.approx(
            c.alpha * c.beta**2 * c.gamma**2)
    assert Coefficients(*EFFICIENTNET_B0) in grid  # the paper's 1.2, 1.1, 1.15 (product 1.92)
    assert Coefficients(1.0, 1.0, 1.0) not in grid and len(set(grid)) == len(grid)


def test_grid_subsampling_is_even_and_errors_are_user_errors() -> None:
    full = coefficient_grid(0.1, 0.1)
    picked = coefficient_grid(0.1, 0.1, max_candidates=4)
    assert len(picked) == 4 and picked[0] == full[0] and picked[-1] == full[-1] and set(picked) <= set(full)
    assert coefficient_grid(0.1, 0.1, max_candidates=10**6) == full
    for step, tolerance in ((0.0, 0.1), (3.0, 0.1), (0.1, -1.0), (0.45, 0.001)):
        with pytest.raises(UserError):
            coefficient_grid(step, tolerance)


def test_scaled_net_options() -> None:
    c = Coefficients(1.2, 1.1, 1.15)
    assert c.net_options(0, 28) == {"depth_mult": 1.0, "width_mult": 1.0, "resolution": None}
    two = c.net_options(2, 28, {"width_mult": 0.5, "dropout": 0.1})
    assert two["depth_mult"] == pytest.approx(1.44) and two["width_mult"] == pytest.approx(0.5 * 1.21)
    assert two["resolution"] == round(28 * 1.15**2) == 37 and two["dropout"] == 0.1


def test_only_scalable_spaces() -> None:
    check_scalable(SPACE)
    with pytest.raises(UserError, match="cannot be compound-scaled"):
        check_scalable(NB201Space())


def test_two_candidates_on_digits() -> None:
    def make(net: dict[str, Any]) -> TrainEstimator:
        return TrainEstimator(SPACE, "digits", fidelity=0.1, fraction=0.1, device="cpu", net=net, batch_size=32,
                              measure=("params", "flops"))

    candidates = [Coefficients(2.0, 1.0, 1.0), Coefficients(1.0, 1.0, 1.4)]
    runs = search_coefficients(make, ARCH, candidates, 8, TINY)
    assert {r.coefficients for r in runs} == set(candidates) and all(r.status == "ok" for r in runs)
    assert runs[0].valid_acc >= runs[1].valid_acc
    deeper = next(r for r in runs if r.coefficients.alpha == 2.0)
    assert deeper.net["depth_mult"] == 2.0 and deeper.net["resolution"] is None
    family = scale_family(make, ARCH, Coefficients(1.1, 1.1, 1.3), 8, phi_max=2, base_net=TINY)
    assert [r.phi for r in family] == [0.0, 1.0, 2.0] and all(not r.metrics for r in family)
    assert all(a.flops < b.flops for a, b in zip(family, family[1:]))
    assert [r.net["resolution"] for r in family] == [None, 10, 14]


def test_scale_cli_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scale.json"
    code = main(["scale", "--arch", ARCH_TEXT, "--dataset", "digits", "--grid-step", "0.1", "--max-candidates", "2",
                 "--phi-max", "1", "--json", str(out), *BUDGET, *TINY_SET])
    assert code == 0
    text = capsys.readouterr().out
    assert "step 1: 2 candidates" in text and "best: a=" in text and "step 2: phi = 0..1" in text
    document = json.loads(out.read_text())
    assert len(document["candidates"]) == 2 and len(document["scaled"]) == 2
    assert document["best"]["coefficients"] == document["scaled"][1]["coefficients"]
    assert all(math.isfinite(run["params"]) for run in document["scaled"])


def _store_with_best(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    config = {"space": "mobile", "strategy": "random", "dataset": "digits", "objective": "valid_acc:max",
              "report": "test_acc", "estimator_options": {"net": TINY}}
    experiment = store.create_experiment("mob", config, 0)
    worse = SPACE.sample(np.random.default_rng(0))
    for number, (arch, acc) in enumerate(((worse, 20.0), (ARCH, 50.0))):
        store.record_trial(experiment.id, TrialRecord(number, dict(arch), None, "ok", {"valid_acc": acc}, 1.0), None)
    store.close()
    return path


def test_scale_from_study(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = _store_with_best(tmp_path)
    code = main(["scale", "--from-study", "mob", "--store", str(store), "--grid-step", "0.5", "--tolerance", "0.01",
                 "--max-candidates", "1", "--phi-max", "0", *BUDGET])
    assert code == 0
    text = capsys.readouterr().out
    assert f"best arch of 'mob' (trial 1): {ARCH_TEXT}" in text and "digits (8x8)" in text


@pytest.mark.parametrize("argv,message", [
    (["--arch", ARCH_TEXT, "--from-study", "x"], "exactly one of"),
    ([], "exactly one of"),
    (["--space", "nb201", "--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"], "cannot be compound-scaled"),
    (["--arch", "e6k3"], "malformed mobile arch"),
    (["--arch", ARCH_TEXT, "--phi-max", "-1"], "--phi-max"),
    (["--arch", ARCH_TEXT, "--grid-step", "0"], "grid step"),
    (["--arch", ARCH_TEXT, "--epochs", "0"], "--epochs"),
    (["--arch", ARCH_TEXT, "--set", "epochs=3"], "with its flag"),
    (["--arch", ARCH_TEXT, "--set", "net.colour=3"], "unknown net option"),
    (["--arch", ARCH_TEXT, "--dataset", "mnist1d"], "square images"),
    (["--from-study", "ghost", "--store", "/nonexistent/runs.db"], "store"),
    (["--arch", ARCH_TEXT, "--json", "/nonexistent/out.json"], "does not exist"),
    (["--arch", ARCH_TEXT, "--max-candidates", "x"], "invalid int"),
])
def test_scale_cli_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["scale", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
