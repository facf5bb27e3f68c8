"""DARTS: differentiable architecture search (Liu, Simonyan & Yang, ICLR 2019).

Each edge computes the softmax(alpha)-weighted sum of its ops; weights w and logits alpha are trained
alternately (bilevel): w by SGD on one half of the training data, alpha by Adam (lr 3e-4, betas (0.5,
0.999), weight decay 1e-3) on the other half. ``order=1`` takes the gradient of the validation loss at
the current w (the paper's first-order DARTS); ``order=2`` the unrolled gradient through one virtual SGD
step w' = w - xi * grad_w L_train, whose Hessian-vector product is the paper's finite difference
(Eq. 7-8: eps = 0.01 / ||grad_w' L_val||, xi = the current weight learning rate, momentum and weight
decay included as in quark0/darts ``architect.py``). The derived arch follows :meth:`Supernet.derive`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from archsearch.core.errors import UserError
from archsearch.strategies.oneshot.base import OneShotStrategy, Paths


class Darts(OneShotStrategy):
    """``--strategy darts [--set strategy.order=2]``."""

    name = "darts"
    option_names = ("order",)

    def configure(self, order: Any = 1) -> None:
        if order not in (1, 2) or isinstance(order, bool):
            raise UserError(f"strategy darts: order must be 1 (first order) or 2 (second order), got {order!r}")
        self.order = int(order)

    def weight_paths(self, logits: Mapping[str, torch.Tensor], epoch: int, generator: torch.Generator) -> Paths:
        return {key: value.softmax(-1) for key, value in logits.items()}
