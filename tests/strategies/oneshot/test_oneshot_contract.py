"""The contract of every registered one-shot strategy on every space with a supernet (tiny settings).

A search derives valid archs, records its epochs, gives the same answer for the same seed, and resumed
from the state after any epoch it gives the very answer of an uninterrupted run.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archsearch.core.errors import UserError
from archsearch.core.objectives import Objective
from archsearch.core.registry import SPACES, STRATEGIES
from archsearch.estimators.supernet import OneShotSearch, param_free_share
from tests.conftest import json_round_trip

ONE_SHOT = [name for name in STRATEGIES.names() if "supernet" in STRATEGIES.load(name).requires]
SUPERNET_SPACES = [name for name in SPACES.names() if hasattr(SPACES.load(name), "supernet")]
TINY_NET = {"nb201": {"channels": 4, "cells_per_stage": 1}, "darts": {"channels": 3, "layers": 2}}
EPOCHS = 2


def make_engine(strategy_name: str, space_name: str, seed: int = 0, **options) -> OneShotSearch:
    space = SPACES.create(space_name)
    extra = {"candidates": 4, "top_k": 2} if strategy_name == "rsws" else {}
    strategy = STRATEGIES.create(strategy_name, epochs=EPOCHS, batch_size=64, fraction=0.2, hessian_every=1, hessian_iterations=3,
                                 net=TINY_NET[space_name], **extra, **options)
    strategy.bind(space, [Objective("valid_acc", "max")], np.random.default_rng(seed))
    return OneShotSearch(space, strategy, "digits", seed=seed, device="cpu")


def test_the_one_shot_strategies_are_registered() -> None:
    assert set(ONE_SHOT) == {"darts", "snas", "gdas", "rsws"}


@pytest.fixture(params=ONE_SHOT)
def strategy_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=SUPERNET_SPACES)
def space_name(request: pytest.FixtureRequest) -> str:
    return request.param


def test_search_derives_valid_archs_and_records_epochs(strategy_name: str, space_name: str) -> None:
    engine = make_engine(strategy_name, space_name)
    records = []
    ranked = engine.run(records.append)
    assert ranked and all(engine.space.is_valid(arch) for arch in ranked)
    epochs = [r for r in records if r.kind == "epoch"]
    assert [r.epoch for r in epochs] == list(range(EPOCHS))
    for record in epochs:
        assert np.isfinite(record.metrics["train_loss"]) and 0 <= record.metrics["train_acc"] <= 100
        if engine.strategy.arch_step != "none":
            assert record.arch is not None and engine.space.is_valid(engine.space.validate(record.arch))
            assert 0 <= record.metrics["param_free_share"] <= 1
            assert np.isfinite(record.metrics["hessian_eigenvalue"]) and record.metrics["entropy"] > 0
    engine.strategy.finish(ranked)
    handed = engine.strategy.ask(10)
    assert handed == ranked[:len(handed)] and engine.strategy.finished()
    state = json_round_trip(engine.strategy.state_dict())
    fresh = make_engine(strategy_name, space_name).strategy
    fresh.load_state_dict(state)
    assert fresh.finished() and fresh.derived == engine.strategy.derived


def test_same_seed_same_search(strategy_name: str) -> None:
    first, second = make_engine(strategy_name, "nb201"), make_engine(strategy_name, "nb201")
    assert first.run() == second.run()
    for key in first.logits:
        torch.testing.assert_close(first.logits[key], second.logits[key], rtol=0, atol=0)


def test_resume_after_an_epoch_gives_the_uninterrupted_answer(strategy_name: str) -> None:
    uninterrupted = make_engine(strategy_name, "nb201")
    expected = uninterrupted.run()
    interrupted = make_engine(strategy_name, "nb201")
    interrupted.train_epoch()
    blob = interrupted.state()
    resumed = make_engine(strategy_name, "nb201")
    resumed.load(blob)
    assert resumed.epoch == 1
    assert resumed.run() == expected
    for key in uninterrupted.logits:
        torch.testing.assert_close(resumed.logits[key], uninterrupted.logits[key], rtol=0, atol=0)


def test_bad_options_are_user_errors() -> None:
    for options in ({"epochs": 0}, {"lr": -1.0}, {"train_portion": 1.0}, {"no_such_option": 1}, {"net": 3}):
        with pytest.raises(UserError):
            STRATEGIES.create("darts", **options)
    with pytest.raises(UserError, match="order"):
        STRATEGIES.create("darts", order=3)
    with pytest.raises(UserError, match="tau"):
        STRATEGIES.create("gdas", tau_max=0)


def test_second_order_darts_changes_the_architecture_gradient() -> None:
    first, second = make_engine("darts", "nb201"), make_engine("darts", "nb201", order=2)
    for engine in (first, second):
        engine.train_epoch()
    differences = [float((first.logits[k] - second.logits[k]).detach().abs().max()) for k in first.logits]
    assert max(differences) > 0 and all(np.isfinite(differences))


def test_gdas_temperature_decays_linearly_and_snas_exponentially() -> None:
    gdas = STRATEGIES.create("gdas", epochs=11)
    assert [gdas.temperature(e) for e in (0, 5, 10)] == pytest.approx([10.0, 5.05, 0.1])
    snas = STRATEGIES.create("snas")
    assert snas.temperature(0) == 1.0 and snas.temperature(2) == pytest.approx(0.97**2)


def test_param_free_share_counts_parameter_free_ops() -> None:
    assert param_free_share({"a": "none", "b": "skip_connect", "c": "nor_conv_3x3", "d": "avg_pool_3x3"}) == 0.75


def test_early_stop_returns_the_arch_of_the_previous_window() -> None:
    engine = make_engine("darts", "nb201", early_stop=True, early_stop_window=1)
    values = iter([1.0, 2.0])
    engine.hessian_eigenvalue = lambda: next(values)  # type: ignore[method-assign]
    records = []
    engine.run(records.append)
    assert engine.stopped_early is not None and records[-1].metrics["early_stop_epoch"] == 0.0
    assert engine.final_answer()[0][0] == engine.space.validate(records[0].arch)


def test_the_derived_arch_is_scored_each_epoch_on_a_fixed_subset_of_the_holdout() -> None:
    """``derived_eval_images``: a fixed subset of the held-out part (the same rows for every search), 0 all of it."""
    sizes, rows = [], []
    for count in (40, 40, 0):
        space = SPACES.create("nb201")
        strategy = STRATEGIES.create("darts", epochs=1, batch_size=64, net={"channels": 4, "cells_per_stage": 1},
                                     derived_eval_images=count)
        strategy.bind(space, [Objective("valid_acc", "max")], np.random.default_rng(0))
        engine = OneShotSearch(space, strategy, "digits", seed=count, device="cpu")
        sizes.append((len(engine.progress_holdout), len(engine.holdout)))
        rows.append(engine.progress_holdout.y)
    assert sizes[0][0] == 40 and sizes[2][0] == sizes[2][1] > 40
    assert torch.equal(rows[0], rows[1])
