"""MAML: Model-Agnostic Meta-Learning (Finn, Abbeel & Levine, ICML 2017).

Inner loop: ``steps`` plain SGD steps on the support loss, ``phi = theta - alpha * grad L_support(theta)``,
on fast weights (a dict of tensors run through ``torch.func.functional_call``, so any ``nn.Module`` whose
forward takes just ``x`` works, e.g. a supernet whose architecture logits are parameters; ``param_filter``
chooses what adapts). Second-order MAML keeps the graph through the inner steps (``create_graph``), so the
outer gradient includes the Hessian term; first-order MAML (FOMAML) detaches the inner gradients.
Outer loop: Adam on the mean query loss of a meta-batch of tasks.

Settings, Omniglot (paper Sec. 5.2 and cbfinn/maml ``main.py``): 5-way: inner lr alpha = 0.4, 1 inner step,
meta-batch 32; 20-way: alpha = 0.1, 5 steps, meta-batch 16; outer Adam lr beta = 1e-3; training episodes
with K query images per class (``update_batch_size * 2`` samples); 40k-60k iterations; evaluation with 3
inner steps at the same alpha (paper, App. A.1) on 600 episodes. BatchNorm uses the statistics of the batch
also at test time (transductive), as in the original: :func:`~archsearch.fewshot.backbones.conv4` with
``track_running_stats=False``; for other backbones ``predict`` runs them in train mode on copies of their
buffers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from archsearch.fewshot.episodes import Episode
from archsearch.fewshot.learners.base import FewShotLearner, check_logits, checked_cross_entropy

# ---- defaults (Finn et al. 2017, Omniglot 5-way) ----------------------------------------------------------
INNER_LR = 0.4
INNER_STEPS = 1
TEST_STEPS = 3
META_BATCH = 32
OUTER_LR = 1e-3
TWENTY_WAY = {"inner_lr": 0.1, "inner_steps": 5, "meta_batch": 16}  # the paper's 20-way Omniglot settings

ParamFilter = Callable[[str], bool]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def forward_with(model: nn.Module, params: Mapping[str, torch.Tensor], x: torch.Tensor,
                 buffers: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
    """``model(x)`` with ``params`` (and ``buffers``) in place of the module's own tensors."""
    tensors = dict(params) if buffers is None else {**params, **buffers}
    return functional_call(model, tensors, (x,))


def buffer_copies(model: nn.Module) -> dict[str, torch.Tensor]:
    """Clones of the module's buffers: BatchNorm updates in train mode land on them, not on the module."""
    return {name: b.clone() for name, b in model.named_buffers()}


def adapted_names(params: Mapping[str, torch.Tensor], param_filter: ParamFilter | None) -> list[str]:
    return [n for n, p in params.items() if p.requires_grad and (param_filter is None or param_filter(n))]


def maml_adapt(model: nn.Module, support_x: torch.Tensor, support_y: torch.Tensor, steps: int, inner_lr: float,
               first_order: bool = False, params: Mapping[str, torch.Tensor] | None = None,
               param_filter: ParamFilter | None = None, loss_fn: LossFn = F.cross_entropy,
               buffers: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """MAML's inner loop: ``steps`` SGD steps of ``inner_lr`` on ``loss_fn(model(support_x), support_y)``.

    Returns the fast weights: every entry of ``params`` (default: the module's named parameters), the
    adapted ones (``param_filter(name)`` true, default all that require grad) replaced by
    ``p - inner_lr * grad``. With ``first_order`` the gradients are detached (FOMAML); otherwise the result
    is differentiable through the inner steps w.r.t. ``params`` (second order). Parameters the loss does
    not reach get no update. Gradients are enabled inside, so it also works under ``torch.no_grad()``.
    """
    fast = dict(model.named_parameters()) if params is None else dict(params)
    names = adapted_names(fast, param_filter)
    with torch.enable_grad():
        for _ in range(steps):
            loss = loss_fn(forward_with(model, fast, support_x, buffers), support_y)
            grads = torch.autograd.grad(loss, [fast[n] for n in names], create_graph=not first_order,
                                        allow_unused=True)
            for name, grad in zip(names, grads):
                if grad is not None:
                    fast[name] = fast[name] - inner_lr * (grad.detach() if first_order else grad)
    return fast


class MAMLLearner(FewShotLearner):
    """MAML (or FOMAML with ``first_order``) on any backbone mapping (B, 1, 28, 28) -> (B, N) logits."""

    name = "maml"

    def __init__(self, model: nn.Module, *, inner_lr: float = INNER_LR, inner_steps: int = INNER_STEPS,
                 test_steps: int = TEST_STEPS, outer_lr: float = OUTER_LR, meta_batch: int = META_BATCH,
                 first_order: bool = False, param_filter: ParamFilter | None = None) -> None:
        super().__init__()
        self.model = model
        self.inner_lr, self.inner_steps, self.test_steps = inner_lr, inner_steps, test_steps
        self.meta_batch, self.first_order, self.param_filter = meta_batch, first_order, param_filter
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=outer_lr)

    def meta_train_step(self, episodes: Sequence[Episode]) -> float:
        self.optimizer.zero_grad()
        total = 0.0
        for episode in episodes:  # one backward per task keeps one task's graph in memory at a time
            fast = maml_adapt(self.model, episode.support_x, episode.support_y, self.inner_steps, self.inner_lr,
                              first_order=self.first_order, param_filter=self.param_filter,
                              loss_fn=checked_cross_entropy(episode, self.name))
            logits = check_logits(forward_with(self.model, fast, episode.query_x), episode, self.name)
            loss = F.cross_entropy(logits, episode.query_y) / len(episodes)
            loss.backward()
            total += float(loss.detach())
        self.optimizer.step()
        return total

    def predict(self, episode: Episode) -> torch.Tensor:
        was_training = self.model.training
        self.model.train()  # transductive BatchNorm: statistics of the support / query batch
        buffers = buffer_copies(self.model)
        try:
            fast = maml_adapt(self.model, episode.support_x, episode.support_y, self.test_steps, self.inner_lr,
                              first_order=True, param_filter=self.param_filter, buffers=buffers,
                              loss_fn=checked_cross_entropy(episode, self.name))
            with torch.no_grad():
                logits = forward_with(self.model, {n: p.detach() for n, p in fast.items()}, episode.query_x,
                                      buffers)
        finally:
            self.model.train(was_training)
        return check_logits(logits, episode, self.name)
