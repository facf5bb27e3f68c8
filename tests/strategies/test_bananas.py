"""BANANAS: the predictor ranks NB201 cells, candidates are unseen mutations, batches follow the acquisition."""

from __future__ import annotations

import numpy as np
import pytest

from archsearch.benchmarks.nb201 import load_nb201
from archsearch.core.errors import UserError
from archsearch.core.objectives import Objective
from archsearch.spaces.nb201 import NB201Space
from archsearch.strategies.bananas import Bananas
from archsearch.strategies.predictor import MLPEnsemble
from tests.conftest import synthetic_result


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    signs = np.sign(a[:, None] - a[None, :]) * np.sign(b[:, None] - b[None, :])
    return float(signs.sum() / (len(a) * (len(a) - 1)))


def test_predictor_ranks_held_out_nb201_cells() -> None:
    """Fitted on 200 cells' 12-epoch CIFAR-10 validation accuracy, Kendall tau > 0.5 on 1,000 others."""
    table, space = load_nb201(), NB201Space()
    order = np.random.default_rng(0).permutation(len(table))
    train, test = order[:200], order[200:1200]
    encode = lambda rows: np.stack([space.encode(table.arch_at(int(i)), "path") for i in rows])  # noqa: E731
    accuracy = table.column("cifar10", 12, "valid_acc")
    model = MLPEnsemble().fit(encode(train), accuracy[train], seed=0)
    predictions = model.predict(encode(test))
    assert predictions.shape == (5, 1000)
    assert kendall_tau(predictions.mean(axis=0), accuracy[test]) > 0.5


def test_batches_are_unseen_mutations_of_good_archs() -> None:
    space = NB201Space()
    strategy = Bananas(initial_samples=10, batch_size=5, epochs=30)
    strategy.bind(space, [Objective("valid_acc")], np.random.default_rng(1))
    seen = []
    for _ in range(10):
        (arch,) = strategy.ask(1)
        seen.append(arch)
        strategy.tell([synthetic_result(space, arch)])
    batch = strategy.ask(5)
    assert len(set(batch)) == 5 and not set(batch) & set(seen)
    parents = sorted(seen, key=lambda a: -synthetic_result(space, a).metrics["valid_acc"])[:10]
    for arch in batch:
        assert any(sum(arch[d] != p[d] for d in space.dims()) == 1 for p in parents)


def test_options_are_checked() -> None:
    with pytest.raises(UserError):
        Bananas(acquisition="ei")
    with pytest.raises(UserError):
        Bananas(batch_size=0)
    strategy = Bananas(encoding="path")
    from tests.conftest import MixedSpace

    with pytest.raises(UserError):
        strategy.bind(MixedSpace(), [Objective("valid_acc")], np.random.default_rng(0))
