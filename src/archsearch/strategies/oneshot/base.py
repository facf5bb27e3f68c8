"""The base of one-shot strategies and the supernet training recipe they carry.

One-shot strategies differ from one another only in how they relax the architecture logits. One sees
logit tensors, never the network or the data: it says which paths a weight step and an architecture
step use (:meth:`OneShotStrategy.weight_paths`, :meth:`OneShotStrategy.arch_paths`), and at the end it
receives the derived architecture(s) from the engine (:class:`archsearch.estimators.supernet.OneShotSearch`,
run by the study before any trial) and hands them, through ``ask``, to the study's estimator (training
from scratch, or the tabular benchmark). Its ``state_dict`` records whether the search is done and
what it derived, so a resumed study neither searches twice nor asks twice.

Recipe defaults (one visible block below) are the DARTS search settings (Liu et al. 2019, Sec. 3.1.1 /
A.1.1): SGD momentum 0.9, lr 0.025 cosine-annealed to 0.001 per epoch, weight decay 3e-4, gradient
clipping 5, batch 64, half of the training data for the weights and half for the architecture, whose
logits use Adam (lr 3e-4, betas (0.5, 0.999), weight decay 1e-3). The paper searches 50 epochs on
CIFAR-10; the default here is 10 so a laptop search ends (``--set strategy.epochs=50``). ``warmup_epochs``
(default 0, as DARTS, SNAS and GDAS) trains the weights alone first, the logits frozen at their near-uniform
initialisation, as PC-DARTS (Xu et al. ICLR 2020, 15 of 50 epochs) and ProxylessNAS do against an early lead of
parameter-free ops whose competitors are not trained yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

import torch

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.recipe import TrainingRecipe, setting
from archsearch.core.result import Result
from archsearch.core.strategy import Strategy

# -- the default recipe, in one visible block ---------------------------------------------------
EPOCHS = 10
BATCH_SIZE = 64
LEARNING_RATE = 0.025
LEARNING_RATE_MIN = 0.001
MOMENTUM = 0.9
WEIGHT_DECAY = 3e-4
GRAD_CLIP = 5.0
TRAIN_PORTION = 0.5           # share of the training split for the weights; the rest for the architecture
ARCH_LEARNING_RATE = 3e-4
ARCH_WEIGHT_DECAY = 1e-3
ARCH_BETAS = (0.5, 0.999)
WARMUP_EPOCHS = 0             # epochs of weight steps only before the logits learn (PC-DARTS: 15 of 50)
HESSIAN_EVERY = 5             # epochs between dominant-eigenvalue measurements (0: never)
HESSIAN_ITERATIONS = 20       # power iterations
EARLY_STOP_WINDOW = 2         # measurements averaged by the RobustDARTS rule
EARLY_STOP_RATIO = 0.75       # stop when mean eigenvalue of the previous window / current window < this
DERIVED_EVAL_IMAGES = 1024    # held-out images (a fixed subset) that score the derived arch after every epoch (0: all)

Paths = Mapping[str, Union[torch.Tensor, int, tuple[torch.Tensor, int]]]


@dataclass(frozen=True)
class SupernetRecipe(TrainingRecipe):
    """How the supernet is trained (every field is a strategy option: ``--set strategy.epochs=5``); the settings
    every recipe has are :class:`archsearch.core.recipe.TrainingRecipe`'s, some with checks of their own here."""

    epochs: int = setting(EPOCHS, kind="int", minimum=1)  # whole epochs: the learning rate is annealed per epoch
    batch_size: int = BATCH_SIZE
    lr: float = setting(LEARNING_RATE, kind="number", minimum=0.0)
    momentum: float = MOMENTUM
    weight_decay: float = setting(WEIGHT_DECAY, kind="number", minimum=0.0, maximum=1.0)
    grad_clip: float = setting(GRAD_CLIP, kind="number", minimum=0.0)
    lr_min: float = setting(LEARNING_RATE_MIN, kind="number", minimum=0.0)
    train_portion: float = setting(TRAIN_PORTION, kind="number", minimum=0.05, maximum=0.95)
    # a fixed subsample of the training split to search on (budgeted search)
    fraction: float = setting(1.0, kind="number", minimum=1e-6, maximum=1.0)
    arch_lr: float = setting(ARCH_LEARNING_RATE, kind="number", minimum=0.0)
    arch_weight_decay: float = setting(ARCH_WEIGHT_DECAY, kind="number", minimum=0.0, maximum=1.0)
    # weights only (paths from the initial, near-uniform logits) for the first epochs, then the logits learn too
    warmup_epochs: int = setting(WARMUP_EPOCHS, kind="int", minimum=0)
    net: dict[str, Any] = field(default_factory=dict)  # supernet size, e.g. {"channels": 8, "cells_per_stage": 1}
    hessian_every: int = setting(HESSIAN_EVERY, kind="int", minimum=0)
    hessian_iterations: int = setting(HESSIAN_ITERATIONS, kind="int", minimum=1)
    early_stop: bool = setting(False, kind="bool")
    early_stop_window: int = setting(EARLY_STOP_WINDOW, kind="int", minimum=1)
    # the per-epoch shared-weight accuracy of the derived arch (a progress curve) is taken on this many held-out
    # images, a fixed random subset (0: the whole held-out part); the final ranking of candidates uses all of it
    derived_eval_images: int = setting(DERIVED_EVAL_IMAGES, kind="int", minimum=0)

    @classmethod
    def from_options(cls, owner: str, options: Mapping[str, Any]) -> "SupernetRecipe":
        if not isinstance(options.get("net", {}), Mapping):
            raise UserError(f"{owner}: net must be a mapping of network options, e.g. {{channels: 8}}")
        return super().from_options(owner, options)


class OneShotStrategy(Strategy):
    """Base of DARTS, SNAS, GDAS and RS-WS. Subclasses set the class flags and the relaxations."""

    requires: ClassVar[frozenset[str]] = frozenset({"supernet"})
    supports_warm_start: ClassVar[bool] = False
    arch_step: ClassVar[str] = "bilevel"  # "bilevel": arch half; "joint": same batch as the weights; "none"
    bn_recalibration: int = 0  # batches that recalibrate BatchNorm per path before a candidate is scored (0: batch stats)
    rank_by: str = "accuracy"  # how candidates are scored with the shared weights: "accuracy" or "loss"
    split_dim: str = ""  # a few-shot split (Zhao et al. 2021) on this dim for the last split_epochs ("": none)
    split_epochs: int = 0
    option_names: ClassVar[tuple[str, ...]] = ()  # the subclass's own options

    def __init__(self, **options: Any) -> None:
        own = {k: options.pop(k) for k in list(options) if k in self.option_names}
        unknown = sorted(set(options) - set(SupernetRecipe.option_names()))
        if unknown:
            raise UserError(f"unknown option strategy.{unknown[0]} for strategy {self.name!r}; options: "
                            f"{', '.join([*self.option_names, *SupernetRecipe.option_names()])}")
        self.recipe = SupernetRecipe.from_options(self.name, options)
        if self.arch_step != "none" and self.recipe.warmup_epochs >= self.recipe.epochs:
            raise UserError(f"strategy {self.name}: warmup_epochs ({self.recipe.warmup_epochs}) must be fewer than "
                            f"epochs ({self.recipe.epochs}), or the architecture never learns")
        self.configure(**own)

    def configure(self, **options: Any) -> None:
        """The subclass's own options (checked)."""

    def setup(self) -> None:
        self.searched = False
        self.derived: list[Arch] = []
        self.handed = 0

    # -- relaxations (pure functions of the logits) ---------------------------------------------
    def temperature(self, epoch: int) -> float | None:
        """The Gumbel-softmax temperature at ``epoch`` (0-based); ``None`` when not sampling."""
        return None

    def weight_paths(self, logits: Mapping[str, torch.Tensor], epoch: int,
                     generator: torch.Generator) -> Paths | Arch:
        """Paths of a weight step (an ``Arch`` for a discrete sample)."""
        raise NotImplementedError

    def arch_paths(self, logits: Mapping[str, torch.Tensor], epoch: int, generator: torch.Generator) -> Paths:
        """Paths of an architecture step (the logits get the gradient)."""
        return self.weight_paths(logits, epoch, generator)  # type: ignore[return-value]

    def candidates(self) -> list[Arch]:
        """Archs the engine ranks by shared-weight accuracy at the end (none: the derived arch is the answer)."""
        return []

    # -- the hand-over ------------------------------------------------------------------------
    def finish(self, ranked: Sequence[Arch]) -> None:
        """The engine's final answer, best first."""
        self.derived, self.searched = list(ranked), True

    def finished(self) -> bool:
        return self.searched and self.handed >= len(self.derived)

    def ask(self, n: int = 1) -> list[Arch]:
        if not self.searched:
            raise RuntimeError(f"strategy {self.name!r}: the one-shot search has not run (Study runs it first)")
        batch = self.derived[self.handed:self.handed + n]
        self.handed += len(batch)
        return batch

    def tell(self, results: Sequence[Result]) -> None:
        """The derived archs' stand-alone results are the study's record; nothing to learn from them."""

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "searched": self.searched, "derived": [dict(a) for a in self.derived],
                "handed": self.handed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.searched, self.handed = bool(state["searched"]), int(state["handed"])
        self.derived = [Arch(a) for a in state["derived"]]



def gumbel_softmax(logits: torch.Tensor, tau: float, generator: torch.Generator, *, hard: bool
                   ) -> tuple[torch.Tensor, int]:
    """A Gumbel-softmax sample of ``logits`` (k,) at temperature ``tau``: soft weights, or one-hot with
    straight-through gradients (``hard``); and the argmax index (Jang et al. 2017; Maddison et al. 2017)."""
    uniform = torch.rand(logits.shape, generator=generator, device=generator.device)
    gumbels = -(-uniform.clamp_min(1e-20).log()).clamp_min(1e-20).log()
    soft = ((logits.log_softmax(-1) + gumbels.to(logits.device)) / tau).softmax(-1)
    index = int(soft.argmax())
    if not hard:
        return soft, index
    one_hot = torch.zeros_like(soft)
    one_hot[index] = 1.0
    return one_hot - soft.detach() + soft, index
