"""Random search with weight sharing (Li & Talwalkar, UAI 2019, "Random Search and Reproducibility for
Neural Architecture Search").

Each weight step trains the supernet on one architecture drawn uniformly from the space (only its
paths computed); there are no architecture parameters. At the end, ``candidates`` = 100 random
architectures (the paper ranks 1,000 with a few validation minibatches each) are ranked by their
shared-weight accuracy on the held-out half of the training data (``rank_by=loss``: by their mean held-out
cross-entropy, finer than accuracy on a small held-out set), and the best ``top_k`` = 1 are handed to the
study's estimator (the paper trains the top few from scratch). ``bn_batches`` > 0 recalibrates BatchNorm's
running statistics on that many training batches of each candidate's own path before it is scored (SPOS, Guo
et al. ECCV 2020; Yu et al. ICLR 2020); 0 scores with each evaluation batch's statistics.

Few-shot supernets (Zhao et al., ICML 2021, "Few-shot Neural Architecture Search"): ``split=DIM`` (a dim of
the space, e.g. ``edge_0_3`` of NB201) splits the supernet on that dim for the last ``split_epochs`` epochs:
one copy per option of the dim, each starting from the shared weights (the paper's transfer) and trained only
on archs with that option; each candidate is scored by the copy of its own option
(:mod:`archsearch.estimators.few_shot`). The search then costs ``epochs - split_epochs`` shared epochs plus
``split_epochs`` per option of the split dim.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.options import check_choice, check_int, did_you_mean
from archsearch.strategies.oneshot.base import OneShotStrategy

CANDIDATES, TOP_K, BN_BATCHES, RANK_BY = 100, 1, 0, "accuracy"
SPLIT, SPLIT_EPOCHS = "", 0  # no split: one supernet (Li & Talwalkar); Zhao et al. split one edge of NB201


class RandomSearchWeightSharing(OneShotStrategy):
    """``--strategy rsws``: uniform paths while training, then rank random archs by shared weights."""

    name = "rsws"
    arch_step = "none"
    option_names = ("candidates", "top_k", "bn_batches", "rank_by", "split", "split_epochs")

    def configure(self, candidates: Any = CANDIDATES, top_k: Any = TOP_K, bn_batches: Any = BN_BATCHES,
                  rank_by: Any = RANK_BY, split: Any = SPLIT, split_epochs: Any = SPLIT_EPOCHS) -> None:
        self.num_candidates = check_int(self.name, "candidates", candidates, 1)
        self.top_k = min(check_int(self.name, "top_k", top_k, 1), self.num_candidates)
        self.bn_recalibration = check_int(self.name, "bn_batches", bn_batches, 0)
        self.rank_by = check_choice(self.name, "rank_by", rank_by, ("accuracy", "loss"))
        self.split_dim = str(split) if split is not None else ""
        self.split_epochs = check_int(self.name, "split_epochs", split_epochs, 0)
        if bool(self.split_dim) != bool(self.split_epochs) or self.split_epochs >= self.recipe.epochs:
            raise UserError(f"strategy {self.name}: few-shot supernets need both split=DIM and split_epochs, "
                            f"0 < split_epochs < epochs ({self.recipe.epochs}); got split={split!r}, "
                            f"split_epochs={split_epochs!r}")
        self.fixed: dict[str, Any] = {}  # the split dim's option while a split copy trains

    def setup(self) -> None:
        super().setup()
        dims = self.space.dims()
        if self.split_dim and self.split_dim not in dims:
            raise UserError(f"strategy {self.name}: split={self.split_dim!r} is not a dim of space "
                            f"{self.space.name!r}{did_you_mean(self.split_dim, dims)}")

    def weight_paths(self, logits: Mapping[str, torch.Tensor], epoch: int, generator: torch.Generator) -> Arch:
        arch = self.space.sample(self.rng)
        return arch.replace(**self.fixed) if self.fixed else arch

    def candidates(self) -> list[Arch]:
        return [self.space.sample(self.rng) for _ in range(self.num_candidates)]

    def finish(self, ranked: list[Arch]) -> None:  # type: ignore[override]
        super().finish(ranked[:self.top_k])
