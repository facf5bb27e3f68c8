"""ActivationEstimator: scores a candidate activation function by training a fixed child network with it at
every activation site (Ramachandran, Zoph & Le 2017, Sec. 3: each candidate trains a child network, ResNet-20
on CIFAR-10 there, for a short budget; its validation accuracy is the controller's reward).

Before any training the numerical guard (:func:`archsearch.nn.activation.numerical_problem`) rejects
candidates whose outputs are non-finite, overflowing or constant on [-10, 10]: a ``failed`` trial with the
reason and no cost, as the paper's validity filtering. The child is :func:`archsearch.nn.activation.child_network`:
a small pre-activation ResNet for images, an MLP for 1-D signals (MNIST-1D); ``net`` options size it
(``kind``, ``channels``, ``stages``, ``blocks``, ``hidden``, ``layers``) and ``per_channel`` gives every beta
one value per channel. Training is the train estimator's trainer and recipe (gradient clipping at 5 by default
here: exotic functions explode without it).

Common random numbers: every candidate of a study starts from the same initial weights (the activations'
betas are constants) and sees the same batches, so differences between candidates are differences between
functions, not between seeds; ``evaluate_function`` does the same per seed for ``archsearch activation-eval``,
whose comparisons are therefore paired.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.result import Result
from archsearch.core.space import SearchSpace
from archsearch.estimators.train import TrainEstimator
from archsearch.nn.activation import BASELINES, ActivationFactory, beta_shape, child_network, numerical_problem

DEFAULT_DATASET = "mnist1d"
DEFAULT_GRAD_CLIP = 5.0


def seed_of(study_seed: int, salt: str = "activation") -> int:
    digest = hashlib.sha256(f"{salt}:{study_seed}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


class ActivationEstimator(TrainEstimator):
    """``ActivationEstimator(ActivationSpace(), "mnist1d", epochs=3)``."""

    name = "activation"

    def __init__(self, space: SearchSpace, dataset: str = DEFAULT_DATASET, *, fidelity: float | None = None,
                 seed: int = 0, device: str = "auto", data_dir: str | None = None, download: bool = False,
                 per_channel: bool = False, **options: Any) -> None:
        # the study's context (seed, device, ...) is passed by name: each must be a named parameter here
        if not hasattr(space, "numerical_problem"):
            raise UserError(f"estimator activation scores activation functions; space {space.name!r} is not an "
                            "activation space (use --space activation or activation2)")
        if not isinstance(per_channel, bool):
            raise UserError(f"estimator activation: per_channel must be true or false, got {per_channel!r}")
        self.per_channel = per_channel
        options.setdefault("grad_clip", DEFAULT_GRAD_CLIP)
        options.setdefault("measure", ())
        super().__init__(space, dataset, fidelity=fidelity, seed=seed, device=device, data_dir=data_dir,
                         download=download, **options)
        self.options["per_channel"] = per_channel

    # -- the estimator interface ----------------------------------------------------------------
    def evaluate(self, arch: Arch, fidelity: float | None = None) -> Result:
        """Guard, then train the child (the same initial weights and batches for every candidate)."""
        epochs = self.recipe.epochs if fidelity is None else float(fidelity)
        problem = self.space.numerical_problem(self.space.validate(arch))  # type: ignore[attr-defined]
        if problem is not None:
            return Result(arch, {}, 0.0, epochs, "failed", f"numerical guard: {problem}")
        seed = seed_of(self.seed)
        return self.train_built(arch, lambda: self._child(self.factory(arch), seed), seed + 1, fidelity)

    def evaluate_function(self, function: str, seed: int, fidelity: float | None = None) -> Result:
        """Train the child with ``function`` (a baseline name such as ``relu``, or an arch string of the space)
        from seed ``seed``'s initial weights and batches, the same for every function."""
        arch, factory = self.resolve(function)
        if factory is None:
            problem = self.space.numerical_problem(arch)  # type: ignore[attr-defined]
            if problem is not None:
                epochs = self.recipe.epochs if fidelity is None else float(fidelity)
                return Result(arch, {}, 0.0, epochs, "failed", f"numerical guard: {problem}")
            factory = self.factory(arch)
        start = seed_of(seed)
        return self.train_built(arch, lambda: self._child(factory, start), start + 1, fidelity)

    # -- parts ------------------------------------------------------------------------------------
    def resolve(self, function: str) -> tuple[Arch, ActivationFactory | None]:
        """``(arch, factory)`` of a baseline (``Arch({"function": name})``) or ``(arch, None)`` of a space arch."""
        name = function.strip().lower()
        if name in BASELINES:
            per_channel = self.per_channel
            return Arch({"function": name}), lambda c, s: BASELINES[name](beta_shape(c if per_channel else None, s))
        return self.space.parse(function), None

    def factory(self, arch: Arch) -> ActivationFactory:
        """``(channels, spatial dims) -> module`` of ``arch`` (one module, and betas, per site)."""
        space, per_channel = self.space, self.per_channel
        return lambda c, s: space.build(arch, channels=c if per_channel else None, spatial_dims=s)

    def build(self, arch: Arch) -> nn.Module:
        """The child network with ``arch``'s activation at every site (used by ``archsearch train``)."""
        arch = self.space.validate(arch)
        return self._child(self.factory(arch), seed_of(self.seed))

    def _child(self, factory: ActivationFactory, seed: int) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = child_network(factory, self.dataset.shape, self.dataset.num_classes, **self.net)
        return model.to(self.device).to(memory_format=torch.channels_last) if model_is_2d(model) else model.to(self.device)

    def network(self, arch: Arch, net: Mapping[str, Any] | None = None) -> nn.Module:
        """The untrained child with ``arch``'s activation on the CPU; ``net``: other net options."""
        return child_network(self.factory(arch), self.dataset.shape, self.dataset.num_classes,
                             **(self.net if net is None else net))

    def net_options(self) -> list[str]:
        parameters = inspect.signature(child_network).parameters.items()
        return sorted(n for n, p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "child": repr_child(self)}


def model_is_2d(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def repr_child(estimator: ActivationEstimator) -> Mapping[str, Any]:
    """The child network's kind and size, for the study's description."""
    shape = estimator.dataset.shape
    model = child_network(lambda c, s: nn.ReLU(), shape, estimator.dataset.num_classes, **estimator.net)
    return {"kind": type(model).__name__, "params_with_relu": sum(p.numel() for p in model.parameters())}


__all__ = ["ActivationEstimator", "numerical_problem"]
