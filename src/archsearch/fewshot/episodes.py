"""N-way K-shot episodes (Vinyals et al., "Matching Networks for One Shot Learning", NeurIPS 2016).

An episode draws ``ways`` classes of a :class:`~archsearch.fewshot.data.FewShotDataset` in random order
(relabelled 0..N-1 in that order), then ``shots`` support and ``queries`` query images of each class, all
distinct. Episode ``i`` of a sampler is a pure function of ``(seed, i)``: the same index gives the same
episode in any process, in any order. Images are float32 in [0, 1] (ink 1, background 0, as MAML/ProtoNet's
``1 - pixel``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from archsearch.core.errors import UserError
from archsearch.fewshot.data import FewShotDataset, OneShotRun, load_one_shot_runs

# ---- defaults -----------------------------------------------------------------------------------------
PIXEL_SCALE = 255.0  # uint8 -> [0, 1]


@dataclass(frozen=True)
class Episode:
    """One few-shot task: a labelled support set and a query set over the same N classes."""

    support_x: torch.Tensor  # (N*K, 1, 28, 28) float32 in [0, 1], class-major (label 0's K images first)
    support_y: torch.Tensor  # (N*K,) int64 in 0..N-1
    query_x: torch.Tensor  # (N*Q, 1, 28, 28) float32, class-major
    query_y: torch.Tensor  # (N*Q,) int64 in 0..N-1
    classes: tuple[int, ...] = ()  # the dataset class of label 0..N-1 (empty when unknown)

    @property
    def ways(self) -> int:
        return int(self.support_y.max()) + 1

    def to(self, device: torch.device | str) -> Episode:
        return Episode(self.support_x.to(device), self.support_y.to(device), self.query_x.to(device),
                       self.query_y.to(device), self.classes)


def _scaled(images: torch.Tensor) -> torch.Tensor:
    return images.to(torch.float32) / PIXEL_SCALE


def _count(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UserError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class EpisodeSampler:
    """Episodes of ``ways`` classes x (``shots`` support + ``queries`` query images) from ``dataset``."""

    def __init__(self, dataset: FewShotDataset, ways: int, shots: int, queries: int, seed: int = 0) -> None:
        self.dataset = dataset
        self.ways = _count(ways, "ways", 1)
        self.shots = _count(shots, "shots", 1)
        self.queries = _count(queries, "queries", 0)
        self.seed = _count(seed, "seed", 0)
        if self.ways > dataset.num_classes:
            raise UserError(f"{self.ways}-way episodes need {self.ways} classes; {dataset.name} has "
                            f"{dataset.num_classes}")
        smallest = min(len(indices) for indices in dataset.class_indices)
        if self.shots + self.queries > smallest:
            raise UserError(f"{self.shots} shots + {self.queries} queries = {self.shots + self.queries} images per "
                            f"class, but {dataset.name} has classes with only {smallest} images")

    def episode(self, index: int) -> Episode:
        """Episode ``index``: a pure function of (seed, index)."""
        index = _count(index, "episode index", 0)
        rng = np.random.default_rng([self.seed, index])
        classes = rng.choice(self.dataset.num_classes, size=self.ways, replace=False)  # random order = labels
        per_class = self.shots + self.queries
        picks = np.stack([rng.choice(self.dataset.class_indices[c], size=per_class, replace=False)
                          for c in classes])  # (N, K+Q) dataset indices
        support = torch.from_numpy(picks[:, :self.shots].reshape(-1))
        query = torch.from_numpy(picks[:, self.shots:].reshape(-1))
        labels = torch.arange(self.ways)
        return Episode(support_x=_scaled(self.dataset.images[support]),
                       support_y=labels.repeat_interleave(self.shots),
                       query_x=_scaled(self.dataset.images[query]),
                       query_y=labels.repeat_interleave(self.queries),
                       classes=tuple(int(c) for c in classes))

    def batch(self, first: int, size: int) -> list[Episode]:
        """Episodes ``first .. first + size - 1``."""
        return [self.episode(first + j) for j in range(size)]

    def __iter__(self) -> Iterator[Episode]:
        index = 0
        while True:
            yield self.episode(index)
            index += 1

    def __repr__(self) -> str:
        return (f"EpisodeSampler({self.dataset.name}, ways={self.ways}, shots={self.shots}, "
                f"queries={self.queries}, seed={self.seed})")


def run_episode(run: OneShotRun) -> Episode:
    """A one-shot run as a 20-way 1-shot episode: support = the 20 training images (label i = class i),
    query = the 20 test images labelled with ``class_labels.txt``'s answers."""
    return Episode(support_x=_scaled(run.train), support_y=torch.arange(len(run.train)),
                   query_x=_scaled(run.test), query_y=run.answers.clone())


def one_shot_episodes() -> list[Episode]:
    """Lake et al.'s 20 one-shot runs as episodes."""
    return [run_episode(run) for run in load_one_shot_runs()]
