"""The refitted predictor of BANANAS and guided local search: its refit schedule, warm starts and exact replay
after a checkpoint (issue 25)."""

from __future__ import annotations

import numpy as np
import pytest

from archsearch.core.arch import Arch
from archsearch.core.registry import SPACES
from archsearch.strategies.predictor import MLPEnsemble, PredictorSettings, RefittedPredictor

SETTINGS = PredictorSettings(members=2, width=16, epochs=20)


@pytest.fixture(scope="module")
def history() -> list[tuple[Arch, float]]:
    space = SPACES.create("nb201")
    rng = np.random.default_rng(0)
    archs = list(dict.fromkeys(space.sample(rng) for _ in range(60)))
    return [(arch, float(sum(op == "nor_conv_3x3" for op in arch.values()))) for arch in archs]


def predictor_run(history: list[tuple[Arch, float]], counts: list[int], predictor: RefittedPredictor,
                  fitted: list[tuple[int, int | None, bool]]) -> list[np.ndarray]:
    space = SPACES.create("nb201")

    def data(count: int) -> tuple[list[Arch], list[float]]:
        return [a for a, _ in history[:count]], [s for _, s in history[:count]]

    queries = [a for a, _ in history[-5:]]
    rng = np.random.default_rng(1)
    return [predictor.predict(space, "path", count, data, queries, rng) for count in counts]


@pytest.fixture
def fitted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int | None, bool]]:
    """Every MLPEnsemble fit as (points, epochs, warm)."""
    calls: list[tuple[int, int | None, bool]] = []
    original = MLPEnsemble.fit

    def fit(self, x, y, seed, epochs=None, warm=False):  # type: ignore[no-untyped-def]
        calls.append((len(x), epochs, warm))
        return original(self, x, y, seed, epochs, warm=warm)

    monkeypatch.setattr(MLPEnsemble, "fit", fit)
    return calls


def test_no_new_result_no_refit_and_later_fits_are_warm(history, fitted) -> None:
    predictor = RefittedPredictor(SETTINGS, warm_epochs=5)
    first, again, later = predictor_run(history, [10, 10, 14], predictor, fitted)
    assert fitted == [(10, None, False), (14, 5, True)]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, later)


def test_refit_every(history, fitted) -> None:
    predictor = RefittedPredictor(SETTINGS, warm_epochs=5, refit_every=3)
    predictor_run(history, [10, 11, 12, 13, 14, 16], predictor, fitted)
    assert [points for points, _, _ in fitted] == [10, 13, 16]


def test_warm_epochs_zero_refits_from_scratch(history, fitted) -> None:
    predictor_run(history, [10, 20], RefittedPredictor(SETTINGS, warm_epochs=0), fitted)
    assert fitted == [(10, None, False), (20, None, False)]


def test_a_loaded_state_replays_the_fits_exactly(history, fitted) -> None:
    predictor = RefittedPredictor(SETTINGS, warm_epochs=5)
    expected = predictor_run(history, [10, 15, 20, 30], predictor, fitted)[-1]
    resumed = RefittedPredictor(SETTINGS, warm_epochs=5)
    resumed.load(predictor.state())
    fitted.clear()
    np.testing.assert_array_equal(predictor_run(history, [30], resumed, fitted)[0], expected)
    assert [points for points, _, _ in fitted] == [10, 15, 20, 30]  # replayed, no new fit


def test_the_fit_matches_the_reference_arithmetic(history) -> None:
    """The flat-buffer fit computes what a plain per-layer numpy MLP with the same initial weights computes."""
    space = SPACES.create("nb201")
    x = np.stack([space.encode(a, "path") for a, _ in history[:30]]).astype(np.float32)
    y = np.array([s for _, s in history[:30]])
    model = MLPEnsemble(PredictorSettings(members=2, width=8, hidden_layers=1, epochs=0)).fit(x, y, seed=3)
    w0, b0, w1, b1 = (p.copy() for p in model._params)
    hidden = np.maximum(np.einsum("nd,dmw->mnw", x, w0) + b0, 0.0)
    expected = (hidden @ w1 + b1)[..., 0] * model._y_std + model._y_mean
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-5)
