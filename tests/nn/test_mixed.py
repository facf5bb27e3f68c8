"""The supernets of every space that has one: one-hot paths equal the stand-alone network, derive, GDAS."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from archsearch.core.arch import Arch
from archsearch.core.registry import SPACES
from archsearch.nn.mixed import MixedOp, StraightThrough, entropy
from archsearch.spaces.darts import DARTS_V2, DartsSpace
from archsearch.spaces.nb201 import NB201Space
from archsearch.strategies.oneshot.base import gumbel_softmax

TINY = {"nb201": {"channels": 4, "cells_per_stage": 1}, "darts": {"channels": 4, "layers": 3}}
SUPERNET_SPACES = [name for name in SPACES.names() if hasattr(SPACES.load(name), "supernet")]


def tiny_supernet(name: str, seed: int = 0):
    torch.manual_seed(seed)
    space = SPACES.create(name)
    return space, space.supernet(num_classes=5, in_channels=2, **TINY[name])


def one_hot(supernet, arch: Arch) -> dict[str, torch.Tensor]:
    """Relaxed weights over every key: 1 on the arch's op, 0 elsewhere (and on edges it does not use)."""
    chosen = supernet.paths_of(arch)
    weights = {key: torch.zeros(len(options)) for key, options in supernet.choices.items()}
    for key, index in chosen.items():
        weights[key][index] = 1.0
    return weights


def test_every_supernet_space_is_covered() -> None:
    assert set(SUPERNET_SPACES) == set(TINY)


@pytest.mark.parametrize("name", SUPERNET_SPACES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_hot_supernet_equals_the_standalone_network(name: str, seed: int) -> None:
    space, supernet = tiny_supernet(name, seed)
    arch = space.sample(np.random.default_rng(seed))
    standalone = supernet.standalone(space, arch)
    x = torch.randn(6, 2, 12, 12, generator=torch.Generator().manual_seed(seed))
    supernet.train(), standalone.train()
    expected = standalone(x)
    torch.testing.assert_close(supernet(x, supernet.paths_of(arch)), expected, rtol=0, atol=0)
    torch.testing.assert_close(supernet(x, arch), expected, rtol=0, atol=0)
    torch.testing.assert_close(supernet(x, one_hot(supernet, arch)), expected, rtol=1e-6, atol=1e-6)
    assert sum(p.numel() for p in standalone.parameters()) < sum(p.numel() for p in supernet.parameters())


@pytest.mark.parametrize("name", SUPERNET_SPACES)
def test_derive_of_one_hot_logits_is_the_arch(name: str) -> None:
    space, supernet = tiny_supernet(name)
    for seed in range(5):
        arch = space.sample(np.random.default_rng(seed))
        if name == "darts":  # derive needs non-'none' ops on the chosen edges to prefer them
            arch = Arch({k: ("skip_connect" if v == "none" else v) for k, v in arch.items()})
        logits = {k: 10.0 * v for k, v in one_hot(supernet, arch).items()}
        derived = supernet.derive(logits)
        assert space.is_valid(derived)
        assert supernet.paths_of(derived) == supernet.paths_of(arch)


def test_nb201_derive_takes_the_strongest_op_of_each_edge() -> None:
    supernet = NB201Space().supernet(channels=2, cells_per_stage=1)
    ops = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    logits = {key: torch.zeros(5) for key in supernet.choices}
    for position, key in enumerate(sorted(logits)):
        logits[key][position % 5] = 1.0
    derived = supernet.derive(logits)
    assert [derived[key] for key in sorted(logits)] == [ops[i % 5] for i in range(6)]


def test_darts_derive_keeps_the_two_strongest_inputs_and_skips_none() -> None:
    space = DartsSpace()
    supernet = space.supernet(channels=2, layers=3)
    ops = supernet.choices["normal_edge_0_2"]
    logits = {key: torch.zeros(len(ops)) for key in supernet.choices}
    expected = space.parse(DARTS_V2)
    for key, index in supernet.paths_of(expected).items():
        logits[key][index] = 2.0
    for key in logits:  # a huge 'none' weight everywhere must not matter
        logits[key][ops.index("none")] = 50.0
    derived = supernet.derive(logits)
    assert space.format(derived) == space.format(expected) or supernet.paths_of(derived) == supernet.paths_of(expected)


@pytest.mark.parametrize("name", SUPERNET_SPACES)
def test_gdas_hard_paths_compute_one_op_per_edge_and_reach_every_logit(name: str) -> None:
    space, supernet = tiny_supernet(name)
    logits = {k: torch.randn(len(v)).requires_grad_() for k, v in supernet.choices.items()}
    generator = torch.Generator().manual_seed(0)
    paths = {k: gumbel_softmax(v, 1.0, generator, hard=True) for k, v in logits.items()}
    mixed = supernet.mixed_ops()
    for op in mixed:
        op.calls = 0
    supernet(torch.randn(4, 2, 12, 12), paths).sum().backward()
    assert all(op.calls == 1 for op in mixed)  # every edge: exactly its sampled op
    assert all(v.grad is not None and v.grad.abs().sum() > 0 for v in logits.values())


@pytest.mark.parametrize("name", SUPERNET_SPACES)
def test_relaxed_paths_compute_every_op_but_none(name: str) -> None:
    space, supernet = tiny_supernet(name)
    weights = {k: torch.full((len(v),), 1.0 / len(v)) for k, v in supernet.choices.items()}
    for op in supernet.mixed_ops():
        op.calls = 0
    supernet(torch.randn(2, 2, 12, 12), weights)
    assert all(op.calls == len(op.names) - 1 for op in supernet.mixed_ops())


def test_mixed_op_hard_choice_has_the_value_of_the_chosen_op() -> None:
    op = MixedOp({"none": torch.nn.Identity(), "linear": torch.nn.Linear(3, 3)})
    x = torch.randn(2, 3)
    weights = torch.tensor([0.0, 1.0], requires_grad=True)
    torch.testing.assert_close(op(x, (weights, 1)), op.ops["linear"](x))


def test_entropy_is_log_n_for_uniform_logits() -> None:
    assert entropy({"a": torch.zeros(5), "b": torch.zeros(5)}) == pytest.approx(np.log(5))
    assert entropy({"a": torch.tensor([100.0, 0.0])}) == pytest.approx(0.0, abs=1e-6)


def test_straight_through_has_the_gradients_of_the_gdas_expression() -> None:
    y = torch.randn(3, 4, requires_grad=True)
    logits = torch.randn(5, requires_grad=True)
    soft = logits.softmax(-1)
    hard = torch.zeros(5)
    hard[2] = 1.0
    weights = hard - soft.detach() + soft
    upstream = torch.randn(3, 4)
    (MixedOpHelper.explicit(y, weights, 2) * upstream).sum().backward()
    expected = (y.grad.clone(), logits.grad.clone())
    y.grad, logits.grad = None, None
    soft = logits.softmax(-1)
    weights = hard - soft.detach() + soft
    out = StraightThrough.apply(y, weights, 2)
    torch.testing.assert_close(out, y)
    (out * upstream).sum().backward()
    torch.testing.assert_close(y.grad, expected[0])
    torch.testing.assert_close(logits.grad, expected[1])


class MixedOpHelper:
    @staticmethod
    def explicit(y: torch.Tensor, weights: torch.Tensor, index: int) -> torch.Tensor:
        """D-X-Y's GDAS expression, term by term."""
        return sum((y * weights[i] if i == index else weights[i] for i in range(len(weights))), torch.zeros(()))


def explicit_mixture(op: MixedOp, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``sum_o w_o * op_o(x)`` term by term, every op its own forward (the DARTS expression)."""
    return sum(op.ops[name](x) * weights[i] for i, name in enumerate(op.names) if name != "none")


@pytest.mark.parametrize("name", SUPERNET_SPACES)
@pytest.mark.parametrize("training", [True, False])
def test_relaxed_mixture_equals_the_explicit_sum(name: str, training: bool) -> None:
    """The shared ReLU and the weights folded into BatchNorm compute the DARTS sum: same outputs, same gradients
    of the weights and of the mixture weights, same running statistics."""
    _, supernet = tiny_supernet(name)
    mixed = [m for m in supernet.mixed_ops() if any(n.startswith(("nor_conv", "sep", "dil")) for n in m.names)][0]
    twin = copy.deepcopy(mixed)
    mixed.train(training), twin.train(training)
    channels = next(m for m in mixed.modules() if isinstance(m, torch.nn.BatchNorm2d)).num_features
    x = torch.randn(3, channels, 8, 8)
    w1, w2 = (torch.randn(len(mixed.names)).softmax(-1).requires_grad_() for _ in range(2))
    with torch.no_grad():
        w2.copy_(w1)
    upstream = torch.randn_like(copy.deepcopy(mixed)(x, w1.detach()))  # a copy: the running statistics stay
    (mixed(x, w1) * upstream).sum().backward()
    (explicit_mixture(twin, x, w2) * upstream).sum().backward()
    torch.testing.assert_close(w1.grad, w2.grad, rtol=1e-4, atol=1e-5)
    for (key, a), b in zip(mixed.named_parameters(), twin.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-5, msg=lambda text: f"{key}: {text}")
    for a, b in zip(mixed.buffers(), twin.buffers()):
        torch.testing.assert_close(a, b)


def test_a_weight_step_leaves_out_none_samples_and_an_arch_step_keeps_them() -> None:
    """GDAS: with detached logits a sampled ``none`` is left out of the node's sum (as the stand-alone cell
    does); with logits that learn, it stays, so the gradient reaches every logit of that edge."""
    _, supernet = tiny_supernet("nb201")
    none = supernet.choices["edge_0_1"].index("none")
    x = torch.randn(2, 2, 12, 12)
    logits = {k: torch.zeros(len(v), requires_grad=True) for k, v in supernet.choices.items()}
    for learn in (False, True):
        paths = {k: (torch.nn.functional.one_hot(torch.tensor(none), len(v)).float().requires_grad_(learn), none)
                 for k, v in supernet.choices.items()}
        for op in supernet.mixed_ops():
            op.calls = 0
        out = supernet(x, paths)
        assert sum(op.calls for op in supernet.mixed_ops()) == (len(supernet.mixed_ops()) if learn else 0)
        torch.testing.assert_close(out, supernet(x, supernet.paths_of(Arch({k: "none" for k in logits}))))
