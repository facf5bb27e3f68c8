"""GDAS: gradient-based search using differentiable architecture sampling (Dong & Yang, CVPR 2019,
"Searching for A Robust Neural Architecture in Four GPU Hours").

Every edge samples one op by hard Gumbel-softmax: the forward pass computes only that op, scaled by
its straight-through weight, so the backward pass still reaches every logit (D-X-Y/AutoDL-Projects
``search_model_gdas.py``). Weight and architecture steps alternate on the two halves of the training
data as in DARTS (first order; Adam 3e-4, weight decay 1e-3). The temperature decays linearly from
``tau_max`` = 10 to ``tau_min`` = 0.1 over the epochs (paper, Sec. 4.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from archsearch.core.options import check_number
from archsearch.strategies.oneshot.base import OneShotStrategy, Paths, gumbel_softmax

TAU_MAX, TAU_MIN = 10.0, 0.1


class Gdas(OneShotStrategy):
    """``--strategy gdas``: one sampled op per edge, straight-through gradients."""

    name = "gdas"
    option_names = ("tau_max", "tau_min")

    def configure(self, tau_max: Any = TAU_MAX, tau_min: Any = TAU_MIN) -> None:
        self.tau_max = check_number(self.name, "tau_max", tau_max, 1e-6)
        self.tau_min = check_number(self.name, "tau_min", tau_min, 1e-6)

    def temperature(self, epoch: int) -> float:
        epochs = max(1, self.recipe.epochs - 1)
        return self.tau_max - (self.tau_max - self.tau_min) * min(epoch, epochs) / epochs

    def weight_paths(self, logits: Mapping[str, torch.Tensor], epoch: int, generator: torch.Generator) -> Paths:
        tau = self.temperature(epoch)
        return {key: gumbel_softmax(value, tau, generator, hard=True) for key, value in logits.items()}
