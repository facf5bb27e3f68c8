"""SNAS: stochastic neural architecture search (Xie, Zheng, Liu & Lin, ICLR 2019).

Every edge's op weights are a Gumbel-softmax (concrete) sample of its logits at temperature tau,
annealed exponentially from ``tau_initial`` = 1.0 by ``tau_decay`` = 0.97 per epoch (down to
``tau_min``); weights and logits are updated *jointly* from the same training batch (SNAS's single,
generic loss, no bilevel split: the whole training split is used for both). The derived arch is the
argmax of the logits (the mode of the fully factorised distribution) under :meth:`Supernet.derive`.
Left out: SNAS's resource constraint (the multi-objective machinery covers costs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from archsearch.core.options import check_number
from archsearch.strategies.oneshot.base import OneShotStrategy, Paths, gumbel_softmax

TAU_INITIAL, TAU_DECAY, TAU_MIN = 1.0, 0.97, 0.03


class Snas(OneShotStrategy):
    """``--strategy snas``: relaxed Gumbel-softmax samples, joint updates, annealed temperature."""

    name = "snas"
    arch_step = "joint"
    option_names = ("tau_initial", "tau_decay", "tau_min")

    def configure(self, tau_initial: Any = TAU_INITIAL, tau_decay: Any = TAU_DECAY, tau_min: Any = TAU_MIN) -> None:
        self.tau_initial = check_number(self.name, "tau_initial", tau_initial, 1e-6)
        self.tau_decay = check_number(self.name, "tau_decay", tau_decay, 1e-6, 1.0)
        self.tau_min = check_number(self.name, "tau_min", tau_min, 1e-6)

    def temperature(self, epoch: int) -> float:
        return max(self.tau_min, self.tau_initial * self.tau_decay**epoch)

    def weight_paths(self, logits: Mapping[str, torch.Tensor], epoch: int, generator: torch.Generator) -> Paths:
        tau = self.temperature(epoch)
        return {key: gumbel_softmax(value, tau, generator, hard=False)[0] for key, value in logits.items()}
