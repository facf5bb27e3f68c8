"""BatchNorm recalibration before a path is scored with shared weights (SPOS): deterministic, per path, and the
engine's BatchNorm settings restored; RS-WS takes it as ``bn_batches``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archsearch.core.errors import UserError
from archsearch.core.objectives import Objective
from archsearch.core.registry import SPACES, STRATEGIES
from archsearch.estimators.supernet import OneShotSearch


def rsws_engine(**options: object) -> OneShotSearch:
    space = SPACES.create("nb201")
    strategy = STRATEGIES.create("rsws", epochs=1, batch_size=64, fraction=0.3, candidates=3, top_k=1,
                                 net={"channels": 4, "cells_per_stage": 1}, **options)
    strategy.bind(space, [Objective("valid_acc", "max")], np.random.default_rng(0))
    return OneShotSearch(space, strategy, "digits", seed=0, device="cpu")


def test_recalibrated_scores_are_deterministic_and_restore_the_settings() -> None:
    engine = rsws_engine()
    engine.train_epoch()
    arch = engine.space.sample(np.random.default_rng(1))
    norms = [m for m in engine.supernet.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    first = engine.shared_accuracy(arch, recalibrate=3)
    assert engine.shared_accuracy(arch, recalibrate=3) == first
    assert [m.momentum for m in norms] == momenta and engine.supernet.training
    assert all(int(m.num_batches_tracked) == 3 for m in norms if m.num_batches_tracked is not None
               and int(m.num_batches_tracked) > 0)  # the used norms averaged exactly the 3 batches
    assert 0.0 <= first <= 100.0


def test_rsws_ranks_its_candidates_with_recalibration() -> None:
    engine = rsws_engine(bn_batches=2)
    assert engine.strategy.bn_recalibration == 2
    ranked = engine.run()
    assert len(ranked) == 3
    with pytest.raises(UserError, match="bn_batches"):
        STRATEGIES.create("rsws", bn_batches=-1)
