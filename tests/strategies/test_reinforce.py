"""REINFORCE (Zoph & Le 2017): controller probabilities, learning, Integer dims, JSON state round trip."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Dim, Integer
from archsearch.core.errors import UserError
from archsearch.core.objectives import Objective
from archsearch.core.registry import SPACES, STRATEGIES
from archsearch.core.result import Result
from archsearch.core.space import SearchSpace
from archsearch.strategies.reinforce import MAX_INTEGER_VALUES, Reinforce
from tests.conftest import MixedSpace, json_round_trip, synthetic_result

POLICIES = ["lstm", "factorized"]
OBJECTIVES = [Objective("valid_acc", "max")]


class TinySpace(SearchSpace):
    """Two dims, 3 x 4 = 12 archs: small enough to enumerate."""

    name = "tiny-test"

    def dims(self) -> dict[str, Dim]:
        return {"op": Categorical(["a", "b", "c"]), "n": Integer(2, 5)}


class WideSpace(SearchSpace):
    name = "wide-test"

    def __init__(self, values: int) -> None:
        self.values = values

    def dims(self) -> dict[str, Dim]:
        return {"op": Categorical(["a", "b"]), "n": Integer(0, self.values - 1)}


def make(space: SearchSpace, seed: int = 0, **options: object) -> Reinforce:
    strategy = STRATEGIES.create("reinforce", **options)
    strategy.bind(space, OBJECTIVES, np.random.default_rng(seed))
    return strategy


def conv3x3_count(arch: Arch) -> float:
    return float(sum(op == "nor_conv_3x3" for op in arch.values()))


def run(strategy: Reinforce, reward, trials: int) -> list[float]:
    rewards = []
    for _ in range(trials):
        (arch,) = strategy.ask(1)
        rewards.append(reward(arch))
        strategy.tell([Result(arch, {"valid_acc": rewards[-1]})])
    return rewards


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("shaping", [{}, {"temperature": 5.0, "tanh_constant": 2.5}], ids=["plain", "enas"])
def test_teacher_forced_log_prob_matches_sampling(policy: str, shaping: dict) -> None:
    space = SPACES.create("nb201")
    strategy = make(space, policy=policy, **shaping)
    run(strategy, conv3x3_count, 10)  # move away from the near-uniform initial policy
    generator = torch.Generator().manual_seed(7)
    for _ in range(5):
        choices, chosen = strategy.policy.sample(generator)  # (1, 6), (1, 6)
        log_prob, entropy = strategy.policy.evaluate(choices)
        assert log_prob.item() == pytest.approx(chosen.sum().item(), abs=1e-5)
        assert 0 < entropy.item() <= 6 * np.log(5) + 1e-5
    batch, chosen = strategy.policy.sample(generator, count=64)  # teacher forcing a batch agrees too
    assert torch.allclose(strategy.policy.evaluate(batch)[0], chosen.sum(1), atol=1e-5)


@pytest.mark.parametrize("policy", POLICIES)
def test_probabilities_of_all_archs_sum_to_one(policy: str) -> None:
    space = TinySpace()
    strategy = make(space, policy=policy, tanh_constant=1.5)
    run(strategy, lambda arch: float(arch["n"]), 10)
    every = torch.tensor(list(itertools.product(range(3), range(4))))  # (12, 2)
    log_prob, _ = strategy.policy.evaluate(every)
    assert log_prob.exp().sum().item() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("policy", POLICIES)
def test_learns_a_synthetic_objective_on_nb201(policy: str) -> None:
    space = SPACES.create("nb201")
    strategy = make(space, seed=1, policy=policy)
    rewards = run(strategy, conv3x3_count, 150)
    assert np.mean(rewards[-30:]) > np.mean(rewards[:30]) + 1.5  # random search averages 1.2
    choices, _ = strategy.policy.sample(torch.Generator().manual_seed(0), count=2000)
    conv3x3 = (choices == space.dims()["edge_0_1"].index("nor_conv_3x3")).float().mean(0)  # per edge
    assert conv3x3.min().item() > 0.35 and conv3x3.mean().item() > 0.5  # uniform: 0.2


@pytest.mark.parametrize("policy", POLICIES)
def test_integer_dims(policy: str) -> None:
    space = MixedSpace()
    strategy = make(space, seed=2, policy=policy)
    rewards = run(strategy, lambda arch: float(arch["width"]), 150)
    archs = strategy.ask(50)
    assert all(space.is_valid(arch) for arch in archs)
    assert all(isinstance(arch["depth"], int) and 1 <= arch["depth"] <= 6 for arch in archs)
    assert np.mean(rewards[-30:]) > max(42.0, np.mean(rewards[:30]) + 3)  # uniform width averages 36


def test_wide_integer_dims_are_refused() -> None:
    make(WideSpace(MAX_INTEGER_VALUES))
    with pytest.raises(UserError, match="at most 1024"):
        make(WideSpace(MAX_INTEGER_VALUES + 1))


@pytest.mark.parametrize("options", [{"policy": "gru"}, {"batch_size": 0}, {"learning_rate": -1.0},
                                     {"baseline_decay": 1.0}, {"temperature": 0}, {"hidden_size": 2.5}])
def test_bad_options_are_user_errors(options: dict) -> None:
    with pytest.raises(UserError, match="reinforce"):
        STRATEGIES.create("reinforce", **options)


def test_failed_results_are_not_trained_on() -> None:
    space = SPACES.create("nb201")
    strategy = make(space)
    before = json.dumps(strategy.state_dict()["policy"])
    strategy.tell([Result(arch, {}, 1.0, None, "failed", "boom") for arch in strategy.ask(3)])
    strategy.tell([Result(strategy.ask(1)[0], {"valid_acc": float("nan")})])
    assert strategy.baseline is None and strategy.state_dict()["adam"] == {}
    assert json.dumps(strategy.state_dict()["policy"]) == before


def test_baseline_is_a_moving_average() -> None:
    space = SPACES.create("nb201")
    strategy = make(space, baseline_decay=0.5)
    for reward in (4.0, 8.0, 0.0):
        strategy.tell([Result(strategy.ask(1)[0], {"valid_acc": reward})])
    assert strategy.baseline == pytest.approx(0.5 * (0.5 * 4.0 + 0.5 * 8.0))


def test_global_torch_rng_is_untouched() -> None:
    state = torch.get_rng_state()
    space = SPACES.create("nb201")
    run(make(space), conv3x3_count, 5)
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("batch_size", [1, 4])
def test_json_state_round_trip_is_exact(policy: str, batch_size: int) -> None:
    space = MixedSpace()
    original = make(space, seed=5, policy=policy, batch_size=batch_size)
    for _ in range(13):  # 13 = 3 * 4 + 1: one result pending when batch_size is 4
        archs = original.ask(1)
        original.tell([synthetic_result(space, arch) for arch in archs])
    state = json_round_trip(original.state_dict())
    assert len(state["pending"]) == 13 % batch_size
    restored = make(space, seed=999, policy=policy, batch_size=batch_size)
    restored.load_state_dict(state)
    assert json.dumps(restored.state_dict()) == json.dumps(state)
    for _ in range(10):
        archs = original.ask(2)
        assert restored.ask(2) == archs
        original.tell([synthetic_result(space, arch) for arch in archs])
        restored.tell([synthetic_result(space, arch) for arch in archs])
    assert json.dumps(restored.state_dict()) == json.dumps(original.state_dict())  # weights bit-identical
