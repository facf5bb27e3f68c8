"""A meta-architecture search as a stored experiment: T-NAS (Lian et al., ICLR 2020) or MetaNAS (Elsken et al.,
CVPR 2020) meta-trained on Omniglot's meta-train alphabets, the meta-architecture stored as it learns.

:func:`prepare_meta_search` checks the arguments, loads the episodes and builds the learner (nothing touches a
store); :meth:`MetaSearch.run` creates the experiment in a store, records an ``EpochRecord(kind="meta")`` with the
learner's state every ``checkpoint_every`` outer steps (and at every meta-validation and the last step) and marks
the experiment finished, or failed when meta-training raises. :func:`run_meta_search` does both;
:func:`load_meta_architecture` reads the last stored learner back (``archsearch meta-test NAME``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.fewshot.data import load_omniglot
from archsearch.fewshot.episodes import EpisodeSampler
from archsearch.fewshot.learners.base import MetaTrainHistory, meta_train
from archsearch.meta_search.learner import MetaArchitectureLearner, MetaSearchSettings
from archsearch.store.base import EpochRecord, Store

KIND = "meta-search"  # the ``kind`` of a meta-search experiment's config
DATASETS = ("omniglot",)
VAL_QUERIES = 15  # query images per class of the meta-validation episodes
FIXED_SETTINGS = ("method", "ways", "shots")  # given on their own, not among the options

Say = Callable[[str], None]


def settings_from_options(method: str = "tnas", ways: int = 5, shots: int = 1,
                          options: Mapping[str, Any] | None = None) -> MetaSearchSettings:
    """Checked settings of ``method`` for ``ways``-way ``shots``-shot tasks; ``options`` set the other fields
    (an unknown name is a ``UserError`` that lists the known ones)."""
    options = dict(options or {})
    known = set(MetaSearchSettings.__dataclass_fields__) - set(FIXED_SETTINGS)
    unknown = sorted(set(options) - known)
    if unknown:
        raise UserError(f"unknown meta-search setting {unknown[0]!r}; settings: {', '.join(sorted(known))}")
    return MetaSearchSettings(method=method, ways=ways, shots=shots, **options).check()


@dataclass
class MetaSearchResult:
    """A finished meta-search: its experiment, the meta-trained learner and its meta-architecture."""

    name: str
    experiment_id: int
    iterations: int
    seconds: float
    arch: dict[str, str]
    learner: MetaArchitectureLearner = field(repr=False)
    history: MetaTrainHistory = field(repr=False)


@dataclass
class MetaSearch:
    """A meta-search ready to run: checked arguments, the episode samplers and the initial learner."""

    name: str
    settings: MetaSearchSettings
    dataset: str
    iterations: int
    seed: int
    val_every: int
    val_episodes: int
    checkpoint_every: int
    learner: MetaArchitectureLearner = field(repr=False)
    train: EpisodeSampler = field(repr=False)
    val: EpisodeSampler = field(repr=False)

    def config(self) -> dict[str, Any]:
        """The experiment's stored config (``show`` and ``report`` read it like a search's)."""
        return {"name": self.name, "kind": KIND, "space": self.settings.space, "strategy": self.settings.method,
                "dataset": self.dataset, "benchmark": None, "objective": "val_acc:max", "report": "val_acc",
                "seed": self.seed, "iterations": self.iterations, "settings": {**self.settings.__dict__}}

    def run(self, store: Store, say: Say | None = None) -> MetaSearchResult:
        """Meta-train into a new experiment of ``store`` (marked failed if meta-training raises); ``say``
        receives the progress lines."""
        say = say or (lambda text: None)
        experiment = store.create_experiment(self.name, self.config(), self.seed)
        try:
            say(f"meta-search {self.name!r}: {self.settings.method} ({self.settings.space} cells, "
                f"{self.settings.channels} channels) on {self.dataset} {self.settings.ways}-way "
                f"{self.settings.shots}-shot, {self.iterations} iterations x {self.settings.meta_batch} tasks, "
                f"seed {self.seed}")
            checkpoints = _Checkpoints(self, store, experiment.id, say)
            history = meta_train(self.learner, self.train, self.iterations,
                                 val_sampler=self.val if self.val_every else None, val_every=self.val_every,
                                 val_episodes=self.val_episodes, log=checkpoints.log)
            store.set_status(experiment.id, "finished")
        except BaseException:
            store.set_status(experiment.id, "failed")
            raise
        return MetaSearchResult(self.name, experiment.id, self.iterations, time.perf_counter() - checkpoints.started,
                                dict(self.learner.net.derive()), self.learner, history)


class _Checkpoints:
    """The ``log`` of :func:`meta_train`: averages the losses and stores a checkpoint when one is due."""

    def __init__(self, search: MetaSearch, store: Store, experiment_id: int, say: Say) -> None:
        from archsearch.spaces import create_space

        self.search, self.store, self.experiment_id, self.say = search, store, experiment_id, say
        self.space = create_space(search.settings.space)
        self.losses: list[float] = []
        self.started = time.perf_counter()

    def log(self, step: int, loss: float, val_acc: float | None) -> None:
        search = self.search
        self.losses.append(loss)
        if step % search.checkpoint_every and step != search.iterations and val_acc is None:
            return
        metrics = {"loss": sum(self.losses) / len(self.losses)}
        if val_acc is not None:
            metrics["val_acc"] = 100.0 * val_acc
        record = EpochRecord(step - 1, time.perf_counter() - self.started, metrics,
                             dict(search.learner.net.derive()), kind="meta")
        self.store.record_epoch(self.experiment_id, record, search.learner.to_bytes())
        self.losses.clear()
        self.say(f"[{search.name}] step {step}/{search.iterations}: loss {metrics['loss']:.3f}"
                 + (f", meta-val {metrics['val_acc']:.2f}%" if val_acc is not None else "")
                 + f"; arch {self.space.format(Arch(record.arch or {}))}")


def check_counts(iterations: int, seed: int, val_every: int, val_episodes: int, checkpoint_every: int) -> None:
    """``iterations``, ``checkpoint_every`` and ``val_episodes`` >= 1; ``seed`` and ``val_every`` >= 0."""
    values = {"iterations": iterations, "checkpoint_every": checkpoint_every, "seed": seed, "val_every": val_every,
              "val_episodes": val_episodes}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < (
                1 if name in ("iterations", "checkpoint_every", "val_episodes") else 0):
            raise UserError(f"--{name.replace('_', '-')} must be a non-negative integer (positive for counts), "
                            f"got {value}")


def prepare_meta_search(settings: MetaSearchSettings, *, name: str | None = None, dataset: str = "omniglot",
                        iterations: int = 300, seed: int = 0, val_every: int = 50, val_episodes: int = 50,
                        checkpoint_every: int = 10) -> MetaSearch:
    """Check the arguments (``UserError``), load the meta-train and meta-val episodes and build the learner;
    ``name`` defaults to method-ways-shots-time."""
    if dataset not in DATASETS:
        raise UserError(f"unknown few-shot dataset {dataset!r}; choose from: {', '.join(DATASETS)}")
    check_counts(iterations, seed, val_every, val_episodes, checkpoint_every)
    settings = settings.check()
    name = name or f"{settings.method}-{settings.ways}w{settings.shots}s-{time.strftime('%Y%m%d-%H%M%S')}"
    train = EpisodeSampler(load_omniglot("meta-train"), settings.ways, settings.shots, settings.queries, seed)
    val = EpisodeSampler(load_omniglot("meta-val"), settings.ways, settings.shots, VAL_QUERIES, seed + 1)
    return MetaSearch(name, settings, dataset, iterations, seed, val_every, val_episodes, checkpoint_every,
                      MetaArchitectureLearner(settings, seed=seed), train, val)


def run_meta_search(store: Store, settings: MetaSearchSettings, *, name: str | None = None,
                    dataset: str = "omniglot", iterations: int = 300, seed: int = 0, val_every: int = 50,
                    val_episodes: int = 50, checkpoint_every: int = 10, say: Say | None = None) -> MetaSearchResult:
    """:func:`prepare_meta_search`, then :meth:`MetaSearch.run` into ``store``."""
    search = prepare_meta_search(settings, name=name, dataset=dataset, iterations=iterations, seed=seed,
                                 val_every=val_every, val_episodes=val_episodes, checkpoint_every=checkpoint_every)
    return search.run(store, say)


def load_meta_architecture(store: Store, name: str) -> MetaArchitectureLearner:
    """The stored learner of a meta-search experiment (``UserError`` when ``name`` is not one or has no
    checkpoint yet)."""
    experiment = store.get_experiment(name)
    if experiment.config.get("kind") != KIND:
        raise UserError(f"experiment {name!r} is not a meta-search "
                        f"(it is a {experiment.config.get('strategy')} search)")
    blob = store.oneshot_state(experiment.id)
    if blob is None:
        raise UserError(f"meta-search {name!r} has no stored meta-architecture yet")
    return MetaArchitectureLearner.from_bytes(blob)
