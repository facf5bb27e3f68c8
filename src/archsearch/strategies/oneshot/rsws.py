"""Random search with weight sharing (Li & Talwalkar, UAI 2019, "Random Search and Reproducibility for
Neural Architecture Search").

Each weight step trains the supernet on one architecture drawn uniformly from the space (only its
paths computed); there are no architecture parameters. At the end, ``candidates`` = 100 random
architectures (the paper ranks 1,000 with a few validation minibatches each) are ranked by their
shared-weight accuracy on the held-out half of the training data, and the best ``top_k`` = 1 are
handed to the study's estimator (the paper trains the top few from scratch). ``bn_batches`` > 0 recalibrates
BatchNorm's running statistics on that many training batches of each candidate's own path before it is scored
(SPOS, Guo et al. ECCV 2020; Yu et al. ICLR 2020); 0 scores with each evaluation batch's statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from archsearch.core.arch import Arch
from archsearch.core.options import check_int
from archsearch.strategies.oneshot.base import OneShotStrategy

CANDIDATES, TOP_K, BN_BATCHES = 100, 1, 0


class RandomSearchWeightSharing(OneShotStrategy):
    """``--strategy rsws``: uniform paths while training, then rank random archs by shared weights."""

    name = "rsws"
    arch_step = "none"
    option_names = ("candidates", "top_k", "bn_batches")

    def configure(self, candidates: Any = CANDIDATES, top_k: Any = TOP_K, bn_batches: Any = BN_BATCHES) -> None:
        self.num_candidates = check_int(self.name, "candidates", candidates, 1)
        self.top_k = min(check_int(self.name, "top_k", top_k, 1), self.num_candidates)
        self.bn_recalibration = check_int(self.name, "bn_batches", bn_batches, 0)

    def weight_paths(self, logits: Mapping[str, torch.Tensor], epoch: int, generator: torch.Generator) -> Arch:
        return self.space.sample(self.rng)

    def candidates(self) -> list[Arch]:
        return [self.space.sample(self.rng) for _ in range(self.num_candidates)]

    def finish(self, ranked: list[Arch]) -> None:  # type: ignore[override]
        super().finish(ranked[:self.top_k])
