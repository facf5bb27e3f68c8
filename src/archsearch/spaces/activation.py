"""The ``activation`` spaces: symbolic activation functions, the search space of Ramachandran, Zoph & Le,
"Searching for Activation Functions" (arXiv:1710.05941, 2017), which found Swish, ``x * sigmoid(beta x)``.

An activation is ``units`` (1 or 2) "core units" ``b(u1(x1), u2(x2))`` evaluated in order; the first unit
reads the input x, a later unit's x1 and x2 are the input or an earlier unit's output, and the last unit's
output is the activation (Sec. 2, Fig. 1). Unary ops u are the paper's 27 (x, -x, |x|, x^2, x^3, sqrt(|x|),
beta x, x + beta, log(|x| + eps), exp, sin, cos, sinh, cosh, tanh, asinh, atan, sinc, max(x, 0), min(x, 0),
sigmoid, softplus, exp(-x^2), erf, 0, 1, beta), binary ops b its 9 (x1 + x2, x1 * x2, x1 - x2,
x1 / (x2 + eps), max, min, sigmoid(x1) * x2, exp(-beta (x1 - x2)^2), beta x1 + (1 - beta) x2); see
:mod:`archsearch.nn.activation`. ``beta`` is trainable, one per op occurrence (scalar, or per channel with
``build(arch, channels=C)``).

Space ``activation`` has one unit (27 x 27 x 9 = 6,561 functions), ``activation2`` two (every unit but the
last must feed a later one). Dims per unit k: ``u{k}_in1`` and ``u{k}_in2`` (from unit 2 on), ``u{k}_unary1``,
``u{k}_unary2``, ``u{k}_binary``. The native string writes each unit as ``binary(unary1(in1), unary2(in2))``,
units joined by ``; ``, e.g. Swish is ``sigmoid_mul(beta_mul(x), x(x))``, ReLU ``max(relu(x), zero(x))``.

``build(arch)`` returns the activation module; :class:`~archsearch.estimators.activation.ActivationEstimator`
puts it into a fixed child network. ``numerical_problem(arch)`` is the validity filter (non-finite, overflowing
or constant on [-10, 10]), ``formula(arch)`` a readable formula and ``known_name(arch)`` the name of a known
function it equals (Swish, ReLU, ...) or resembles (``GELU-like``).
"""

from __future__ import annotations

import re
from typing import Any

from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Dim
from archsearch.core.errors import ArchError
from archsearch.core.options import check_int
from archsearch.core.space import SearchSpace
from archsearch.nn.activation import BINARY, UNARY, Unit

MAX_UNITS = 2
PARTS = ("in1", "unary1", "in2", "unary2", "binary")
_UNIT = re.compile(r"^(?P<binary>\w+)\(\s*(?P<unary1>\w+)\(\s*(?P<in1>\w+)\s*\)\s*,\s*"
                   r"(?P<unary2>\w+)\(\s*(?P<in2>\w+)\s*\)\s*\)$")


def dim_name(unit: int, part: str) -> str:
    return f"u{unit}_{part}"


class ActivationSpace(SearchSpace):
    """Programs of ``units`` core units over the paper's unary and binary ops."""

    name = "activation"

    def __init__(self, units: int = 1) -> None:
        self.units = check_int("space activation", "units", units, 1)
        if self.units > MAX_UNITS:
            raise ArchError(f"space activation: units must be 1 or 2, got {units}")
        self.name = "activation" if self.units == 1 else f"activation{self.units}"
        self._dims: dict[str, Dim] = {}
        for unit in range(1, self.units + 1):
            inputs = ("x", *(f"u{k}" for k in range(1, unit)))
            for part in PARTS:
                if part.startswith("in"):
                    if unit > 1:
                        self._dims[dim_name(unit, part)] = Categorical(inputs)
                else:
                    self._dims[dim_name(unit, part)] = Categorical(tuple(BINARY if part == "binary" else UNARY))

    def dims(self) -> dict[str, Dim]:
        return dict(self._dims)

    def is_valid(self, arch: Any) -> bool:
        """The dims' values, and every unit but the last read by a later unit (no dead code)."""
        if not super().is_valid(arch):
            return False
        units = self.units_of(arch)
        used = {unit.in1 for unit in units} | {unit.in2 for unit in units}
        return all(f"u{k}" in used for k in range(1, len(units)))

    def units_of(self, arch: Any) -> list[Unit]:
        """The core units of ``arch`` in evaluation order."""
        return [Unit(arch[dim_name(k, "unary1")], arch.get(dim_name(k, "in1"), "x"), arch[dim_name(k, "unary2")],
                     arch.get(dim_name(k, "in2"), "x"), arch[dim_name(k, "binary")])
                for k in range(1, self.units + 1)]

    # -- networks -----------------------------------------------------------------------------
    def build(self, arch: Arch, *, channels: int | None = None, spatial_dims: int = 0) -> Any:
        """The activation module of ``arch``: a scalar beta per op, or one per channel with ``channels``
        (``spatial_dims`` trailing singleton dims: 2 for (B, C, H, W) maps, 0 for (B, F) features)."""
        from archsearch.nn.activation import SymbolicActivation, beta_shape

        return SymbolicActivation(self.units_of(self.validate(arch)), beta_shape(channels, spatial_dims))

    def numerical_problem(self, arch: Arch) -> str | None:
        """Why ``arch`` cannot be an activation (non-finite / overflowing / constant on [-10, 10]), or None."""
        from archsearch.nn.activation import numerical_problem

        return numerical_problem(self.build(arch))

    def formula(self, arch: Arch) -> str:
        from archsearch.nn.activation import formula

        return formula(self.units_of(self.validate(arch)))

    def known_name(self, arch: Arch) -> str | None:
        from archsearch.nn.activation import known_name

        return known_name(self.build(arch))

    # -- native strings -----------------------------------------------------------------------
    def format(self, arch: Arch) -> str:
        return "; ".join(f"{u.binary}({u.unary1}({u.in1}), {u.unary2}({u.in2}))" for u in self.units_of(arch))

    def parse(self, text: str) -> Arch:
        """``binary(unary1(in1), unary2(in2))`` per unit, ``; ``-separated, or the JSON key of an arch."""
        if not isinstance(text, str):
            raise ArchError(f"an arch of space {self.name!r} must be a string, got {type(text).__name__}")
        text = text.strip()
        if text.startswith("{"):
            return super().parse(text)
        parts = [part.strip() for part in text.split(";")]
        if len(parts) != self.units:
            raise ArchError(f"malformed {self.name} arch {text!r}: expected {self.units} unit(s) like "
                            "'sigmoid_mul(beta_mul(x), x(x))', separated by ';'")
        choices: dict[str, str] = {}
        for unit, part in enumerate(parts, start=1):
            match = _UNIT.match(part)
            if match is None:
                raise ArchError(f"malformed unit {unit} {part!r} of {self.name} arch {text!r}: expected "
                                "binary(unary(input), unary(input)), e.g. 'sigmoid_mul(beta_mul(x), x(x))'")
            for name in ("unary1", "unary2"):
                if match[name] not in UNARY:
                    raise ArchError(f"unknown unary op {match[name]!r} in {text!r}; choose from {', '.join(UNARY)}")
            if match["binary"] not in BINARY:
                raise ArchError(f"unknown binary op {match['binary']!r} in {text!r}; choose from {', '.join(BINARY)}")
            for part_name in PARTS:
                if part_name.startswith("in") and unit == 1:
                    if match[part_name] != "x":
                        raise ArchError(f"unit 1 of {text!r} can only read the input x, not {match[part_name]!r}")
                    continue
                choices[dim_name(unit, part_name)] = match[part_name]
        return self.validate(choices)


def two_unit_space() -> ActivationSpace:
    """Space ``activation2``: two core units."""
    return ActivationSpace(units=2)
