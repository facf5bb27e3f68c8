"""Meta-testing few-shot learners on Omniglot: meta-train one of the papers' 4-conv baselines (MAML, Finn et al.
2017; Prototypical Networks, Snell et al. 2017; Relation Network, Sung et al. 2018; Reptile, Nichol et al. 2018)
on the meta-train alphabets, and evaluate any trained learner (a baseline, or a stored meta-architecture of
:mod:`archsearch.meta_search.experiment`) on meta-test episodes (mean accuracy +- 95% CI over 600 episodes, the
MAML / ProtoNet protocol) or on Lake et al.'s 20 one-shot runs (Science 2015; 20-way 1-shot).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from archsearch.core.device import resolve_device
from archsearch.fewshot.baselines import Baseline, build_baseline
from archsearch.fewshot.data import load_omniglot
from archsearch.fewshot.episodes import EpisodeSampler, one_shot_episodes
from archsearch.fewshot.learners.base import FewShotLearner, FewShotReport, MetaTrainHistory, evaluate, meta_train

QUERIES = 15  # query images per class of a test episode
EPISODES = 600  # MAML / ProtoNet test protocol
VAL_EPISODES = 100
MAX_VAL_WAYS = 20  # meta-validation episodes are at most 20-way
ONE_SHOT_RUNS = "Lake et al.'s 20 one-shot runs (20-way 1-shot)"

Log = Callable[[int, float, "float | None"], None]  # meta_train's log(step, loss, val_acc)


@dataclass
class BaselineRun:
    """A meta-trained baseline: the learner, the episodes it trained on and its meta-training history."""

    name: str
    learner: FewShotLearner = field(repr=False)
    baseline: Baseline = field(repr=False)
    iterations: int
    history: MetaTrainHistory = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """What the meta-test report says of the meta-training (JSON-plain)."""
        baseline = self.baseline
        return {"baseline": self.name, "meta_iterations": self.iterations, "meta_train_seconds": self.history.seconds,
                "train_episode": [baseline.train_ways, baseline.train_shots, baseline.train_queries],
                "final_train_loss": self.history.losses[-1] if self.history.losses else None,
                "validation": self.history.validation}


def meta_test_sampler(ways: int, shots: int, queries: int = QUERIES, seed: int = 0) -> EpisodeSampler:
    """The meta-test episodes of ``seed`` (a shape the split cannot give is a ``UserError``)."""
    return EpisodeSampler(load_omniglot("meta-test"), ways, shots, queries, seed=seed + 2)


def meta_train_baseline(name: str, ways: int, shots: int, *, queries: int = QUERIES, iterations: int = 1000,
                        meta_batch: int | None = None, hidden: int = 64, validate_every: int = 0,
                        val_episodes: int = VAL_EPISODES, seed: int = 0, device: str = "cpu",
                        say: Callable[[str], None] | None = None, log: Log | None = None) -> BaselineRun:
    """Meta-train the ``name`` baseline for ``ways``-way ``shots``-shot testing at its paper's Omniglot settings
    (its own training episodes), from ``seed``; with ``validate_every``, accuracy on ``val_episodes`` meta-val
    episodes of the test shape every so many steps. ``say`` hears the plan, ``log`` each step."""
    train_set = load_omniglot("meta-train")
    baseline = build_baseline(name, ways, shots, hidden=hidden, seed=seed, max_train_ways=train_set.num_classes)
    return meta_train_recipe(name, baseline, ways, shots, queries=queries, iterations=iterations,
                             meta_batch=meta_batch, validate_every=validate_every, val_episodes=val_episodes,
                             seed=seed, device=device, say=say, log=log)


def meta_train_recipe(name: str, baseline: Baseline, ways: int, shots: int, *, queries: int = QUERIES,
                      iterations: int = 1000, meta_batch: int | None = None, validate_every: int = 0,
                      val_episodes: int = VAL_EPISODES, seed: int = 0, device: str = "cpu",
                      say: Callable[[str], None] | None = None, log: Log | None = None) -> BaselineRun:
    """Meta-train ``baseline`` (a learner and its training episodes) as :func:`meta_train_baseline` does."""
    target = resolve_device(device)
    learner = baseline.learner.to(target)
    sampler = EpisodeSampler(load_omniglot("meta-train"), baseline.train_ways, baseline.train_shots,
                             baseline.train_queries, seed=seed)
    val = (EpisodeSampler(load_omniglot("meta-val"), min(ways, MAX_VAL_WAYS), shots, queries, seed=seed + 1)
           if validate_every else None)
    if say is not None:
        say(f"meta-training {name} ({baseline.train_ways}-way {baseline.train_shots}-shot, "
            f"{baseline.train_queries} queries per class) for {iterations} iterations on {target}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        history = meta_train(learner, sampler, iterations, meta_batch=meta_batch, val_sampler=val,
                             val_every=validate_every, val_episodes=val_episodes, log=log)
    return BaselineRun(name, learner, baseline, iterations, history)


@dataclass
class MetaTestResult:
    """The accuracy of a learner on what it was tested on (``target``, in words)."""

    target: str
    report: FewShotReport

    def as_dict(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """``extra`` (e.g. a :meth:`BaselineRun.summary`), the target and the report, as one JSON-plain dict."""
        return {**(extra or {}), "evaluation": self.target, **self.report.as_dict()}


def meta_test(learner: FewShotLearner, ways: int, shots: int, *, queries: int = QUERIES, episodes: int = EPISODES,
              seed: int = 0, one_shot_runs: bool = False) -> MetaTestResult:
    """Evaluate a trained learner on ``episodes`` meta-test episodes of ``seed``, or on Lake et al.'s one-shot
    runs (``one_shot_runs``; then ``ways``, ``shots``, ``queries`` and ``episodes`` are the runs')."""
    if one_shot_runs:
        return MetaTestResult(ONE_SHOT_RUNS, evaluate(learner, one_shot_episodes()))
    report = evaluate(learner, meta_test_sampler(ways, shots, queries, seed), episodes)
    return MetaTestResult(f"meta-test alphabets, {ways}-way {shots}-shot, {queries} queries per class", report)
