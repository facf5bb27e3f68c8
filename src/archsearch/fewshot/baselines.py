"""The papers' 4-conv baselines with their Omniglot recipes, ready to meta-train (``archsearch meta-test``).

Each recipe is the learner at its paper's settings plus the shape of its training episodes, which differs
from the test episodes: MAML trains on N-way K-shot tasks with K query images per class; Reptile on 15
images per class (pooled); ProtoNet on 60-way episodes with 5 queries (Snell et al.: more ways at training
help); Relation Network on 5-way episodes with 19 (1-shot) or 18 (5-shot) queries, 10 for 20-way. The
settings and their sources are in each learner's module.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from archsearch.core.errors import UserError
from archsearch.fewshot.backbones import HIDDEN, RelationModule, conv4, relation_encoder
from archsearch.fewshot.learners import maml, protonet, relationnet, reptile
from archsearch.fewshot.learners.base import FewShotLearner

# ---- defaults -----------------------------------------------------------------------------------------
BASELINES = ("maml", "protonet", "relationnet", "reptile")
HEAD_LEARNERS = frozenset({"maml", "reptile"})  # a linear head: the test ways are fixed at meta-training


@dataclass
class Baseline:
    """A learner and the episodes (ways, shots, queries per class) it meta-trains on."""

    learner: FewShotLearner
    train_ways: int
    train_shots: int
    train_queries: int


def build_baseline(name: str, ways: int, shots: int, *, hidden: int = HIDDEN, seed: int = 0,
                   max_train_ways: int | None = None) -> Baseline:
    """The ``name`` baseline (maml, protonet, relationnet, reptile) for ``ways``-way ``shots``-shot testing,
    its weights initialised from ``seed`` (the global torch RNG is left as it was)."""
    if name not in BASELINES:
        raise UserError(f"unknown few-shot baseline {name!r}; choose from: {', '.join(BASELINES)}")
    if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
        raise UserError(f"hidden must be a positive integer, got {hidden!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        baseline = _build(name, ways, shots, hidden, seed)
    if max_train_ways is not None:
        baseline.train_ways = min(baseline.train_ways, max_train_ways)
    return baseline


def _build(name: str, ways: int, shots: int, hidden: int, seed: int) -> Baseline:
    if name == "maml":
        settings = maml.TWENTY_WAY if ways >= 20 else {}
        learner = maml.MAMLLearner(conv4(ways, hidden, track_running_stats=False), **settings)
        return Baseline(learner, ways, shots, shots)
    if name == "reptile":
        learner = reptile.ReptileLearner(conv4(ways, hidden, track_running_stats=False), seed=seed)
        return Baseline(learner, ways, shots, max(reptile.TRAIN_SHOTS - shots, 0))
    if name == "protonet":
        learner = protonet.ProtoNetLearner(conv4(None, hidden))
        return Baseline(learner, max(ways, protonet.TRAIN_WAYS), shots, protonet.TRAIN_QUERIES)
    learner = relationnet.RelationNetLearner(relation_encoder(hidden), RelationModule(hidden, feature_side=5))
    queries = relationnet.TRAIN_QUERIES.get(shots, 15) if ways < 20 else 10
    return Baseline(learner, ways, shots, queries)
