"""Relation Network (Sung, Yang, Zhang, Xiang, Torr & Hospedales, "Learning to Compare", CVPR 2018).

An embedding module f maps images to feature maps; a class's feature is the element-wise sum of its K
support features (the paper's K-shot rule); the relation module g scores every (query, class) pair of
concatenated feature maps, r = g([f(x_q), sum_k f(x_k)]) in (0, 1), trained with the mean squared error to
the one-hot match (MSE, not cross-entropy, as in the paper).

Settings, Omniglot (paper Sec. 4.1 and the LearningToCompare_FSL code): Adam lr 1e-3, halved every 100,000
episodes, one episode per update; 5-way training episodes with 19 query images per class for 1-shot and 18
for 5-shot (10 for 20-way); evaluation on 1,000 episodes in the paper (600 here).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from archsearch.fewshot.episodes import Episode
from archsearch.fewshot.learners.base import FewShotLearner

# ---- defaults (Sung et al. 2018, Omniglot) ----------------------------------------------------------------
LR = 1e-3
LR_HALVE_EVERY = 100_000  # episodes
META_BATCH = 1
TRAIN_QUERIES = {1: 19, 5: 18}  # per class, 5-way, by shot


def class_features(features: torch.Tensor, labels: torch.Tensor, ways: int) -> torch.Tensor:
    """Sum of each class's support features: (S, C, h, w) -> (N, C, h, w)."""
    sums = torch.zeros((ways, *features.shape[1:]), dtype=features.dtype, device=features.device)
    return sums.index_add(0, labels, features)


def relation_pairs(query: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Every (query, class) pair concatenated on channels: (M, C, h, w), (N, C, h, w) -> (M*N, 2C, h, w)."""
    m, n = len(query), len(classes)
    q = query[:, None].expand(m, n, *query.shape[1:])
    c = classes[None].expand(m, n, *classes.shape[1:])
    return torch.cat([q, c], dim=2).reshape(m * n, 2 * query.shape[1], *query.shape[2:])


class RelationNetLearner(FewShotLearner):
    """Relation Network: ``encoder`` (B, 1, 28, 28) -> (B, C, h, w), ``relation`` (P, 2C, h, w) -> (P,)."""

    name = "relationnet"

    def __init__(self, encoder: nn.Module, relation: nn.Module, *, lr: float = LR,
                 lr_halve_every: int = LR_HALVE_EVERY, meta_batch: int = META_BATCH) -> None:
        super().__init__()
        self.encoder, self.relation = encoder, relation
        self.meta_batch = meta_batch
        self.optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=lr_halve_every, gamma=0.5)

    def scores(self, episode: Episode) -> torch.Tensor:
        """(N*Q, N) relation scores in (0, 1)."""
        x = torch.cat([episode.support_x, episode.query_x])  # (N*K + N*Q, 1, 28, 28)
        features = self.encoder(x)  # (N*K + N*Q, C, h, w)
        support, query = features[:len(episode.support_y)], features[len(episode.support_y):]
        ways = episode.ways
        pairs = relation_pairs(query, class_features(support, episode.support_y, ways))  # (M*N, 2C, h, w)
        return self.relation(pairs).reshape(len(query), ways)

    def meta_train_step(self, episodes: Sequence[Episode]) -> float:
        self.optimizer.zero_grad()
        loss = sum(F.mse_loss(self.scores(e), F.one_hot(e.query_y, e.ways).to(e.query_x.dtype))
                   for e in episodes) / len(episodes)
        return self.scheduled_step(loss, episodes)

    def predict(self, episode: Episode) -> torch.Tensor:
        with torch.no_grad():
            return self.scores(episode)
