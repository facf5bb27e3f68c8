"""ExhaustiveSearch: every valid arch exactly once per pass (constrained spaces included), then a new pass;
``valid_archs`` enumerates the same set; spaces too large to enumerate are sampled without repeats."""

from __future__ import annotations

import numpy as np
import pytest

from archsearch.core.errors import UserError
from archsearch.core.objectives import Objective
from archsearch.spaces.darts import DartsSpace
from archsearch.strategies.exhaustive import ExhaustiveSearch, valid_archs
from tests.conftest import MixedSpace


def bound(space, seed: int = 0, shuffle: bool = True) -> ExhaustiveSearch:
    strategy = ExhaustiveSearch(shuffle=shuffle)
    strategy.bind(space, [Objective("valid_acc", "max")], np.random.default_rng(seed))
    return strategy


def test_every_valid_arch_once_per_pass() -> None:
    space = MixedSpace()
    every = list(valid_archs(space))
    assert 0 < len(every) < space.size()  # the constraint rejects some combinations
    strategy = bound(space)
    first = strategy.ask(len(every))
    assert set(first) == set(every) and len(set(first)) == len(first)
    assert first != every  # shuffled
    second = strategy.ask(len(every))
    assert set(second) == set(every) and second != first
    assert bound(space, shuffle=False).ask(len(every)) == every


def test_large_spaces_are_sampled_without_repeats() -> None:
    archs = bound(DartsSpace()).ask(50)
    assert len(set(archs)) == 50
    with pytest.raises(UserError, match="more than"):
        next(valid_archs(DartsSpace()))


def test_an_order_seed_walks_another_seeds_archs_and_resumes_its_walk() -> None:
    space = MixedSpace()
    count = len(list(valid_archs(space)))
    reference = bound(space, seed=0).ask(2 * count)  # two passes of the study seed 0
    strategy = ExhaustiveSearch(order_seed=0)
    strategy.bind(space, [Objective("valid_acc", "max")], np.random.default_rng(7))  # another study seed
    assert strategy.ask(count + 3) == reference[:count + 3]
    resumed = ExhaustiveSearch(order_seed=0)
    resumed.bind(space, [Objective("valid_acc", "max")], np.random.default_rng(7))
    resumed.load_state_dict(strategy.state_dict())
    assert resumed.ask(count - 3) == strategy.ask(count - 3) == reference[count + 3:]
    with pytest.raises(UserError, match="order_seed"):
        ExhaustiveSearch(order_seed=-1)


def test_a_table_restricted_space_is_walked_through_its_archs() -> None:
    """A partial table searched with ``missing: restrict`` is its list of archs: every one once per pass."""
    from archsearch.benchmarks.table_space import TableSpace
    from archsearch.spaces.nb201 import NB201Space

    base = NB201Space()
    rng = np.random.default_rng(3)
    archs = list(dict.fromkeys(base.sample(rng) for _ in range(40)))
    space = TableSpace(base, archs)
    strategy = bound(space)
    first = strategy.ask(len(archs))
    assert set(first) == set(archs) and len(set(first)) == len(archs)
    assert set(strategy.ask(len(archs))) == set(archs)
    assert list(valid_archs(space)) == archs
