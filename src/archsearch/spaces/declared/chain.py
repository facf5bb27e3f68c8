"""The ``chain`` kind: a stem, a sequence of layers and a head; each layer's block, and optionally its
channels, stride and repeats, come from dims (numbers, dim names or ``"N*dim"`` products)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical
from archsearch.core.errors import UserError
from archsearch.core.options import check_int
from archsearch.nn.topology import canonical_op
from archsearch.spaces.declared.base import OP_HELP, DeclaredSpace, bad, check_ops, parse_dim

LAYER_KEYS = ("op", "channels", "stride", "repeat")
_PRODUCT = re.compile(r"^\s*(?:(?P<a>\d{1,6})\s*\*\s*(?P<dim>[A-Za-z_]\w*)"  # "16*width" or "width*16"_PRODUCT = re.compile(r"^\s*(?:(?P<a>\d{1,6})\s*\*\s*(?P<dim>[A-Za-z_]\w*)"  # "16*width" or "width*16"
                      r"|(?P<dim2>[A-Za-z_]\w*)\s*\*\s*(?P<b>\d{1,6}))\s*$")


@dataclass(frozen=True)
class Amount:
    """A layer's number: ``factor`` alone, or ``factor * arch[dim]``."""

    factor: int
    dim: str | None = None

    def value(self, arch: Mapping[str, Any]) -> int:
        return self.factor * (int(arch[self.dim]) if self.dim is not None else 1)


@dataclass(frozen=True)
class Layer:
    """One chain layer: its op (a dim or a fixed op), channels (None: keep the width), stride and repeats."""

    op: str
    op_is_dim: bool
    channels: Amount | None
    stride: Amount
    repeat: Amount


@dataclass(frozen=True)
class LayerPlan:
    """One concrete layer of a built chain network."""

    op: str  # canonical primitive name
    c_in: int
    c_out: int
    stride: int


class ChainSpace(DeclaredSpace):
    """A chain of layers; each layer's block, and optionally its channels, stride and repeats, come from dims."""

    kind = "chain"

    def __init__(self, definition: Mapping[str, Any], source: str = "declared space") -> None:
        super().__init__(definition, source)
        dims = self.definition.get("dims")
        if not isinstance(dims, dict) or not dims:
            raise bad(source, "'dims' must be a non-empty mapping of dim name -> choices")
        self._dims = {name: parse_dim(source, name, spec) for name, spec in dims.items()}
        raw_layers = self.definition.get("layers", list(self._dims))
        if not isinstance(raw_layers, list) or not raw_layers:
            raise bad(source, "'layers' must be a non-empty list (each a dim or op name, or {op: ..., channels: ..., "
                               "stride: ..., repeat: ...})")
        try:
            self.layers = [self._layer(i, spec) for i, spec in enumerate(raw_layers, start=1)]
        except UserError as exc:
            if "layers" in self.definition:
                raise
            raise UserError(f"{exc} (without 'layers' every dim is one layer: list the layers under 'layers' "
                            "to use dims that are not ops)") from None
        used = {ref for layer in self.layers for ref in _dim_refs(layer)}
        unused = [name for name in self._dims if name not in used]
        if unused:
            raise bad(source, f"dim {unused[0]!r} is not used by any layer")
        self._finish()

    def _layer(self, index: int, spec: Any) -> Layer:
        where = f"layer {index}"
        if isinstance(spec, str):
            spec = {"op": spec}
        if not isinstance(spec, dict):
            raise bad(self.source, f"{where}: give a dim or op name, or a mapping with {', '.join(LAYER_KEYS)}")
        unknown = [key for key in spec if key not in LAYER_KEYS]
        if unknown:
            raise bad(self.source, f"{where}: unknown key {unknown[0]!r}; keys: {', '.join(LAYER_KEYS)}")
        op = spec.get("op")
        if isinstance(op, str) and op in self._dims:
            dim = self._dims[op]
            if not isinstance(dim, Categorical):
                raise bad(self.source, f"{where}: dim {op!r} is an integer range, not a choice of ops")
            check_ops(self.source, f"{where} (dim {op!r})", dim.options, allow_none=False)
            op_is_dim = True
        else:
            if canonical_op(op) is None:
                raise bad(self.source, f"{where}: op {op!r} is neither a dim nor an op; dims: "
                                        f"{', '.join(self._dims)}; ops: {OP_HELP}")
            check_ops(self.source, where, [op], allow_none=False)
            op_is_dim = False
        channels = None if spec.get("channels") is None else self._amount(where, "channels", spec["channels"])
        stride = self._amount(where, "stride", spec.get("stride", 1), allowed=(1, 2))
        return Layer(op, op_is_dim, channels, stride, self._amount(where, "repeat", spec.get("repeat", 1)))

    def _amount(self, where: str, key: str, value: Any, allowed: tuple[int, ...] | None = None) -> Amount:
        """An integer, a dim with integer choices, or ``"N*dim"``; every value it can take is checked."""
        if isinstance(value, int) and not isinstance(value, bool):
            amount = Amount(value)
        elif isinstance(value, str) and value in self._dims:
            amount = Amount(1, value)
        elif isinstance(value, str) and _PRODUCT.match(value):
            match = _PRODUCT.match(value)
            amount = Amount(int(match["a"] or match["b"]), match["dim"] or match["dim2"])
            if amount.dim not in self._dims:
                raise bad(self.source, f"{where}: {key} {value!r} names no dim; dims: {', '.join(self._dims)}")
        else:
            raise bad(self.source, f"{where}: {key} must be an integer, a dim name or 'N*dim', got {value!r}")
        values = [amount.factor]
        if amount.dim is not None:  # a range's ends bound every value it can take
            dim = self._dims[amount.dim]
            options = dim.options if isinstance(dim, Categorical) else (dim.low, dim.high)
            if any(isinstance(o, bool) or not isinstance(o, int) for o in options):
                raise bad(self.source, f"{where}: {key} uses dim {amount.dim!r}, whose choices are not all integers")
            values = [amount.factor * o for o in options]
        if allowed is not None and any(v not in allowed for v in values):
            raise bad(self.source, f"{where}: {key} must be {' or '.join(map(str, allowed))}, got {value!r}")
        if any(v < 1 for v in values):
            raise bad(self.source, f"{where}: {key} must be at least 1, but {value!r} can be {min(values)}")
        return amount

    def plan(self, arch: Arch, stem_channels: int, width_mult: float = 1.0) -> list[LayerPlan]:
        """The concrete layers of ``arch``: canonical op, channels in/out, stride (repeats expanded)."""
        plans, width = [], stem_channels
        for layer in self.layers:
            op = canonical_op(arch[layer.op] if layer.op_is_dim else layer.op)
            c_out = width if layer.channels is None else max(1, round(layer.channels.value(arch) * width_mult))
            for copy in range(layer.repeat.value(arch)):
                plans.append(LayerPlan(op, width, c_out, layer.stride.value(arch) if copy == 0 else 1))
                width = c_out
        return plans

    def build(self, arch: Arch, *, num_classes: int = 10, in_channels: int = 3, stem_channels: int | None = None,
              width_mult: float | None = None, dropout: float | None = None) -> Any:
        """Stem -> the arch's layers -> head; ``stem_channels``, ``width_mult`` and ``dropout`` override the
        definition's (``width_mult`` scales the stem and every layer's channels)."""
        from archsearch.nn.declared import ChainNetwork

        arch = self.validate(arch)
        net = self._network_options(self.network, {"stem_channels": stem_channels, "width_mult": width_mult,
                                                   "dropout": dropout}, "space declared")
        stem = max(1, round(net["stem_channels"] * net["width_mult"]))
        return ChainNetwork(self.plan(arch, stem, net["width_mult"]),
                            in_channels=check_int("space declared", "in_channels", in_channels),
                            num_classes=check_int("space declared", "num_classes", num_classes),
                            stem_channels=stem, dropout=net["dropout"])


def _dim_refs(layer: Layer) -> list[str]:
    refs = [layer.op] if layer.op_is_dim else []
    return refs + [a.dim for a in (layer.channels, layer.stride, layer.repeat) if a is not None and a.dim]
