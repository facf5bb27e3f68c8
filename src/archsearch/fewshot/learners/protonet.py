"""Prototypical Networks (Snell, Swersky & Zemel, NeurIPS 2017).

A class's prototype is the mean of its support embeddings, c_k = 1/K sum_i f(x_i); a query's logits are
the negative squared Euclidean distances to the prototypes, -||f(x) - c_k||^2, trained with cross-entropy.

Settings, Omniglot (paper Sec. 3.1): the 4-conv embedding (64-d output), Adam lr 1e-3 halved every 2,000
episodes, one episode per update, training episodes of 60 classes with 5 query images each (the shot
matching the test shot); evaluation on 1,000 test episodes in the paper (600 here, MAML's count).
BatchNorm uses running statistics at test time (the reference ``model.eval()``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from archsearch.core.errors import UserError
from archsearch.fewshot.episodes import Episode
from archsearch.fewshot.learners.base import FewShotLearner

# ---- defaults (Snell et al. 2017, Omniglot) -----------------------------------------------------------------
LR = 1e-3
LR_HALVE_EVERY = 2000  # episodes
META_BATCH = 1
TRAIN_WAYS = 60
TRAIN_QUERIES = 5


def prototypes(embeddings: torch.Tensor, labels: torch.Tensor, ways: int) -> torch.Tensor:
    """Class means: (S, D) support embeddings with labels 0..N-1 -> (N, D)."""
    sums = torch.zeros(ways, embeddings.shape[1], dtype=embeddings.dtype, device=embeddings.device)
    sums.index_add_(0, labels, embeddings)
    counts = torch.bincount(labels, minlength=ways).clamp(min=1).to(embeddings.dtype)
    return sums / counts[:, None]


def squared_euclidean_logits(queries: torch.Tensor, protos: torch.Tensor) -> torch.Tensor:
    """-||q - c||^2: (M, D), (N, D) -> (M, N)."""
    return -((queries[:, None, :] - protos[None, :, :]) ** 2).sum(dim=-1)


def episode_logits(encoder: nn.Module, episode: Episode) -> torch.Tensor:
    """(N*Q, N): ``encoder``'s query embeddings against its support prototypes (one batch for both)."""
    x = torch.cat([episode.support_x, episode.query_x])  # (N*K + N*Q, 1, 28, 28)
    embeddings = encoder(x).flatten(1)  # (N*K + N*Q, D)
    support, query = embeddings[:len(episode.support_y)], embeddings[len(episode.support_y):]
    return squared_euclidean_logits(query, prototypes(support, episode.support_y, episode.ways))


class ProtoNetLearner(FewShotLearner):
    """Prototypical Networks on any embedding backbone mapping (B, 1, 28, 28) -> (B, D) (or (B, ...), flattened)."""

    name = "protonet"

    def __init__(self, encoder: nn.Module, *, lr: float = LR, lr_halve_every: int = LR_HALVE_EVERY,
                 meta_batch: int = META_BATCH) -> None:
        super().__init__()
        self.encoder = encoder
        self.meta_batch = meta_batch
        params = list(self.encoder.parameters())  # none for a fixed embedding (e.g. nn.Flatten: pixel space)
        self.optimizer = torch.optim.Adam(params, lr=lr) if params else None
        self.scheduler = (torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=lr_halve_every, gamma=0.5)
                          if params else None)

    def logits(self, episode: Episode) -> torch.Tensor:
        """(N*Q, N) negative squared distances of the queries to the support prototypes."""
        return episode_logits(self.encoder, episode)

    def meta_train_step(self, episodes: Sequence[Episode]) -> float:
        if self.optimizer is None:
            raise UserError("protonet: the encoder has no parameters to meta-train")
        self.optimizer.zero_grad()
        loss = sum(F.cross_entropy(self.logits(e), e.query_y) for e in episodes) / len(episodes)
        return self.scheduled_step(loss, episodes)

    def predict(self, episode: Episode) -> torch.Tensor:
        with torch.no_grad():
            return self.logits(episode)
