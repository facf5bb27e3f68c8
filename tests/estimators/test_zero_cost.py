"""Zero-cost proxies (Abdelfattah et al. 2021) and ZeroCostEstimator on tiny NB201 networks."""

from __future__ import annotations

import math
import pickle

import pytest
import torch
from torch import nn

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.estimators.zero_cost import PROXIES, ZeroCostEstimator, synflow
from archsearch.spaces.nb201 import EDGE_DIMS, NB201Space

TINY = {"channels": 4, "cells_per_stage": 1}
MIXED = Arch({name: op for name, op in zip(EDGE_DIMS, ("nor_conv_3x3", "skip_connect", "nor_conv_1x1",
                                                       "avg_pool_3x3", "nor_conv_3x3", "none"))})


def uniform(op: str) -> Arch:
    return Arch({name: op for name in EDGE_DIMS})


@pytest.fixture(scope="module")
def estimators() -> dict[str, ZeroCostEstimator]:
    return {proxy: ZeroCostEstimator(NB201Space(), "digits", proxy=proxy, device="cpu", net=TINY, batch_size=32)
            for proxy in PROXIES}


@pytest.mark.parametrize("proxy", sorted(PROXIES))
def test_every_proxy_scores_finite_and_repeatable(estimators: dict[str, ZeroCostEstimator], proxy: str) -> None:
    first, second = estimators[proxy].evaluate(MIXED), estimators[proxy].evaluate(MIXED)
    assert first.ok, first.error
    assert math.isfinite(first.metric("score")) and first.metric(proxy) == first.metric("score")
    assert second.metric("score") == first.metric("score")
    assert first.cost_seconds > 0
    assert estimators[proxy].metrics() == ("score", proxy)


def test_synflow_prefers_conv_cells(estimators: dict[str, ZeroCostEstimator]) -> None:
    estimator = estimators["synflow"]
    convs = estimator.evaluate(uniform("nor_conv_3x3")).metric("score")
    assert convs > estimator.evaluate(MIXED).metric("score")
    assert convs > estimator.evaluate(uniform("skip_connect")).metric("score")
    assert convs > estimator.evaluate(uniform("none")).metric("score")


def test_synflow_matches_hand_computation_on_a_linear_net() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 2, bias=True), nn.Linear(2, 1, bias=False))
    w1, b1, w2 = (p.detach().abs().double() for p in (net[0].weight, net[0].bias, net[1].weight[0]))
    # R = w2 . (w1 @ 1 + b1): dR/dw2 = rowsum(w1) + b1, dR/dw1[k, i] = w2[k]
    expected = float((w2 * (w1.sum(dim=1) + b1)).sum() + (w1 * w2[:, None]).sum())
    assert synflow(net, torch.zeros(5, 3)) == pytest.approx(expected, rel=1e-12)
    assert net[0].weight.dtype == torch.float32 and (net[0].weight < 0).any()  # the caller's net is untouched


def test_synflow_needs_no_dataset_with_given_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    import archsearch.estimators.zero_cost as module

    monkeypatch.setattr(module, "load_dataset", lambda *a, **k: pytest.fail("loaded a dataset"))
    estimator = ZeroCostEstimator(NB201Space(), device="cpu", net=TINY, input_shape=(3, 16, 16), num_classes=10)
    result = estimator.evaluate(MIXED)
    assert result.ok and result.metric("synflow") > 0
    clone = pickle.loads(pickle.dumps(estimator))
    assert clone.evaluate(MIXED).metric("score") == result.metric("score")
    assert len(pickle.dumps(estimator)) < 2000


def test_seeded_like_train_estimator() -> None:
    from archsearch.estimators.train import TrainEstimator

    ours = ZeroCostEstimator(NB201Space(), "digits", seed=3, device="cpu", net=TINY).build(MIXED)
    theirs = TrainEstimator(NB201Space(), "digits", seed=3, device="cpu", net=TINY).build(MIXED)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a.detach().cpu(), b.detach().cpu())


def test_non_finite_score_is_a_failed_result(monkeypatch: pytest.MonkeyPatch) -> None:
    import archsearch.estimators.zero_cost as module

    estimator = ZeroCostEstimator(NB201Space(), device="cpu", net=TINY, input_shape=(3, 8, 8), num_classes=10)
    monkeypatch.setitem(module.PROXIES, "synflow", lambda model, x, y: math.inf)
    result = estimator.evaluate(MIXED)
    assert result.status == "failed" and "not finite" in result.error


def test_unknown_proxy_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unknown proxy 'nope'.*synflow"):
        ZeroCostEstimator(NB201Space(), proxy="nope")


@pytest.mark.parametrize("net, message", [
    ({"channels": "abc"}, "estimator zero-cost: net.channels='abc' cannot build a network of space 'nb201'"),
    ({"channels": 0, "cells_per_stage": 1}, "estimator zero-cost: net.channels=0 cannot build"),
])
def test_net_options_that_cannot_build_are_user_errors(net: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        ZeroCostEstimator(NB201Space(), "digits", device="cpu", net=net)
    with pytest.raises(UserError, match=message):  # also without a dataset (data-free, given shapes)
        ZeroCostEstimator(NB201Space(), device="cpu", net=net, input_shape=(3, 8, 8), num_classes=10)
