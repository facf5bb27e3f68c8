"""Power iteration on Hessian-vector products, and the RobustDARTS early-stop rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archsearch.estimators.curvature import dominant_eigenvalue, early_stop


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dominant_eigenvalue_of_a_quadratic_matches_the_analytic_one(seed: int) -> None:
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    eigenvalues = np.array([5.0, 2.0, 1.0, 0.5, -1.0, 0.1])
    hessian = torch.tensor(basis @ np.diag(eigenvalues) @ basis.T, dtype=torch.float64)
    x = torch.randn(6, dtype=torch.float64, requires_grad=True)
    value = dominant_eigenvalue(lambda: 0.5 * x @ hessian @ x, [x], iterations=200, tolerance=1e-10,
                                generator=torch.Generator().manual_seed(seed))
    assert value == pytest.approx(5.0, rel=1e-4)


def test_dominant_eigenvalue_over_several_tensors() -> None:
    a, b = torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)
    loss = lambda: 3.0 * (a**2).sum() + 0.5 * (b**2).sum()  # noqa: E731 - Hessian diag(6, 6, 1, 1, 1)
    assert dominant_eigenvalue(loss, [a, b], iterations=100, tolerance=1e-9) == pytest.approx(6.0, rel=1e-4)


def test_early_stop_rule() -> None:
    assert not early_stop([1.0, 1.0, 1.1], window=2, ratio=0.75)          # too few measurements
    assert not early_stop([1.0, 1.0, 1.1, 1.2], window=2, ratio=0.75)     # grew by 15%
    assert early_stop([1.0, 1.0, 1.5, 1.6], window=2, ratio=0.75)         # grew by 55%
    assert not early_stop([2.0, 2.0, 1.0, 1.0], window=2, ratio=0.75)     # shrank
