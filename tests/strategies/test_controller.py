"""The numpy controller of REINFORCE against its torch reference: the same samples, log-probabilities, gradients
and Adam steps (issue 25)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archsearch.core.registry import SPACES
from archsearch.strategies.controller import Adam
from tests.conftest import MixedSpace
from tests.strategies.test_reinforce import POLICIES, TinySpace, conv3x3_count, make, run

SHAPINGS = [{}, {"temperature": 5.0, "tanh_constant": 2.5}, {"tanh_constant": 1.5}]


def trained(policy: str, shaping: dict, space_name: str = "nb201"):
    space = SPACES.create(space_name) if space_name == "nb201" else TinySpace()
    strategy = make(space, policy=policy, **shaping)
    run(strategy, conv3x3_count if space_name == "nb201" else (lambda arch: float(arch["n"])), 12)
    return strategy


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("shaping", SHAPINGS, ids=["plain", "enas", "tanh"])
def test_gradients_equal_autograd(policy: str, shaping: dict) -> None:
    strategy = trained(policy, shaping)
    choices, _ = strategy.policy.sample(torch.Generator().manual_seed(3), count=5)
    advantages = np.array([0.7, -1.2, 0.1, 2.0, -0.4], dtype=np.float32)
    log_prob, entropy, grads = strategy.math.gradients(choices.numpy(), advantages, entropy_weight=0.3)
    reference_log_prob, reference_entropy = strategy.policy.evaluate(choices)
    loss = -(torch.from_numpy(advantages) * reference_log_prob).mean() - 0.3 * reference_entropy.mean()
    strategy.policy.zero_grad(set_to_none=True)
    loss.backward()
    np.testing.assert_allclose(log_prob, reference_log_prob.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(entropy, reference_entropy.detach().numpy(), atol=1e-5)
    for name, parameter in strategy.policy.named_parameters():
        np.testing.assert_allclose(grads[name], parameter.grad.numpy(), atol=1e-6, err_msg=name)


@pytest.mark.parametrize("policy", POLICIES)
def test_samples_equal_the_torch_policy(policy: str) -> None:
    strategy = trained(policy, {"temperature": 2.0})
    reference, _ = strategy.policy.sample(torch.Generator().manual_seed(5), count=200)
    uniform = torch.rand(200, 6, 1, generator=torch.Generator().manual_seed(5)).numpy()
    assert (strategy.math.sample(uniform) == reference.numpy()).mean() > 0.99  # up to float rounding at a CDF edge


@pytest.mark.parametrize("policy", POLICIES)
def test_mixed_dims_and_a_batch(policy: str) -> None:
    space = MixedSpace()
    strategy = make(space, policy=policy, batch_size=3)
    asked = [strategy.ask(1)[0] for _ in range(9)]
    assert all(space.is_valid(arch) for arch in asked)


def test_adam_equals_torch_adam() -> None:
    rng = np.random.default_rng(0)
    weights = {"a": rng.normal(size=(3, 4)).astype(np.float32), "b": rng.normal(size=5).astype(np.float32)}
    reference = {name: torch.nn.Parameter(torch.from_numpy(w.copy())) for name, w in weights.items()}
    torch_adam = torch.optim.Adam(reference.values(), lr=0.05, foreach=True)
    ours = Adam(weights, lr=0.05)
    for _ in range(20):
        grads = {name: rng.normal(size=w.shape).astype(np.float32) for name, w in weights.items()}
        for name, parameter in reference.items():
            parameter.grad = torch.from_numpy(grads[name])
        torch_adam.step()
        ours.step(grads)
    for name, parameter in reference.items():
        np.testing.assert_allclose(weights[name], parameter.detach().numpy(), atol=1e-6)


def test_a_checkpoint_with_the_generator_as_a_list_still_loads() -> None:
    import base64

    space = SPACES.create("nb201")
    strategy = trained("lstm", {})
    state = strategy.state_dict()
    state["torch_generator"] = list(base64.b64decode(state["torch_generator"]))  # the format before issue 25
    resumed = make(space, policy="lstm")
    resumed.load_state_dict(state)
    assert resumed.ask(3) == strategy.ask(3)
