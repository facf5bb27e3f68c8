"""BatchNorm statistics recalibrated for one sub-network of a weight-sharing supernet.

Weights shared by many paths leave BatchNorm's running statistics fitting none of them. Before a sampled path is
scored, SPOS (Guo et al., ECCV 2020, Sec. 3.3) and BigNAS / "BN post-training" (Yu et al., ICLR 2020) reset the
statistics and recompute them on a few training batches of that path alone, then evaluate in eval mode.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

__all__ = ["recalibrate_batchnorm"]


@torch.no_grad()
def recalibrate_batchnorm(model: torch.nn.Module, forwards: Iterator[torch.Tensor], batches: int) -> int:
    """Reset every BatchNorm of ``model`` and average its statistics anew (cumulatively) over the first ``batches``
    forward passes that iterating ``forwards`` runs; the momenta are restored after. Returns the batches used."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the recalibration batches
    model.train()
    used = 0
    try:
        for _ in forwards:
            used += 1
            if used >= batches:
                break
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
    return used
