"""Reptile (Nichol, Achiam & Schulman, "On First-Order Meta-Learning Algorithms", 2018).

Inner loop: ``inner_steps`` Adam steps (beta1 = 0) on mini-batches of the task's examples, from theta to
phi (:func:`reptile_adapt`, on detached copies; the module is left as it was). Outer update
(:func:`reptile_outer_update`): ``theta <- theta + epsilon * (mean_i phi_i - theta)`` over the meta-batch,
with epsilon annealed linearly from ``meta_step`` to ``meta_step_final`` over the meta-training.

Settings: openai/supervised-reptile README, "transductive 1-shot 5-way Omniglot": ``--inner-batch 25
--inner-iters 3 --meta-step 1 --meta-batch 10 --meta-iters 100000 --eval-batch 25 --eval-iters 5
--learning-rate 0.001 --meta-step-final 0 --train-shots 15 --transductive``. A training task is 15 images per
class (support and query are pooled; no query loss). Deviation: the reference keeps the inner Adam's moments
across tasks; here each task starts a fresh Adam, so tasks (and evaluation) are independent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from archsearch.fewshot.episodes import Episode
from archsearch.fewshot.learners.base import FewShotLearner, check_logits, checked_cross_entropy
from archsearch.fewshot.learners.maml import (LossFn, ParamFilter, adapted_names, buffer_copies,
                                              forward_with)

# ---- defaults (Nichol et al. 2018, transductive 1-shot 5-way Omniglot) -------------------------------------
INNER_LR = 1e-3  # Adam
INNER_BETAS = (0.0, 0.999)  # beta1 = 0 in the inner loop
INNER_STEPS = 3
INNER_BATCH = 25
META_STEP = 1.0  # epsilon, linearly annealed to META_STEP_FINAL
META_STEP_FINAL = 0.0
META_BATCH = 10
EVAL_STEPS = 5
EVAL_BATCH = 25
TRAIN_SHOTS = 15  # images per class in a training task


def reptile_adapt(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, inner_lr: float, *,
                  batch_size: int | None = None, param_filter: ParamFilter | None = None,
                  loss_fn: LossFn = F.cross_entropy, generator: torch.Generator | None = None,
                  buffers: Mapping[str, torch.Tensor] | None = None, optimizer: str = "adam"
                  ) -> dict[str, torch.Tensor]:
    """Reptile's inner loop from the module's parameters: ``steps`` Adam (beta1 = 0) or SGD steps on
    mini-batches of ``batch_size`` (default all) drawn without replacement, cycling through (x, y).

    Returns detached adapted weights (phi) for the parameters ``param_filter`` selects; the module is unchanged.
    """
    params = dict(model.named_parameters())
    names = adapted_names(params, param_filter)
    fast = {n: params[n].detach().clone().requires_grad_(True) for n in names}
    fixed = {n: p.detach() for n, p in params.items() if n not in fast}
    opt = (torch.optim.Adam(list(fast.values()), lr=inner_lr, betas=INNER_BETAS) if optimizer == "adam"
           else torch.optim.SGD(list(fast.values()), lr=inner_lr))
    size = len(y) if batch_size is None else min(batch_size, len(y))
    order = torch.empty(0, dtype=torch.long)
    with torch.enable_grad():
        for _ in range(steps):
            if len(order) < size:  # a new pass over the shuffled task
                order = torch.cat([order, torch.randperm(len(y), generator=generator)])
            batch, order = order[:size].to(y.device), order[size:]
            loss = loss_fn(forward_with(model, {**fixed, **fast}, x[batch], buffers), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return {n: p.detach() for n, p in fast.items()}


def reptile_outer_update(model: nn.Module, adapted: Sequence[Mapping[str, torch.Tensor]], epsilon: float) -> None:
    """``theta <- theta + epsilon * (mean_i phi_i - theta)`` for every parameter the phi_i hold."""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name in adapted[0]:
            mean = torch.stack([phi[name] for phi in adapted]).mean(dim=0)
            params[name].add_(epsilon * (mean - params[name]))


class ReptileLearner(FewShotLearner):
    """Reptile on any backbone mapping (B, 1, 28, 28) -> (B, N) logits; transductive BatchNorm at test."""

    name = "reptile"

    def __init__(self, model: nn.Module, *, inner_lr: float = INNER_LR, inner_steps: int = INNER_STEPS,
                 inner_batch: int = INNER_BATCH, meta_step: float = META_STEP,
                 meta_step_final: float = META_STEP_FINAL, meta_batch: int = META_BATCH,
                 eval_steps: int = EVAL_STEPS, eval_batch: int = EVAL_BATCH,
                 param_filter: ParamFilter | None = None, seed: int = 0) -> None:
        super().__init__()
        self.model = model
        self.inner_lr, self.inner_steps, self.inner_batch = inner_lr, inner_steps, inner_batch
        self.meta_step, self.meta_step_final, self.meta_batch = meta_step, meta_step_final, meta_batch
        self.eval_steps, self.eval_batch, self.param_filter = eval_steps, eval_batch, param_filter
        self.generator = torch.Generator().manual_seed(seed)
        self.iteration, self.iterations = 0, 0

    def start(self, iterations: int) -> None:
        self.iteration, self.iterations = 0, iterations

    def epsilon(self) -> float:
        """The outer step size, linear from meta_step to meta_step_final over the meta-training."""
        frac = self.iteration / self.iterations if self.iterations else 0.0
        return frac * self.meta_step_final + (1 - frac) * self.meta_step

    def meta_train_step(self, episodes: Sequence[Episode]) -> float:
        adapted = []
        losses = []
        for episode in episodes:
            x = torch.cat([episode.support_x, episode.query_x])  # the task's images, (N*(K+Q), 1, 28, 28)
            y = torch.cat([episode.support_y, episode.query_y])
            with torch.no_grad():
                losses.append(float(F.cross_entropy(check_logits(self.model(x), episode, self.name), y)))
            adapted.append(reptile_adapt(self.model, x, y, self.inner_steps, self.inner_lr,
                                         batch_size=self.inner_batch, param_filter=self.param_filter,
                                         generator=self.generator))
        reptile_outer_update(self.model, adapted, self.epsilon())
        self.iteration += 1
        return sum(losses) / len(losses)  # the loss before adaptation

    def predict(self, episode: Episode) -> torch.Tensor:
        was_training = self.model.training
        self.model.train()  # transductive BatchNorm
        buffers = buffer_copies(self.model)
        generator = torch.Generator().manual_seed(0)  # evaluation does not depend on what ran before
        try:
            fast = reptile_adapt(self.model, episode.support_x, episode.support_y, self.eval_steps, self.inner_lr,
                                 batch_size=self.eval_batch, param_filter=self.param_filter, generator=generator,
                                 buffers=buffers, loss_fn=checked_cross_entropy(episode, self.name))
            params = {n: p.detach() for n, p in self.model.named_parameters()}
            with torch.no_grad():
                logits = forward_with(self.model, {**params, **fast}, episode.query_x, buffers)
        finally:
            self.model.train(was_training)
        return check_logits(logits, episode, self.name)
