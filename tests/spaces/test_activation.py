"""The activation spaces: ops finite on their domains, formulas, known names, the numerical guard, strings."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from archsearch.core.errors import ArchError
from archsearch.nn.activation import BINARY, EPS, UNARY, formula, known_name, numerical_problem
from archsearch.spaces.activation import ActivationSpace

SWISH = "sigmoid_mul(beta_mul(x), x(x))"
RELU = "max(relu(x), zero(x))"
OVERFLOWING = {"exp": 80.0, "sinh": 80.0, "cosh": 80.0}  # float32 overflows past ~88.7: their domain


def _grid(limit: float) -> torch.Tensor:
    # includes 0, +-eps and values just around them, where the guards matter
    special = torch.tensor([0.0, EPS, -EPS, 1e-7, -1e-7, 1.0, -1.0])
    return torch.cat([torch.linspace(-limit, limit, 4001), special]).requires_grad_(True)


@pytest.mark.parametrize("name", list(UNARY))
def test_every_unary_op_is_finite_with_finite_gradient_on_its_domain(name: str) -> None:
    x = _grid(OVERFLOWING.get(name, 1e3 if name != "cube" else 1e4))
    beta = torch.tensor(1.0, requires_grad=True)
    y = UNARY[name].fn(x, beta)
    assert y.shape == x.shape and torch.isfinite(y).all()
    if not y.requires_grad:  # the constants 0 and 1
        return
    grads = torch.autograd.grad(y.sum(), [x, beta], allow_unused=True)
    assert all(g is None or torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name", list(BINARY))
def test_every_binary_op_is_finite_with_finite_gradient_even_at_zero_denominators(name: str) -> None:
    a = _grid(100.0)
    c = torch.flip(a.detach(), [0]).clone()
    c[:7] = torch.tensor([0.0, -EPS, -EPS, EPS, -2 * EPS, -EPS / 2, 0.0])  # x2 + eps == 0 and neighbours
    c.requires_grad_(True)
    beta = torch.tensor(0.7, requires_grad=True)
    y = BINARY[name].fn(a, c, beta)
    assert torch.isfinite(y).all()
    grads = torch.autograd.grad(y.sum(), [a, c, beta], allow_unused=True)
    assert all(g is None or torch.isfinite(g).all() for g in grads)


def test_the_paper_op_counts() -> None:
    assert len(UNARY) == 27 and len(BINARY) == 9
    assert ActivationSpace().size() == 27 * 27 * 9


def test_swish_prints_and_evaluates_as_x_sigmoid_beta_x() -> None:
    space = ActivationSpace()
    arch = space.parse(SWISH)
    assert space.formula(arch) == "sigmoid(beta*x) * x"
    assert space.known_name(arch) == "Swish"
    module = space.build(arch)
    x = torch.linspace(-6, 6, 101)
    for beta in (1.0, 2.5):
        with torch.no_grad():
            next(module.parameters()).fill_(beta)
            torch.testing.assert_close(module(x), x * torch.sigmoid(beta * x))


def test_relu_prints_and_evaluates_as_max_x_0() -> None:
    space = ActivationSpace()
    arch = space.parse(RELU)
    assert space.formula(arch) == "max(max(x, 0), 0)"
    assert space.known_name(arch) == "ReLU"
    x = torch.linspace(-3, 3, 61)
    torch.testing.assert_close(space.build(arch)(x), torch.relu(x))
    assert list(space.build(arch).parameters()) == []  # no beta in ReLU


def test_formulas_parenthesise_where_precedence_needs_it() -> None:
    space = ActivationSpace()
    assert space.formula(space.parse("mul(add_beta(x), neg(x))")) == "(x + beta) * (-x)"
    assert space.formula(space.parse("mul(square(x), abs(x))")) == "x^2 * |x|"
    assert space.formula(space.parse("sub(x(x), add_beta(x))")) == "x - (x + beta)"
    two = ActivationSpace(units=2)
    arch = two.parse("add(x(x), sin(x)); mul(x(x), square(u1))")
    assert two.formula(arch) == "x * (x + sin(x))^2"


def test_known_names_and_likenesses() -> None:
    space = ActivationSpace()
    assert space.known_name(space.parse("mul(x(x), sigmoid(x))")) == "SiLU (Swish-1)"
    assert space.known_name(space.parse("sigmoid_mul(x(x), x(x))")) == "SiLU (Swish-1)"
    assert space.known_name(space.parse("mix(relu(x), x(x))")) == "ReLU-like"  # ReLU at beta = 1 only
    assert space.known_name(space.parse("mul(x(x), cos(x))")) is None


def test_the_guard_rejects_blow_ups_and_constants_and_accepts_swish() -> None:
    two = ActivationSpace(units=2)
    assert "non-finite" in two.numerical_problem(two.parse("add(exp(x), zero(x)); add(exp(u1), zero(x))"))
    space = ActivationSpace()
    assert space.numerical_problem(space.parse("mul(one(x), zero(x))")) == "constant output"
    assert space.numerical_problem(space.parse("mul(x(x), beta(x))")) is None  # beta * x is fine
    assert "above" in space.numerical_problem(space.parse("mul(exp(x), exp(x))"))  # 4.9e8 at x = 10
    assert space.numerical_problem(space.parse(SWISH)) is None


def test_random_candidates_mostly_pass_the_guard_and_all_run_batched() -> None:
    rng = np.random.default_rng(0)
    space = ActivationSpace()
    passed = 0
    for _ in range(100):
        arch = space.sample(rng)
        if space.numerical_problem(arch) is None:
            passed += 1
            out = space.build(arch, channels=3, spatial_dims=2)(torch.randn(2, 3, 4, 4))
            assert out.shape == (2, 3, 4, 4) and torch.isfinite(out).all()
    assert 70 <= passed < 100


def test_per_channel_betas() -> None:
    space = ActivationSpace()
    module = space.build(space.parse("mix(beta_mul(x), tanh(x))"), channels=8, spatial_dims=2)
    assert sorted(p.shape for p in module.parameters()) == [torch.Size([8, 1, 1])] * 2
    features = space.build(space.parse(SWISH), channels=5, spatial_dims=0)
    assert next(features.parameters()).shape == (5,)
    assert features(torch.randn(4, 5)).shape == (4, 5)


def test_strings_round_trip_in_both_spaces() -> None:
    rng = np.random.default_rng(1)
    for space in (ActivationSpace(), ActivationSpace(units=2)):
        for _ in range(100):
            arch = space.sample(rng)
            assert space.parse(space.format(arch)) == arch
            assert space.parse(arch.key()) == arch


@pytest.mark.parametrize("text", ["", "sigmoid_mul(beta_mul(x))", "sigmoid_mul(beta_mul(x), x(x)); add(x(x), x(x))",
                                  "nope(x(x), x(x))", "add(nope(x), x(x))", "add(x(u1), x(x))", "add(x(y), x(x))"])
def test_malformed_strings_are_arch_errors(text: str) -> None:
    with pytest.raises(ArchError):
        ActivationSpace().parse(text)


def test_two_units_need_the_first_unit_to_be_read() -> None:
    two = ActivationSpace(units=2)
    with pytest.raises(ArchError, match="constraints"):
        two.parse("add(x(x), sin(x)); mul(x(x), square(x))")  # unit 1 is dead code
    assert two.name == "activation2" and len(two.dims()) == 8
    with pytest.raises(ArchError):
        ActivationSpace(units=3)


def test_module_level_helpers_agree_with_the_space() -> None:
    space = ActivationSpace()
    arch = space.parse(SWISH)
    assert formula(space.units_of(arch)) == space.formula(arch)
    assert known_name(torch.nn.SiLU()) == "SiLU (Swish-1)"
    assert numerical_problem(torch.nn.ReLU()) is None
    with torch.no_grad():
        assert math.isfinite(float(space.build(arch)(torch.tensor([50.0]))))
