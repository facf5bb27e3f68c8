"""Meta-architecture search for few-shot learning: T-NAS and MetaNAS on a supernet of NB201 cells.

Both learn, across tasks, the weights AND the architecture logits of a
:class:`~archsearch.nn.fewshot_cells.FewShotCellNetwork` (the 4-stage few-shot backbone with NB201 supernet
cells), so that a few gradient steps on a new task's support set adapt both; the adapted logits give a
task-specific architecture (the strongest op of each edge), which is then fine-tuned on the support set and
predicts the queries.

- ``tnas`` — T-NAS (Lian, Zheng, Xu, Lu, Lin, Zhao & Gao, "Towards Fast Adaptation of Neural Architectures with
  Meta Learning", ICLR 2020, Alg. 1-2): MAML over the architecture parameters and the weights: inner SGD steps
  on the support set (weights lr ``inner_lr``, logits lr ``arch_inner_lr``), outer Adam steps on the query loss
  of the adapted parameters (weights ``outer_lr``, logits ``arch_outer_lr``), first-order by default on CPU
  (``first_order=False``: second order through the inner steps). At test time: ``test_steps`` inner steps,
  derive the task-specific arch, ``finetune_steps`` more steps on the weights of that discrete network.
- ``metanas`` — MetaNAS (Elsken, Staffler, Metzen & Hutter, "Meta-Learning of Neural Architectures for Few-Shot
  Learning", CVPR 2020): DARTS with Reptile (Nichol et al. 2018) over weights and architecture: per task
  ``reptile_steps`` Adam steps (lr ``reptile_lr``) on the task's support and query images, then
  ``theta += eps * mean_i(phi_i - theta)`` with ``eps`` annealed linearly from 1 to 0 (Reptile's Omniglot
  setting). Test time as T-NAS.

Both anneal the softmax temperature of the logits from 1 to ``temperature_end`` (0.05) over meta-training,
exponentially: MetaNAS's soft pruning (Sec. 3.3), which drives the mixture towards one op per edge so that
deriving the discrete task net at test time does not lose what the relaxed net learned; the derived net also
keeps each chosen op's softmax weight as a constant factor (``keep_op_weights``; foldable into the op's
BatchNorm, no parameters added). Measured on Omniglot 5-way 1-shot after 200 x 4 tasks of T-NAS (100
meta-test episodes): derived nets 45.6% without either, 46.1% with the kept weights alone, 75.4% with the
annealing (the adapted relaxed supernet itself: 67.5%). Set ``temperature_end=1`` for the plain softmax.

``arch_warmup`` outer steps train the weights alone first, the logits held (PC-DARTS, Xu et al., ICLR 2020:
15 of 50 search epochs; ProxylessNAS warms up as well), against parameter-free ops winning an early search.

Sizes are CPU-sized (16 channels, the papers use 28-64): a run meta-trains in minutes on 2 cores.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.fewshot.episodes import Episode
from archsearch.fewshot.learners.base import FewShotLearner
from archsearch.fewshot.learners.protonet import episode_logits
from archsearch.nn.fewshot_cells import ARCH_PARAMETER, FewShotCellNetwork
from archsearch.nn.fewshot_darts import FewShotDartsNetwork

METHODS = ("tnas", "metanas", "protonet")
NETWORKS = {"nb201": FewShotCellNetwork, "darts": FewShotDartsNetwork}  # the few-shot supernet of each space
NETWORK_SIZES = {"nb201": (16, 4), "darts": (8, 3)}  # (channels, stages or cells) when not given


@dataclass
class MetaSearchSettings:
    """Defaults in one visible block (T-NAS / MAML Omniglot settings where they exist, CPU-sized nets)."""

    method: str = "tnas"
    space: str = "nb201"  # nb201: 4 stages of one NB201 cell; darts: DARTS search cells (T-NAS's space)
    ways: int = 5
    shots: int = 1
    queries: int = 5  # query images per class in meta-training episodes
    channels: int = 0  # 0: the space's default (NETWORK_SIZES)
    stages: int = 0  # NB201: stages of (cell, pool); DARTS: cells (reductions at 1/3 and 2/3)
    meta_batch: int = 4  # tasks per outer step (MAML Omniglot: 32)
    inner_steps: int = 1  # MAML Omniglot 5-way: 1 step in meta-training
    test_steps: int = 3  # MAML: 3 steps at test
    finetune_steps: int = 5  # on the derived discrete network's weights
    keep_op_weights: bool = True  # derived net: each chosen op times its (adapted) softmax weight, a constant
    temperature_end: float = 0.05  # softmax temperature annealed 1 -> this over meta-training (MetaNAS soft pruning)
    inner_lr: float = 0.4  # MAML Omniglot 5-way inner lr
    arch_inner_lr: float = 0.4
    outer_lr: float = 1e-3  # Adam, MAML
    arch_outer_lr: float = 3e-3  # Adam on the logits (DARTS uses 3e-4 with 50 epochs; fewer steps here)
    first_order: bool = True
    reptile_steps: int = 5  # MetaNAS / Reptile Omniglot: 5 inner Adam steps, lr 1e-3
    reptile_lr: float = 1e-3
    arch_warmup: int = 0  # outer steps that train the weights alone before the logits move (PC-DARTS: 15 of 50 epochs)

    def check(self) -> "MetaSearchSettings":
        if self.method not in METHODS:
            raise UserError(f"unknown meta-search method {self.method!r}; choose from: {', '.join(METHODS)}")
        if self.space not in NETWORKS:
            raise UserError(f"meta-search has no network for space {self.space!r}; choose from: "
                            f"{', '.join(NETWORKS)}")
        channels, stages = NETWORK_SIZES[self.space]
        self.channels = self.channels or channels
        self.stages = self.stages or stages
        for item in fields(self):
            value = getattr(self, item.name)
            if item.type in ("int", int) and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise UserError(f"meta-search: {item.name} must be a non-negative integer, got {value!r}")
            if item.type in ("float", float) and (isinstance(value, bool) or not isinstance(value, (int, float))
                                                  or not np.isfinite(value) or value < 0):
                raise UserError(f"meta-search: {item.name} must be a non-negative number, got {value!r}")
        for name in ("ways", "shots", "channels", "stages", "meta_batch"):
            if getattr(self, name) < 1:
                raise UserError(f"meta-search: {name} must be at least 1, got {getattr(self, name)}")
        if not self.temperature_end > 0:
            raise UserError(f"meta-search: temperature_end must be positive, got {self.temperature_end!r}")
        if self.ways < 2:
            raise UserError(f"meta-search: ways must be at least 2, got {self.ways}")
        return self


def build_network(settings: MetaSearchSettings, generator: torch.Generator | None = None) -> nn.Module:
    """The few-shot supernet of ``settings.space`` (an embedding without a head for ``protonet``)."""
    ways = None if settings.method == "protonet" else settings.ways
    return NETWORKS[settings.space](ways, channels=settings.channels, stages=settings.stages, generator=generator)


def _loss(net: nn.Module, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(functional_call(net, params, (x,)), y)


class MetaArchitectureLearner(FewShotLearner):
    """T-NAS or MetaNAS around a :class:`FewShotCellNetwork`; ``derived`` lists the archs of tested tasks."""

    def __init__(self, settings: MetaSearchSettings, seed: int = 0) -> None:
        super().__init__()
        self.settings = settings.check()
        self.name = settings.method
        self.meta_batch = settings.meta_batch
        generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = build_network(settings, generator)
        weights = [p for n, p in self.net.named_parameters() if n != ARCH_PARAMETER]
        self.weight_optimizer = torch.optim.Adam(weights, lr=settings.outer_lr)
        self.arch_optimizer = torch.optim.Adam([self.net.arch_logits], lr=settings.arch_outer_lr, betas=(0.5, 0.999))
        self.iterations, self.step_count = 0, 0
        self.derived: list[Arch] = []

    # -- adaptation -------------------------------------------------------------------------------
    def _rate(self, name: str) -> float:
        return self.settings.arch_inner_lr if name == ARCH_PARAMETER else self.settings.inner_lr

    def adapt(self, x: torch.Tensor, y: torch.Tensor, steps: int, params: dict[str, torch.Tensor] | None = None,
              create_graph: bool = False, names: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """``steps`` SGD steps of the support loss on ``names`` (default: weights and logits), functionally."""
        params = dict(self.net.named_parameters()) if params is None else dict(params)
        names = list(params) if names is None else list(names)
        for _ in range(steps):
            grads = torch.autograd.grad(_loss(self.net, params, x, y), [params[n] for n in names],
                                        create_graph=create_graph, allow_unused=True)
            for name, grad in zip(names, grads):
                if grad is not None:
                    params[name] = params[name] - self._rate(name) * (grad if create_graph else grad.detach())
        return params

    # -- meta-training ------------------------------------------------------------------------------
    def start(self, iterations: int) -> None:
        self.iterations = max(1, self.step_count + iterations)

    def meta_train_step(self, episodes: Sequence[Episode]) -> float:
        self.net.temperature = self.temperature(self.step_count)
        step = {"tnas": self._tnas_step, "metanas": self._metanas_step, "protonet": self._protonet_step}
        held = self.net.arch_logits.detach().clone() if self.warming_up() else None
        loss = step[self.settings.method](episodes)
        if held is not None:  # the weights learn on a uniform mixture first (Reptile moved the logits too)
            with torch.no_grad():
                self.net.arch_logits.copy_(held)
        self.step_count += 1
        return loss

    def warming_up(self) -> bool:
        """Whether this outer step is one of the ``arch_warmup`` weight-only steps (parameter-free ops win
        an early DARTS search because they need no training: the warm-up lets the convolutions catch up)."""
        return self.step_count < self.settings.arch_warmup

    def temperature(self, step: int) -> float:
        """Exponential annealing 1 -> ``temperature_end`` over the planned iterations (then constant)."""
        fraction = min(1.0, step / max(1, self.iterations))
        return float(self.settings.temperature_end ** fraction)

    def _tnas_step(self, episodes: Sequence[Episode]) -> float:
        self.weight_optimizer.zero_grad(set_to_none=True)
        self.arch_optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for episode in episodes:
            fast = self.adapt(episode.support_x, episode.support_y, self.settings.inner_steps,
                              create_graph=not self.settings.first_order)
            query_loss = _loss(self.net, fast, episode.query_x, episode.query_y) / len(episodes)
            query_loss.backward()  # first order: d/dtheta of (theta - lr * g) with g detached is the identity
            total += query_loss.item() * len(episodes)
        self.weight_optimizer.step()
        if not self.warming_up():
            self.arch_optimizer.step()
        return total / len(episodes)

    def _metanas_step(self, episodes: Sequence[Episode]) -> float:
        theta = {n: p.detach().clone() for n, p in self.net.named_parameters()}
        moved = {n: torch.zeros_like(p) for n, p in theta.items()}
        total = 0.0
        for episode in episodes:
            task_net = copy.deepcopy(self.net)
            optimizer = torch.optim.Adam(task_net.parameters(), lr=self.settings.reptile_lr, betas=(0.0, 0.999))
            x = torch.cat([episode.support_x, episode.query_x])
            y = torch.cat([episode.support_y, episode.query_y])
            for _ in range(self.settings.reptile_steps):
                optimizer.zero_grad(set_to_none=True)
                loss = F.cross_entropy(task_net(x), y)
                loss.backward()
                optimizer.step()
            total += loss.item()
            for name, parameter in task_net.named_parameters():
                moved[name] += parameter.detach() - theta[name]
        epsilon = 1.0 - self.step_count / self.iterations  # Reptile: outer step size annealed 1 -> 0
        with torch.no_grad():
            for name, parameter in self.net.named_parameters():
                parameter.copy_(theta[name] + epsilon * moved[name] / len(episodes))
        return total / len(episodes)

    def _protonet_step(self, episodes: Sequence[Episode]) -> float:
        """First-order DARTS on the prototypical loss: a weight step on each even episode of the batch, an
        architecture step on each odd one (a batch of one episode steps both on it); every episode steps the
        weights during the ``arch_warmup``."""
        total = 0.0
        for k, episode in enumerate(episodes):
            arch_step = (k % 2 == 1 or len(episodes) == 1) and not self.warming_up()
            weight_step = k % 2 == 0 or self.warming_up()
            self.weight_optimizer.zero_grad(set_to_none=True)
            self.arch_optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(episode_logits(self.net, episode), episode.query_y)
            loss.backward()
            if weight_step:
                self.weight_optimizer.step()
            if arch_step:
                self.arch_optimizer.step()
            total += loss.item()
        return total / len(episodes)

    # -- test time ----------------------------------------------------------------------------------
    def predict(self, episode: Episode) -> torch.Tensor:
        """Adapt weights and logits on the support set, derive the task's arch, fine-tune its weights,
        return the query logits (N*Q, N). BatchNorm uses the batch's statistics (MAML's transductive BN)."""
        if self.settings.method == "protonet":
            return self._predict_prototypes(episode)
        was_training = self.net.training
        self.net.train()
        self.net.temperature = self.temperature(self.step_count)
        try:
            with torch.enable_grad():
                fast = self.adapt(episode.support_x, episode.support_y, self.settings.test_steps)
                arch = self.net.derive(fast[ARCH_PARAMETER].detach())
                self.net.fix(arch, fast[ARCH_PARAMETER] if self.settings.keep_op_weights else None)
                weights = [n for n in fast if self.net.uses(n, arch)]
                fast = self.adapt(episode.support_x, episode.support_y, self.settings.finetune_steps, fast,
                                  names=weights)
            with torch.no_grad():
                logits = functional_call(self.net, fast, (episode.query_x,))
        finally:
            self.net.fix(None)
            self.net.train(was_training)
        self.derived.append(arch)
        return logits

    def _predict_prototypes(self, episode: Episode) -> torch.Tensor:
        """The searched embedding's derived arch (chosen ops with their weights) as a prototypical network."""
        self.net.temperature = self.temperature(self.step_count)
        arch = self.net.derive()
        self.net.fix(arch, self.net.arch_logits if self.settings.keep_op_weights else None)
        try:
            with torch.no_grad():
                logits = episode_logits(self.net, episode)
        finally:
            self.net.fix(None)
        self.derived.append(arch)
        return logits

    def deployed_parameters(self) -> float:
        """Mean parameter count of the task-specific networks derived so far (the meta-arch if none)."""
        archs = self.derived or [self.net.derive()]
        return float(np.mean([self.net.discrete_parameters(a) for a in archs]))

    # -- saving -----------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        torch.save({"settings": asdict(self.settings), "state": self.state_dict(), "step_count": self.step_count,
                    "weight_optimizer": self.weight_optimizer.state_dict(),
                    "arch_optimizer": self.arch_optimizer.state_dict()}, buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "MetaArchitectureLearner":
        try:
            saved = torch.load(io.BytesIO(blob), weights_only=True)
            learner = cls(MetaSearchSettings(**saved["settings"]))
            learner.load_state_dict(saved["state"])
            learner.weight_optimizer.load_state_dict(saved["weight_optimizer"])
            learner.arch_optimizer.load_state_dict(saved["arch_optimizer"])
        except (RuntimeError, KeyError, TypeError, ValueError, EOFError) as exc:
            raise UserError(f"the stored meta-architecture is corrupt ({type(exc).__name__})") from None
        learner.step_count = int(saved["step_count"])
        return learner

