"""What every few-shot learner offers, and the meta-training loop and evaluation they share.

A :class:`FewShotLearner` is an ``nn.Module`` (its ``state_dict`` is what to save) holding a backbone and
its outer optimiser. ``meta_train_step(episodes)`` makes one outer update from a meta-batch of episodes;
``predict(episode)`` adapts to the support set (or embeds it) and returns the query logits (N*Q, N).

:func:`evaluate` follows the papers' protocol (MAML's ``main.py``: 600 test episodes, mean accuracy and
95% confidence interval 1.96 * std / sqrt(episodes)).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from archsearch.core.errors import UserError
from archsearch.fewshot.backbones import count_parameters
from archsearch.fewshot.episodes import Episode, EpisodeSampler

# ---- defaults -----------------------------------------------------------------------------------------
TEST_EPISODES = 600  # MAML / ProtoNet / Relation Network test protocol
CI_Z = 1.96  # 95% normal interval
VALIDATION_EPISODES = 100


class FewShotLearner(nn.Module):
    """A meta-learner around a backbone: subclasses implement ``meta_train_step`` and ``predict``."""

    name = "learner"
    meta_batch = 1  # episodes per outer update (the paper's meta-batch)

    def start(self, iterations: int) -> None:
        """Called by :func:`meta_train` before ``iterations`` outer steps (learning-rate schedules)."""

    def meta_train_step(self, episodes: Sequence[Episode]) -> float:
        """One outer update from ``episodes``; returns the mean training loss."""
        raise NotImplementedError

    def predict(self, episode: Episode) -> torch.Tensor:
        """Query logits (N*Q, N) after adapting to (or embedding) the support set."""
        raise NotImplementedError

    def scheduled_step(self, loss: torch.Tensor, episodes: Sequence[Episode]) -> float:
        """Backward, one step of ``self.optimizer``, ``self.scheduler`` advanced once per episode (the metric
        learners' schedules count episodes); returns the loss."""
        loss.backward()
        self.optimizer.step()
        for _ in episodes:
            self.scheduler.step()
        return float(loss.detach())

    @property
    def device(self) -> torch.device:
        tensor = next(self.parameters(), None)
        return torch.device("cpu") if tensor is None else tensor.device


@dataclass
class FewShotReport:
    """Accuracy on test episodes (fractions in [0, 1]) and the cost of the learner."""

    mean_acc: float
    ci95: float  # 1.96 * std / sqrt(episodes)
    std: float
    params: int
    adapt_seconds_per_task: float  # adaptation + query prediction, mean over episodes
    episodes: int
    ways: int
    accuracies: list[float] = field(default_factory=list, repr=False)

    def as_dict(self, with_accuracies: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not with_accuracies:
            data.pop("accuracies")
        return data

    def line(self) -> str:
        return (f"{100 * self.mean_acc:.2f}% +- {100 * self.ci95:.2f} (95% CI, {self.episodes} episodes, "
                f"{self.ways}-way), {self.params:,} parameters, {1000 * self.adapt_seconds_per_task:.1f} ms "
                f"adaptation per task")


def _episodes(source: EpisodeSampler | Sequence[Episode], count: int | None) -> Iterable[Episode]:
    if isinstance(source, EpisodeSampler):
        total = TEST_EPISODES if count is None else count
        if isinstance(total, bool) or not isinstance(total, int) or total < 1:
            raise UserError(f"episodes must be a positive integer, got {total!r}")
        return (source.episode(i) for i in range(total))
    episodes = list(source)
    return episodes if count is None else episodes[:count]


def evaluate(learner: FewShotLearner, source: EpisodeSampler | Sequence[Episode],
             episodes: int | None = None) -> FewShotReport:
    """Accuracy of ``learner`` on episodes 0..episodes-1 of a sampler (default 600), or on a list of episodes."""
    was_training = learner.training
    learner.eval()
    accuracies: list[float] = []
    seconds = 0.0
    ways = 0
    try:
        for episode in _episodes(source, episodes):
            if len(episode.query_y) == 0:
                raise UserError("evaluation episodes need query images (queries >= 1)")
            episode = episode.to(learner.device)
            start = time.perf_counter()
            logits = learner.predict(episode)  # (N*Q, N)
            seconds += time.perf_counter() - start
            ways = logits.shape[1]
            accuracies.append(float((logits.argmax(dim=1) == episode.query_y).float().mean()))
    finally:
        learner.train(was_training)
    if not accuracies:
        raise UserError("no episodes to evaluate")
    std = float(np.std(accuracies))
    return FewShotReport(mean_acc=float(np.mean(accuracies)), ci95=CI_Z * std / math.sqrt(len(accuracies)),
                         std=std, params=count_parameters(learner), adapt_seconds_per_task=seconds / len(accuracies),
                         episodes=len(accuracies), ways=ways, accuracies=accuracies)


@dataclass
class MetaTrainHistory:
    losses: list[float] = field(default_factory=list)  # mean training loss of each outer step
    validation: list[tuple[int, float]] = field(default_factory=list)  # (iteration, mean accuracy)
    seconds: float = 0.0  # wall time of the outer steps (validation excluded)


def meta_train(learner: FewShotLearner, sampler: EpisodeSampler, iterations: int, *, meta_batch: int | None = None,
               val_sampler: EpisodeSampler | None = None, val_every: int = 0,
               val_episodes: int = VALIDATION_EPISODES,
               log: Callable[[int, float, float | None], None] | None = None) -> MetaTrainHistory:
    """``iterations`` outer steps; step t uses the sampler's episodes t*B .. t*B+B-1 (B = the meta-batch).

    With ``val_sampler`` and ``val_every`` > 0, the mean accuracy on its first ``val_episodes`` episodes is
    recorded every ``val_every`` steps and after the last; ``log(step, loss, val_acc)`` reports progress.
    """
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise UserError(f"meta-training iterations must be an integer >= 0, got {iterations!r}")
    batch = learner.meta_batch if meta_batch is None else meta_batch
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise UserError(f"meta-batch must be a positive integer, got {batch!r}")
    history = MetaTrainHistory()
    learner.train()
    learner.start(iterations)
    device = learner.device
    for step in range(iterations):
        start = time.perf_counter()
        episodes = [e.to(device) for e in sampler.batch(step * batch, batch)]
        history.losses.append(learner.meta_train_step(episodes))
        history.seconds += time.perf_counter() - start
        val_acc = None
        if val_sampler is not None and val_every > 0 and ((step + 1) % val_every == 0 or step + 1 == iterations):
            val_acc = evaluate(learner, val_sampler, val_episodes).mean_acc
            history.validation.append((step + 1, val_acc))
        if log is not None:
            log(step + 1, history.losses[-1], val_acc)
    return history


def check_logits(logits: torch.Tensor, episode: Episode, learner: str) -> torch.Tensor:
    """A backbone whose head does not match the episode's ways is a user error, not a shape crash."""
    if logits.dim() != 2 or logits.shape[1] != episode.ways:
        raise UserError(f"{learner}: the backbone gives outputs of shape {tuple(logits.shape[1:])} for a "
                        f"{episode.ways}-way episode; its head must have {episode.ways} outputs")
    return logits


def checked_cross_entropy(episode: Episode, learner: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Cross-entropy that first checks the logits' width against the episode's ways (a one-line UserError)."""
    return lambda logits, labels: F.cross_entropy(check_logits(logits, episode, learner), labels)
