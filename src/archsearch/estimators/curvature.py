"""The dominant eigenvalue of a loss Hessian by power iteration on Hessian-vector products.

RobustDARTS (Zela, Elsken, Saikia, Marrakchi, Brox & Hutter, ICLR 2020, "Understanding and Robustifying
Differentiable Architecture Search") shows that DARTS collapses (to parameter-free ops) when the
dominant eigenvalue of the validation loss' Hessian w.r.t. the architecture logits grows, and stops the
search early (DARTS-ES) when the eigenvalue averaged over a window has grown by more than 1/0.75
(:func:`early_stop`). Hessian-vector products are double backward passes (Pearlmutter 1994); the
Hessian itself is never formed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

POWER_ITERATIONS = 20
TOLERANCE = 1e-4


def dominant_eigenvalue(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor], *,
                        iterations: int = POWER_ITERATIONS, generator: torch.Generator | None = None,
                        tolerance: float = TOLERANCE) -> float:
    """The eigenvalue of largest magnitude of d^2 loss / d params^2 (a float; the sign is kept)."""
    pairs = [(p, g) for p, g in zip(params, torch.autograd.grad(loss_fn(), list(params), create_graph=True,
                                                                 allow_unused=True)) if g is not None]
    if not pairs:
        return 0.0  # the loss does not depend on the parameters
    params, grads = [p for p, _ in pairs], [g for _, g in pairs]
    vector = [torch.randn(p.shape, generator=generator).to(p.device, p.dtype) for p in params]
    vector = _normalised(vector)
    eigenvalue = 0.0
    for _ in range(iterations):
        product = [torch.zeros_like(p) if h is None else h for p, h in zip(params, torch.autograd.grad(
            grads, params, grad_outputs=vector, retain_graph=True, allow_unused=True))]
        estimate = float(sum((h * v).sum() for h, v in zip(product, vector)))
        vector = _normalised([h.detach() for h in product])
        converged = abs(estimate - eigenvalue) <= tolerance * max(1.0, abs(estimate))
        eigenvalue = estimate
        if converged:
            break
    return eigenvalue


def _normalised(vector: list[torch.Tensor]) -> list[torch.Tensor]:
    norm = torch.sqrt(sum((v * v).sum() for v in vector)).clamp_min(1e-12)
    return [v / norm for v in vector]


def early_stop(eigenvalues: Sequence[float], window: int, ratio: float) -> bool:
    """DARTS-ES: stop when mean(previous ``window`` values) / mean(last ``window`` values) < ``ratio``."""
    if len(eigenvalues) < 2 * window:
        return False
    previous = sum(eigenvalues[-2 * window:-window]) / window
    current = sum(eigenvalues[-window:]) / window
    return current > 0 and previous / current < ratio
