"""A new search space in a few lines: subclass ``SearchSpace``, declare ``dims()``, write ``build()``.

Sampling, mutation, neighbours and the one-hot / index encodings are derived from the dims, so every
ask/tell strategy (random, regularized evolution, local search, BANANAS, NSGA-II, ...) searches the new
space unchanged. A constraint between dims goes in ``is_valid``. Registering the class under a name makes
it usable by a ``StudyConfig`` (a registry entry is a lazy ``"module:attribute"`` string; here the module
is this script). To ship a space with archsearch, register it in ``archsearch/core/registry.py`` instead:
the space contract suite (tests/core/test_space_contract.py) then checks it. See docs/extending.md.

Papers: Elsken, Metzen & Hutter, "Neural Architecture Search: A Survey", JMLR 2019 (space, strategy and
estimator as separate parts); Real et al., AAAI 2019 (the regularized evolution used here).

    python examples/04_custom_space.py              # 16 trials of 2 epochs on digits
    python examples/04_custom_space.py --tiny       # 4 trials of a third of an epoch
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from torch import nn

from archsearch.config import StudyConfig
from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Dim, Integer
from archsearch.core.registry import SPACES
from archsearch.core.space import SearchSpace
from archsearch.store import InMemoryStore
from archsearch.study import Study

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "hardswish": nn.Hardswish}


class TinyConvSpace(SearchSpace):
    """A chain of conv layers: depth, width, kernel and activation are searched."""

    name = "tiny-conv"

    def dims(self) -> dict[str, Dim]:
        return {"depth": Integer(1, 3), "width": Categorical([8, 16, 32]), "kernel": Categorical([3, 5]),
                "activation": Categorical(list(ACTIVATIONS))}

    def is_valid(self, arch: Any) -> bool:
        # a constraint between dims: 5x5 kernels only in the narrower layers
        return super().is_valid(arch) and not (arch["kernel"] == 5 and arch["width"] == 32)

    def build(self, arch: Arch, *, num_classes: int = 10, in_channels: int = 3, **_: Any) -> nn.Module:
        """The train estimator passes the dataset's classes and input channels, plus ``estimator.net``."""
        arch = self.validate(arch)
        layers: list[nn.Module] = []
        channels = in_channels
        for _layer in range(arch["depth"]):
            layers += [nn.Conv2d(channels, arch["width"], arch["kernel"], padding=arch["kernel"] // 2, bias=False),
                       nn.BatchNorm2d(arch["width"]), ACTIVATIONS[arch["activation"]]()]
            channels = arch["width"]
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
        return nn.Sequential(*layers)


SPACES.register(TinyConvSpace.name, f"{__name__}:TinyConvSpace", "a chain of conv layers (examples/04)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--tiny", action="store_true", help="4 trials of a third of an epoch")
    args = parser.parse_args()
    if args.tiny:
        args.trials, args.epochs = 4, 0.3

    space = TinyConvSpace()
    rng = np.random.default_rng(0)
    arch = space.sample(rng)
    print(space.describe())
    print(f"a sample: {arch}; a mutation: {space.mutate(arch, rng)}; {len(space.neighbours(arch))} neighbours")

    config = StudyConfig.from_mapping({
        "name": "custom-space", "space": "tiny-conv", "dataset": "digits", "max_trials": args.trials,
        "strategy": {"name": "regularized-evolution", "population_size": 4, "sample_size": 2},
        "estimator": {"name": "train", "epochs": args.epochs, "measure": ["params"]},
    })
    config.finish_budget()
    study = Study.create(config, InMemoryStore()).run()
    for trial in study.trials:
        print(f"  {trial.status:6} valid {trial.metrics.get('valid_acc', float('nan')):6.2f}%  {Arch(trial.arch)}")
    print(f"best: {Arch(study.best.arch)}: valid {study.best.metrics['valid_acc']:.2f}%, "
          f"test {study.reported_value():.2f}%, {study.best.metrics['params']:,.0f} params")


if __name__ == "__main__":
    main()
