"""Symbolic activation functions: the unary and binary ops of Ramachandran, Zoph & Le, "Searching for
Activation Functions" (arXiv:1710.05941, 2017, Sec. 2), a module that evaluates a program of "core units"
``b(u1(x1), u2(x2))``, well-known activations as baselines, and the fixed child networks that score them.

Every op is elementwise on tensors of any shape. Ops with the trainable ``beta`` take it as a tensor that
broadcasts against the input: a scalar (the paper's search), or one value per channel (``(C, 1, 1)`` for
feature maps, ``(F,)`` for features). Guards keep every op finite on its domain: ``log(|x| + eps)``,
``x1 / (x2 + eps)`` with the denominator kept at least ``eps`` away from zero, ``sqrt(|x| + eps)`` (a finite
gradient at 0), ``sinc(0) = 1``. ``exp``/``sinh``/``cosh`` overflow float32 above ~88 as the math says they do;
the space's numerical guard rejects candidates that blow up on its probe range before any training.

Child networks (the estimator's "fixed child network", the paper's ResNet-164 / WRN / DenseNet children scaled
to CPU): :class:`ActivationResNet` (images: stem conv + BN + act, residual stages of pre-activation basic
blocks, global pool, linear) and :class:`ActivationMLP` (1-D signals such as MNIST-1D: two hidden layers, as
Greydanus 2020's MLP baseline), each with the candidate at every activation site.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from archsearch.nn.conv import conv2d

EPS = 1e-3  # the guards' epsilon (log, division, sqrt)
BETA_INIT = 1.0

Tensor = torch.Tensor


@dataclass(frozen=True)
class Op:
    """One op: ``fn(inputs..., beta)``, a formula template with ``{0}``/``{1}`` for the operands, and whether it
    has a trainable ``beta``."""

    name: str
    fn: Callable[..., Tensor]
    template: str
    uses_beta: bool = False


def _safe_div(a: Tensor, b: Tensor) -> Tensor:
    # x1 / (x2 + eps) with |denominator| >= eps (x2 = -eps would divide by zero)
    denominator = b + EPS
    return a / torch.where(denominator.abs() < EPS, torch.full_like(denominator, EPS), denominator)


UNARY: dict[str, Op] = {op.name: op for op in (
    Op("x", lambda x, b: x, "{0}"),
    Op("neg", lambda x, b: -x, "-{0}"),
    Op("abs", lambda x, b: x.abs(), "|{0}|"),
    Op("square", lambda x, b: x * x, "{0}^2"),
    Op("cube", lambda x, b: x * x * x, "{0}^3"),
    Op("sqrt_abs", lambda x, b: torch.sqrt(x.abs() + EPS), "sqrt(|{0}|)"),
    Op("beta_mul", lambda x, b: b * x, "beta*{0}", True),
    Op("add_beta", lambda x, b: x + b, "{0} + beta", True),
    Op("log_abs", lambda x, b: torch.log(x.abs() + EPS), "log(|{0}|)"),
    Op("exp", lambda x, b: torch.exp(x), "exp({0})"),
    Op("sin", lambda x, b: torch.sin(x), "sin({0})"),
    Op("cos", lambda x, b: torch.cos(x), "cos({0})"),
    Op("sinh", lambda x, b: torch.sinh(x), "sinh({0})"),
    Op("cosh", lambda x, b: torch.cosh(x), "cosh({0})"),
    Op("tanh", lambda x, b: torch.tanh(x), "tanh({0})"),
    Op("asinh", lambda x, b: torch.asinh(x), "asinh({0})"),
    Op("atan", lambda x, b: torch.atan(x), "atan({0})"),
    Op("sinc", lambda x, b: torch.sinc(x / math.pi), "sinc({0})"),  # sin(x)/x, 1 at 0
    Op("relu", lambda x, b: torch.relu(x), "max({0}, 0)"),
    Op("min0", lambda x, b: torch.clamp(x, max=0.0), "min({0}, 0)"),
    Op("sigmoid", lambda x, b: torch.sigmoid(x), "sigmoid({0})"),
    Op("softplus", lambda x, b: F.softplus(x), "softplus({0})"),
    Op("gauss", lambda x, b: torch.exp(-x * x), "exp(-{0}^2)"),
    Op("erf", lambda x, b: torch.erf(x), "erf({0})"),
    Op("zero", lambda x, b: torch.zeros_like(x), "0"),
    Op("one", lambda x, b: torch.ones_like(x), "1"),
    Op("beta", lambda x, b: b * torch.ones_like(x), "beta", True),
)}

BINARY: dict[str, Op] = {op.name: op for op in (
    Op("add", lambda a, c, b: a + c, "{0} + {1}"),
    Op("mul", lambda a, c, b: a * c, "{0} * {1}"),
    Op("sub", lambda a, c, b: a - c, "{0} - {1}"),
    Op("div", lambda a, c, b: _safe_div(a, c), "{0} / ({1} + eps)"),
    Op("max", lambda a, c, b: torch.maximum(a, c), "max({0}, {1})"),
    Op("min", lambda a, c, b: torch.minimum(a, c), "min({0}, {1})"),
    Op("sigmoid_mul", lambda a, c, b: torch.sigmoid(a) * c, "sigmoid({0}) * {1}"),
    Op("gauss_diff", lambda a, c, b: torch.exp(-b * (a - c) ** 2), "exp(-beta*({0} - {1})^2)", True),
    Op("mix", lambda a, c, b: b * a + (1 - b) * c, "beta*{0} + (1 - beta)*{1}", True),
)}


@dataclass(frozen=True)
class Unit:
    """One core unit ``binary(unary1(in1), unary2(in2))``; ``in1``/``in2`` are ``"x"`` or ``"u<k>"`` (the output
    of an earlier unit, numbered from 1)."""

    unary1: str
    in1: str
    unary2: str
    in2: str
    binary: str


class SymbolicActivation(nn.Module):
    """``(*) -> (*)``: the program of ``units`` applied elementwise; the last unit's output is the activation.
    Every op occurrence with a ``beta`` owns one trainable parameter of ``beta_shape`` (``()``: a scalar)."""

    def __init__(self, units: Sequence[Unit], beta_shape: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.units = tuple(units)
        self.betas = nn.ParameterDict({
            key: nn.Parameter(torch.full(beta_shape, BETA_INIT))
            for key, op in self.op_sites() if op.uses_beta})

    def op_sites(self) -> list[tuple[str, Op]]:
        """``(parameter key, op)`` of every op occurrence, in evaluation order."""
        sites = []
        for k, unit in enumerate(self.units, start=1):
            sites += [(f"u{k}_unary1", UNARY[unit.unary1]), (f"u{k}_unary2", UNARY[unit.unary2]),
                      (f"u{k}_binary", BINARY[unit.binary])]
        return sites

    def _beta(self, key: str) -> Tensor | None:
        return self.betas[key] if key in self.betas else None

    def forward(self, x: Tensor) -> Tensor:
        values = {"x": x}
        out = x
        for k, unit in enumerate(self.units, start=1):
            a = UNARY[unit.unary1].fn(values[unit.in1], self._beta(f"u{k}_unary1"))
            c = UNARY[unit.unary2].fn(values[unit.in2], self._beta(f"u{k}_unary2"))
            out = BINARY[unit.binary].fn(a, c, self._beta(f"u{k}_binary"))
            values[f"u{k}"] = out
        return out

    def extra_repr(self) -> str:
        return formula(self.units)


def formula(units: Sequence[Unit]) -> str:
    """A readable formula, e.g. ``x * sigmoid(beta*x)`` for Swish; every unit is substituted into the last."""
    texts = {"x": "x"}
    for k, unit in enumerate(units, start=1):
        left = _apply(UNARY[unit.unary1].template, [texts[unit.in1]])
        right = _apply(UNARY[unit.unary2].template, [texts[unit.in2]])
        texts[f"u{k}"] = _apply(BINARY[unit.binary].template, [left, right])
    return texts[f"u{len(units)}"]


def _apply(template: str, operands: Sequence[str]) -> str:
    """Fill ``template``; an operand goes in parentheses unless it is atomic or the template already
    delimits it (a function call's argument, ``|...|``)."""
    out = template
    for i, operand in enumerate(operands):
        slot = "{" + str(i) + "}"
        if slot not in out:  # constants (0, 1, beta) ignore their operand
            continue
        start = out.index(slot)
        before, after = out[start - 1:start], out[start + len(slot):start + len(slot) + 1]
        delimited = (before in "(|" and after in ",)|") or template == slot
        out = out.replace(slot, operand if delimited or _atomic(operand) else f"({operand})", 1)
    return out


def _atomic(text: str) -> bool:
    """A name, a number, a function call, an absolute value, a parenthesised group or their powers: nothing
    that binds looser than a product."""
    if text.replace(".", "").replace("_", "").isalnum():
        return True
    if text[-2:] in ("^2", "^3"):  # a power of an atom binds tighter than a product
        return _atomic(text[:-2])
    if text.startswith("|") and text.endswith("|") and text.count("|") == 2:
        return True
    head = text.split("(", 1)[0]
    return (not head or head.isidentifier()) and text.endswith(")") and _closes_at_end(text, len(head))


def _closes_at_end(text: str, open_at: int) -> bool:
    depth = 0
    for i, char in enumerate(text[open_at:], start=open_at):
        depth += char == "("
        depth -= char == ")"
        if depth == 0:
            return i == len(text) - 1
    return False


# -- well-known activations (baselines of activation-eval) ---------------------------------------------------
class Swish(nn.Module):
    """``x * sigmoid(beta x)`` with a trainable ``beta`` (Ramachandran et al. 2017's finding; beta = 1 is SiLU)."""

    def __init__(self, beta_shape: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.beta = nn.Parameter(torch.full(beta_shape, BETA_INIT))

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(self.beta * x)


BASELINES: dict[str, Callable[[tuple[int, ...]], nn.Module]] = {
    "relu": lambda shape: nn.ReLU(),
    "swish": Swish,
    "silu": lambda shape: nn.SiLU(),
    "gelu": lambda shape: nn.GELU(),
    "elu": lambda shape: nn.ELU(),
    "selu": lambda shape: nn.SELU(),
    "leaky_relu": lambda shape: nn.LeakyReLU(0.01),
    "softplus": lambda shape: nn.Softplus(),
    "tanh": lambda shape: nn.Tanh(),
    "sigmoid": lambda shape: nn.Sigmoid(),
}

ActivationFactory = Callable[[int, int], nn.Module]  # (channels, spatial dims) -> module


# -- child networks ---------------------------------------------------------------------------------------
CHILD_CHANNELS = 16
CHILD_STAGES = 2
CHILD_BLOCKS = 1
MLP_HIDDEN = 100


class PreActBlock(nn.Module):
    """Pre-activation basic block (He et al. 2016): BN-act-conv3x3-BN-act-conv3x3 + shortcut (1x1 when shapes change)."""

    def __init__(self, c_in: int, c_out: int, stride: int, activation: ActivationFactory) -> None:
        super().__init__()
        self.bn1, self.act1 = nn.BatchNorm2d(c_in), activation(c_in, 2)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn2, self.act2 = nn.BatchNorm2d(c_out), activation(c_out, 2)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.shortcut = (nn.Identity() if stride == 1 and c_in == c_out
                         else conv2d(c_in, c_out, 1, stride, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        # (B, C_in, H, W) -> (B, C_out, H/stride, W/stride)
        out = self.conv1(self.act1(self.bn1(x)))
        return self.conv2(self.act2(self.bn2(out))) + self.shortcut(x)


class ActivationResNet(nn.Module):
    """``(B, C_in, H, W) -> (B, classes)``: conv3x3 stem, ``stages`` of ``blocks`` pre-activation blocks (channels
    doubling, stride 2 from the second stage), BN-act, global average pool, linear."""

    def __init__(self, activation: ActivationFactory, in_channels: int, num_classes: int, *,
                 channels: int = CHILD_CHANNELS, stages: int = CHILD_STAGES, blocks: int = CHILD_BLOCKS) -> None:
        super().__init__()
        self.stem = nn.Conv2d(in_channels, channels, 3, 1, 1, bias=False)
        layers, c_in = [], channels
        for stage in range(stages):
            c_out = channels * 2**stage
            for block in range(blocks):
                layers.append(PreActBlock(c_in, c_out, 2 if stage > 0 and block == 0 else 1, activation))
                c_in = c_out
        self.blocks = nn.Sequential(*layers)
        self.bn, self.act = nn.BatchNorm2d(c_in), activation(c_in, 2)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        # (B, C_in, H, W) -> (B, C, H, W) -> blocks -> (B, C * 2^(stages-1), H', W') -> (B, classes)
        feature = self.act(self.bn(self.blocks(self.stem(x))))
        return self.classifier(feature.mean(dim=(2, 3)))


class ActivationMLP(nn.Module):
    """``(B, *shape) -> (B, classes)``: flatten, ``layers`` x (linear, BN, act), linear."""

    def __init__(self, activation: ActivationFactory, in_features: int, num_classes: int, *,
                 hidden: int = MLP_HIDDEN, layers: int = 2) -> None:
        super().__init__()
        parts: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for _ in range(layers):
            parts += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), activation(hidden, 0)]
            width = hidden
        parts.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*parts)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def child_network(activation: ActivationFactory, shape: tuple[int, int, int], num_classes: int, *,
                  kind: str = "auto", channels: int = CHILD_CHANNELS, stages: int = CHILD_STAGES,
                  blocks: int = CHILD_BLOCKS, hidden: int = MLP_HIDDEN, layers: int = 2) -> nn.Module:
    """The fixed child for inputs of ``shape`` (C, H, W): ``mlp`` for 1-D signals (H == 1), ``resnet`` for images
    (``kind`` forces one)."""
    if kind == "auto":
        kind = "mlp" if shape[1] == 1 else "resnet"
    if kind == "mlp":
        return ActivationMLP(activation, int(math.prod(shape)), num_classes, hidden=hidden, layers=layers)
    if kind == "resnet":
        return ActivationResNet(activation, shape[0], num_classes, channels=channels, stages=stages, blocks=blocks)
    raise ValueError(f"unknown child network {kind!r}; choose auto, mlp or resnet")


def beta_shape(channels: int | None, spatial_dims: int) -> tuple[int, ...]:
    """``()`` for a scalar beta, ``(C, 1, 1)`` per channel of feature maps, ``(F,)`` per feature."""
    return () if channels is None else (channels,) + (1,) * spatial_dims


# -- probing: the numerical guard and names of known functions ----------------------------------------------
PROBE_RANGE = 10.0  # the guard evaluates on [-10, 10]
PROBE_POINTS = 2001
MAX_MAGNITUDE = 1e8  # larger outputs on the probe range overflow float32 training soon after
MIN_SPREAD = 1e-6  # max - min below this is a constant function
NAME_RANGE = 5.0  # known functions are compared on [-5, 5]
NAME_BETAS = (0.5, 1.0, 2.0)  # every beta set to each value; a match must hold at all of them
EXACT_TOLERANCE = 1e-4
LIKE_TOLERANCE = 0.05  # RMSE / std of the known function at beta = 1 for "<name>-like"

_SQRT2 = math.sqrt(2.0)
KNOWN: dict[str, Callable[[Tensor, float], Tensor]] = {
    "identity": lambda x, b: x,
    "ReLU": lambda x, b: torch.relu(x),
    "Swish": lambda x, b: x * torch.sigmoid(b * x),
    "SiLU (Swish-1)": lambda x, b: x * torch.sigmoid(x),
    "GELU": lambda x, b: 0.5 * x * (1 + torch.erf(x / _SQRT2)),
    "ELU": lambda x, b: F.elu(x),
    "softplus": lambda x, b: F.softplus(x),
    "tanh": lambda x, b: torch.tanh(x),
    "sigmoid": lambda x, b: torch.sigmoid(x),
    "|x|": lambda x, b: x.abs(),
    "x^2": lambda x, b: x * x,
    "sin": lambda x, b: torch.sin(x),
    "min(x, 0)": lambda x, b: torch.clamp(x, max=0.0),
}
SWISH_NAMES = ("Swish", "SiLU (Swish-1)", "Swish-like")


def curve_at_beta(module: nn.Module, x: Tensor, beta: float) -> Tensor:
    """``module(x)`` with every parameter (the betas) set to ``beta``, on a copy."""
    saved = [p.detach().clone() for p in module.parameters()]
    try:
        with torch.no_grad():
            for p in module.parameters():
                p.fill_(beta)
            return module(x).detach()
    finally:
        with torch.no_grad():
            for p, value in zip(module.parameters(), saved):
                p.copy_(value)


def numerical_problem(module: nn.Module) -> str | None:
    """Why ``module`` is unusable as an activation, or None: a non-finite (or > 1e8) output or gradient on
    [-10, 10] at beta = 1, or a constant output (Ramachandran et al.'s validity filtering)."""
    x = torch.linspace(-PROBE_RANGE, PROBE_RANGE, PROBE_POINTS, requires_grad=True)
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(BETA_INIT)
    y = module(x)
    if y.shape != x.shape:
        return f"output shape {tuple(y.shape)} differs from the input's {tuple(x.shape)}"
    if not torch.isfinite(y).all():
        return f"non-finite output on [-{PROBE_RANGE:g}, {PROBE_RANGE:g}]"
    if y.abs().max().item() > MAX_MAGNITUDE:
        return f"output above {MAX_MAGNITUDE:.0e} on [-{PROBE_RANGE:g}, {PROBE_RANGE:g}] (overflows in training)"
    if (y.max() - y.min()).item() < MIN_SPREAD:
        return "constant output"
    params = [p for p in module.parameters() if p.requires_grad]
    grads = torch.autograd.grad(y.sum(), [x, *params], allow_unused=True)
    if any(g is not None and not torch.isfinite(g).all() for g in grads):
        return f"non-finite gradient on [-{PROBE_RANGE:g}, {PROBE_RANGE:g}]"
    return None


def known_name(module: nn.Module) -> str | None:
    """The name of the known function ``module`` computes (at every beta in 0.5, 1, 2), else ``"<name>-like"``
    for the closest known function within 5% RMSE at beta = 1 (Swish-like also for x*sigmoid(c x), any c in
    [0.25, 4]), else None."""
    x = torch.linspace(-NAME_RANGE, NAME_RANGE, 501)
    curves = {beta: curve_at_beta(module, x, beta) for beta in NAME_BETAS}
    if not all(torch.isfinite(c).all() for c in curves.values()):
        return None
    for name, fn in KNOWN.items():
        if all((curves[b] - fn(x, b)).abs().max().item() < EXACT_TOLERANCE for b in NAME_BETAS):
            return name
    candidates = {name: fn(x, 1.0) for name, fn in KNOWN.items() if name != "Swish"}
    candidates.update({f"swish:{c:.3f}": x * torch.sigmoid(c * x) for c in torch.logspace(-0.6, 0.6, 25).tolist()})
    errors = {name: (torch.sqrt(((curves[1.0] - ref) ** 2).mean()) / ref.std().clamp_min(1e-12)).item()
              for name, ref in candidates.items()}
    best = min(errors, key=errors.get)  # type: ignore[arg-type]
    if errors[best] >= LIKE_TOLERANCE:
        return None
    return "Swish-like" if best.startswith("swish:") or best == "SiLU (Swish-1)" else f"{best}-like"
