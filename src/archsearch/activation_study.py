"""Judging searched activation functions (Ramachandran, Zoph & Le, "Searching for Activation Functions", 2017):
the best functions of an activation search, and functions trained for several seeds against ReLU.

- :func:`top_functions` / :func:`study_functions`: the best distinct functions of a stored activation search
  (a search with the ``activation`` space, e.g. ``archsearch activation-search``).
- :func:`prepare_evaluation` then :meth:`ActivationEvaluation.run` (or :func:`evaluate_activations`): train the
  activation estimator's child network with each function for ``seeds`` seeds, every function from the same
  initial weights and batches per seed, and summarise each by mean +- std (:func:`summarise`) with a paired
  t-test of its test accuracy against ReLU's on the shared seeds (:func:`paired_test`), its p-value adjusted for
  the number of functions compared with Holm's step-down method (:func:`archsearch.core.stats.holm`).
- :func:`table_functions`: the best functions of an activation table (``bench build`` of an activation space,
  e.g. the shipped ``activation-mnist1d``) by its objective.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.stats import holm
from archsearch.core.registry import SPACES
from archsearch.spaces import space_from_config
from archsearch.store.base import ExperimentRecord, Store, TrialRecord

REFERENCE = "relu"  # the function every other is tested against
DEFAULT_BASELINES = ("relu", "swish", "gelu")
DEFAULT_SPACE = "activation"
DEFAULT_SEEDS = 5
DEFAULT_DATASET = "mnist5k"
DEFAULT_EPOCHS = 3.0
SIGNIFICANCE = 0.05  # a paired t-test p-value below this beats ReLU beyond the noise

Run = dict[str, Any]  # one seed's run: seed, status, error, valid_acc, test_acc, seconds


def objective_of(config: Mapping[str, Any]) -> tuple[str, bool]:
    """The metric of a stored search's first objective and whether it is maximised."""
    metric, _, direction = config["objective"].split(",")[0].partition(":")
    return metric, direction != "min"


def top_trials(trials: Sequence[TrialRecord], metric: str, maximise: bool, k: int) -> list[TrialRecord]:
    """The best ``k`` ok trials by ``metric``, one per distinct arch (the earliest on ties)."""
    seen: set[str] = set()
    ok = [t for t in trials if t.status == "ok" and math.isfinite(t.metrics.get(metric, math.nan))]
    ok.sort(key=lambda t: (-t.metrics[metric] if maximise else t.metrics[metric], t.number))
    out = []
    for trial in ok:
        key = Arch(trial.arch).key()
        if key not in seen:
            seen.add(key)
            out.append(trial)
    return out[:k]


@dataclass
class TopFunctions:
    """The best ``top`` trials of a stored search by ``metric``, among all its ``trials``."""

    experiment: ExperimentRecord
    space: Any
    metric: str
    trials: list[TrialRecord]
    top: list[TrialRecord]

    @property
    def failed(self) -> int:
        """Trials that failed or that the numerical guard rejected."""
        return sum(t.status == "failed" for t in self.trials)

    @property
    def is_activation_search(self) -> bool:
        return hasattr(self.space, "formula")


def top_functions(store: Store, name: str, k: int) -> TopFunctions:
    """The best ``k`` distinct archs of experiment ``name`` by its first objective."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise UserError(f"the number of top functions must be at least 1, got {k}")
    experiment = store.get_experiment(name)
    trials = store.trials(experiment.id)
    metric, maximise = objective_of(experiment.config)
    return TopFunctions(experiment, space_from_config(experiment.config), metric, trials,
                        top_trials(trials, metric, maximise, k))


def study_functions(store: Store, name: str, k: int, space: str | None = None) -> tuple[str, list[str]]:
    """The space of activation search ``name`` and its best ``k`` functions as the space's arch strings
    (``space``, when given, must be the search's)."""
    found = top_functions(store, name, k)
    study_space = found.experiment.config["space"]
    if space is not None and space != study_space:
        raise UserError(f"--space {space} differs from study {name!r}'s space {study_space!r}")
    if not found.is_activation_search:
        raise UserError(f"study {name!r} searched space {study_space!r}, not activation functions")
    return study_space, [found.space.format(Arch(t.arch)) for t in found.top]


def summarise(runs: Sequence[Run], relu: Sequence[Run] | None) -> dict[str, Any]:
    """Mean and std (ddof 1) of the ok runs; the paired t-test of test accuracy against ReLU on shared seeds."""
    ok = [r for r in runs if r["status"] == "ok"]
    out: dict[str, Any] = {"ok_runs": len(ok), "failed_runs": len(runs) - len(ok)}
    for metric in ("test", "valid"):
        values = np.array([r[f"{metric}_acc"] for r in ok], dtype=float)
        out[f"{metric}_mean"] = float(values.mean()) if len(values) else math.nan
        out[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else math.nan
    out.update(paired_test(runs, relu) if relu is not None and runs is not relu else {})
    return out


def paired_test(runs: Sequence[Run], reference: Sequence[Run]) -> dict[str, float]:
    """Mean test-accuracy difference to ``reference`` over the seeds both finished, and the paired t-test's
    two-sided p-value (the same initial weights and batches per seed make the runs pairs)."""
    from scipy import stats

    by_seed = {r["seed"]: r["test_acc"] for r in reference if r["status"] == "ok"}
    pairs = [(r["test_acc"], by_seed[r["seed"]]) for r in runs if r["status"] == "ok" and r["seed"] in by_seed]
    if len(pairs) < 2:
        return {"diff_vs_relu": math.nan, "p_vs_relu": math.nan}
    diffs = np.array([a - b for a, b in pairs])
    p_value = float(stats.ttest_rel([a for a, _ in pairs], [b for _, b in pairs]).pvalue) if diffs.std() > 0 else (
        0.0 if diffs.mean() != 0 else 1.0)
    return {"diff_vs_relu": float(diffs.mean()), "p_vs_relu": p_value}


def table_functions(benchmark: str, k: int) -> tuple[str, list[str]]:
    """The space of activation table ``benchmark`` (a registered name or a table file) and its best ``k``
    distinct functions by the table's objective (at its default fidelity) as arch strings (of archs computing
    one function, the best)."""
    from archsearch.benchmarks import load_benchmark

    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise UserError(f"the number of top functions must be at least 1, got {k}")
    table = load_benchmark(benchmark)
    meta = getattr(table, "meta", None)
    if meta is None or meta.space not in ("activation", "activation2"):
        raise UserError(f"benchmark {benchmark!r} is not a table of activation functions")
    values = table.column(meta.dataset, meta.default_fidelity, meta.objective)
    order = [int(i) for i in np.argsort(-values if meta.metrics[meta.objective] == "max" else values, kind="stable")
             if math.isfinite(values[i])]
    space = SPACES.create(meta.space)
    chosen: dict[tuple[float, ...], str] = {}  # one arch per function: x * asinh(x) and asinh(x) * x are one
    for index in order:
        arch = table.arch_at(index)
        chosen.setdefault(function_signature(space, arch), space.format(arch))
        if len(chosen) == k:
            break
    return meta.space, list(chosen.values())


def function_signature(space: Any, arch: Arch) -> tuple[float, ...]:
    """The function's values on a grid of [-5, 5] with every beta at 0.5, 1 and 2, rounded: equal for two archs
    that compute the same function."""
    import torch

    from archsearch.nn.activation import NAME_BETAS, curve_at_beta

    module, x = space.build(arch), torch.linspace(-5.0, 5.0, 101)
    return tuple(round(float(v), 5) for beta in NAME_BETAS for v in curve_at_beta(module, x, beta))


@dataclass
class ActivationEvaluation:
    """Functions (baseline names or arch strings of ``space``) to train with ``estimator`` for ``seeds`` seeds;
    ``runs`` fills as :meth:`run` goes."""

    estimator: Any
    space: str
    dataset: str
    epochs: float
    seeds: int
    functions: list[str]
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def label(self, function: str) -> str:
        """A baseline's name, else the function's formula (with its known name, e.g. ``(Swish)``)."""
        arch, factory = self.estimator.resolve(function)
        if factory is not None:
            return function.strip().lower()
        name = self.estimator.space.known_name(arch)
        formula = self.estimator.space.formula(arch)
        return f"{formula} ({name})" if name else formula

    def evaluate(self, function: str) -> dict[str, Any]:
        """Train ``function`` for every seed; its summary (against ReLU once ReLU has run)."""
        self.runs[function] = []
        for seed in range(self.seeds):
            result = self.estimator.evaluate_function(function, seed)
            self.runs[function].append({"seed": seed, "status": result.status, "error": result.error,
                                        "valid_acc": result.metric("valid_acc"), "test_acc": result.metric("test_acc"),
                                        "seconds": result.cost_seconds})
        return summarise(self.runs[function], self.runs.get(REFERENCE))

    def run(self, on_function: Callable[[str, dict[str, Any]], None] | None = None) -> dict[str, dict[str, Any]]:
        """Every function in order (ReLU first when it is a baseline); ``on_function(function, summary)``
        after each. Returns :meth:`table`."""
        for function in self.functions:
            summary = self.evaluate(function)
            if on_function is not None:
                on_function(function, summary)
        return self.table()

    def table(self) -> dict[str, dict[str, Any]]:
        """Each evaluated function's summary, all against ReLU when ReLU was evaluated, with the p-values
        Holm-adjusted over the functions compared (``p_holm_vs_relu``)."""
        table = {f: summarise(self.runs[f], self.runs.get(REFERENCE)) for f in self.functions if f in self.runs}
        compared = [f for f, s in table.items() if f != REFERENCE and "p_vs_relu" in s]
        for function, adjusted in zip(compared, holm([table[f]["p_vs_relu"] for f in compared])):
            table[function]["p_holm_vs_relu"] = adjusted
        return table

    def better_than_relu(self, table: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
        """The functions whose test accuracy beats ReLU's with a Holm-adjusted p < ``SIGNIFICANCE`` (paired t)."""
        table = self.table() if table is None else table
        return [f for f, s in table.items() if f != REFERENCE and s.get("diff_vs_relu", math.nan) > 0
                and s.get("p_holm_vs_relu", 1.0) < SIGNIFICANCE]

    def to_dict(self) -> dict[str, Any]:
        """The results as one JSON-able document (``activation-eval --json``)."""
        table = self.table()
        return {"dataset": self.dataset, "epochs": self.epochs, "seeds": self.seeds, "space": self.space,
                "estimator": self.estimator.describe(),
                "functions": {f: {"label": self.label(f), **table[f], "runs": self.runs[f]} for f in table}}


def prepare_evaluation(functions: Sequence[str] = (), *, space: str = DEFAULT_SPACE, dataset: str = DEFAULT_DATASET,
                       seeds: int = DEFAULT_SEEDS, epochs: float = DEFAULT_EPOCHS,
                       baselines: Sequence[str] = DEFAULT_BASELINES, device: str = "auto",
                       options: Mapping[str, Any] | None = None) -> ActivationEvaluation:
    """The baselines, then ``functions`` (duplicates dropped), checked and ready to train with the activation
    estimator (``options``: its options besides ``epochs``); every error is a ``UserError`` before training."""
    from archsearch.estimators.activation import ActivationEstimator
    from archsearch.nn.activation import BASELINES

    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise UserError(f"--seeds must be at least 1, got {seeds}")
    if not (math.isfinite(epochs) and epochs > 0):
        raise UserError(f"--epochs must be a positive number, got {epochs}")
    SPACES.check(space)
    names = [b.strip().lower() for b in baselines if b.strip()]
    unknown = [b for b in names if b not in BASELINES]
    if unknown:
        raise UserError(f"unknown baseline {unknown[0]!r}; choose from: {', '.join(BASELINES)}")
    chosen = list(dict.fromkeys([*names, *functions]))
    if not chosen:
        raise UserError("no function to evaluate: give arch strings, --from-study NAME or --baselines")
    options = {**(options or {}), "epochs": epochs}
    estimator = ActivationEstimator(SPACES.create(space), dataset, device=device, **options)
    for function in chosen:
        estimator.resolve(function)  # a malformed arch string fails now, before any training
    return ActivationEvaluation(estimator, space, dataset, epochs, seeds, chosen)


def evaluate_activations(functions: Sequence[str] = (), *,
                         on_function: Callable[[str, dict[str, Any]], None] | None = None,
                         **settings: Any) -> ActivationEvaluation:
    """:func:`prepare_evaluation` (``settings`` are its keywords), then :meth:`ActivationEvaluation.run`."""
    evaluation = prepare_evaluation(functions, **settings)
    evaluation.run(on_function)
    return evaluation
