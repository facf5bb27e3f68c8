"""The activation estimator: the guard before training, child networks, common random numbers, pickling."""

from __future__ import annotations

import pickle

import pytest
import torch

from archsearch.core.errors import UserError
from archsearch.estimators.activation import ActivationEstimator
from archsearch.nn.activation import ActivationMLP, ActivationResNet, child_network
from archsearch.spaces.activation import ActivationSpace
from archsearch.spaces.nb201 import NB201Space

SPACE = ActivationSpace()
SWISH = SPACE.parse("sigmoid_mul(beta_mul(x), x(x))")
TINY = {"batch_size": 64, "device": "cpu", "fraction": 0.3}


def estimator(dataset: str = "mnist1d", **options: object) -> ActivationEstimator:
    return ActivationEstimator(SPACE, dataset, **{**TINY, **options})


def test_a_candidate_the_guard_rejects_fails_at_once_with_the_reason() -> None:
    result = estimator(epochs=1).evaluate(SPACE.parse("mul(one(x), beta(x))"))
    assert result.status == "failed" and result.error == "numerical guard: constant output"
    assert result.cost_seconds == 0.0 and result.metrics == {}


def test_swish_trains_above_chance_on_mnist1d_with_an_mlp_child() -> None:
    est = estimator(epochs=2)
    assert isinstance(est.build(SWISH), ActivationMLP)
    result = est.evaluate(SWISH)
    assert result.status == "ok", result.error
    assert result.metrics["valid_acc"] > 20.0  # chance is 10 %


def test_the_same_function_as_arch_or_baseline_trains_identically() -> None:
    """Common random numbers: same initial weights and batches for every function of one seed."""
    est = estimator(epochs=1)
    as_arch = est.evaluate_function("sigmoid_mul(beta_mul(x), x(x))", seed=3)
    as_baseline = est.evaluate_function("swish", seed=3)
    assert as_arch.status == as_baseline.status == "ok"
    assert as_arch.metrics["valid_acc"] == as_baseline.metrics["valid_acc"]
    assert as_arch.metrics["train_loss"] == as_baseline.metrics["train_loss"]
    other_seed = est.evaluate_function("swish", seed=4)
    assert other_seed.metrics["train_loss"] != as_baseline.metrics["train_loss"]


def test_images_get_a_resnet_child_with_the_activation_at_every_site() -> None:
    est = estimator("digits", epochs=1, net={"channels": 4, "stages": 2, "blocks": 1}, per_channel=True)
    model = est.build(SWISH)
    assert isinstance(model, ActivationResNet)
    sites = [m for m in model.modules() if type(m).__name__ == "SymbolicActivation"]
    assert len(sites) == 5  # 2 per block x 2 blocks + the last
    assert {tuple(next(m.parameters()).shape) for m in sites} == {(4, 1, 1), (8, 1, 1)}
    assert model(torch.randn(3, 1, 8, 8)).shape == (3, 10)
    assert est.evaluate(SWISH).status == "ok"


def test_child_network_kinds() -> None:
    relu = lambda c, s: torch.nn.ReLU()  # noqa: E731
    assert isinstance(child_network(relu, (1, 1, 40), 10), ActivationMLP)
    assert isinstance(child_network(relu, (1, 1, 40), 10, kind="resnet"), ActivationResNet)
    with pytest.raises(ValueError):
        child_network(relu, (1, 8, 8), 10, kind="vgg")


def test_pickles_as_its_options_for_worker_processes() -> None:
    est = estimator(epochs=1, per_channel=True)
    again = pickle.loads(pickle.dumps(est))
    assert type(again) is ActivationEstimator and again.per_channel and again.options == est.options


def test_user_errors() -> None:
    with pytest.raises(UserError, match="not an activation space"):
        ActivationEstimator(NB201Space(), "mnist1d")
    with pytest.raises(UserError, match="net option"):
        estimator(net={"cells_per_stage": 2})
    with pytest.raises(UserError, match="estimator activation: net.kind='vgg' cannot build a network"):
        estimator(net={"kind": "vgg"})
    with pytest.raises(UserError, match="estimator activation: net.hidden='wide' cannot build a network"):
        estimator(net={"hidden": "wide"})
    with pytest.raises(UserError, match="per_channel"):
        estimator(per_channel="yes")
    with pytest.raises(UserError):
        estimator().resolve("softmaxx")


def test_a_study_gives_it_its_seed_and_device() -> None:
    """The study passes its context (seed, device, ...) by parameter name; a seed lost on the way made every seed
    of a study train the same weights (it did, before the parameters were named)."""
    from archsearch.config import StudyConfig
    from archsearch.study import build_components

    config = StudyConfig.from_mapping({"space": "activation", "estimator": "activation", "dataset": "mnist1d",
                                       "seed": 3, "device": "cpu", "max_trials": 1})
    estimator = build_components(config).estimator
    assert (estimator.seed, estimator.options["device"]) == (3, "cpu")
    revived = pickle.loads(pickle.dumps(estimator))
    assert revived.seed == 3
