"""Search spaces declared in a YAML/JSON file (``archsearch search --space-file space.yaml``), no Python needed.

A definition names its dims and a builder ``kind``:

- ``chain``: a stem, a sequence of layers and a head. Each layer's block is a dim (or a fixed op); its
  ``channels``, ``stride`` and ``repeat`` are numbers, dims, or ``"N*dim"`` products. Without ``layers``, every
  dim is one layer at the stem width. The network is stem (conv3x3, BN, ReLU) -> layers (a repeated layer
  strides and changes width in its first copy) -> BN, ReLU, global pooling, dropout, linear.
- ``cell``: a NAS-Bench-201-style cell (Dong & Yang, ICLR 2020): ``nodes`` nodes, one categorical dim per edge
  ``edge_<i>_<j>`` (i < j, node j sums its inputs, the last node is the output), ops from ``ops`` or a dim per
  edge; the network is NB201's: stem, ``stages`` stages of ``cells_per_stage`` cells joined by residual
  reductions (channels double), head. With ``nodes: 4`` and NB201's ops it is the NB201 network.

Examples: ``examples/spaces/chain.yaml`` and ``examples/spaces/cell.yaml``.

The ops are the project's named primitives: NB201's (``none``, ``skip_connect``, ``nor_conv_1x1``,
``nor_conv_3x3``, ``avg_pool_3x3``; :mod:`archsearch.nn.ops`), DARTS's (``max_pool_3x3``, ``sep_conv_3x3``,
``sep_conv_5x5``, ``dil_conv_3x3``, ``dil_conv_5x5``; :mod:`archsearch.nn.darts`) and MBConv
(``mbconv_k<3|5|7>_e<1-9>[_se][_hs]``: kernel, expansion, squeeze-excite, h-swish; :mod:`archsearch.nn.mobile`),
with the aliases ``identity``, ``zero``, ``conv1x1`` and ``conv3x3``. The definition travels with the study
(``space_options`` in its stored config), so resume, show and export need no file. Archs are JSON objects; a
cell space also parses NB201-style strings (``|op~0|+|op~0|op~1|+...``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Dim, Integer
from archsearch.core.documents import read_document
from archsearch.core.errors import ArchError, UserError
from archsearch.core.options import check_int, check_number
from archsearch.core.space import SearchSpace
from archsearch.nn.topology import ALIASES, BASE_OPS, canonical_op

KINDS = ("chain", "cell")
OP_HELP = f"{', '.join(BASE_OPS)}, mbconv_k<3|5|7>_e<1-9>[_se][_hs] (aliases {', '.join(ALIASES)})"
NETWORK_DEFAULTS = {"chain": {"stem_channels": 16, "width_mult": 1.0, "dropout": 0.0},
                    "cell": {"channels": 16, "cells_per_stage": 2, "stages": 3, "dropout": 0.0}}
STRUCTURE_KEYS = {"chain": ("name", "kind", "dims", "layers"), "cell": ("name", "kind", "dims", "ops", "nodes")}
LAYER_KEYS = ("op", "channels", "stride", "repeat")
DEFAULT_NODES = 4
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PRODUCT = re.compile(r"^\s*(?:(?P<a>\d{1,6})\s*\*\s*(?P<dim>[A-Za-z_]\w*)"  # "16*width" or "width*16"
                      r"|(?P<dim2>[A-Za-z_]\w*)\s*\*\s*(?P<b>\d{1,6}))\s*$")
_CELL_NODE = re.compile(r"^\|(?:[A-Za-z0-9_]+~\d{1,6}\|)+$")


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


# -- reading and checking a definition -------------------------------------------------------------------------
def load_space_file(path: str | Path) -> dict[str, Any]:
    """The definition in a YAML/JSON file, checked (one-line ``UserError`` for a missing, malformed or bad file)."""
    data = read_document(path, "space file")
    if not isinstance(data, dict):
        raise UserError(f"space file {path} must hold a mapping with 'kind' (chain or cell) and 'dims'")
    make_declared(data, f"space file {path}")  # checks it
    return data


def declared_space(**definition: Any) -> "DeclaredSpace":
    """The space of a definition: a ``ChainSpace`` or a ``CellSpace`` (the registered factory of ``declared``)."""
    return make_declared(definition)


def make_declared(definition: Mapping[Any, Any], source: str | None = None) -> "DeclaredSpace":
    """``declared_space`` with ``source`` (e.g. the file) starting each error message."""
    label = definition.get("name")
    source = source or (f"declared space {label!r}" if isinstance(label, str) else "declared space")
    if not definition:
        raise UserError("space 'declared' needs a definition: give --space-file FILE (a YAML/JSON file with "
                        "'kind' and 'dims'), or space_options in a config")
    kind = definition.get("kind")
    if kind not in KINDS:
        raise UserError(f"{source}: 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    strangers = [key for key in definition if not isinstance(key, str)]
    if strangers:
        raise UserError(f"{source}: keys must be names, got {strangers[0]!r}")
    return (ChainSpace if kind == "chain" else CellSpace)(definition, source)


def _bad(source: str, message: str) -> UserError:
    return UserError(f"{source}: {message}")


def _parse_dim(source: str, name: Any, spec: Any) -> Dim:
    """A list / ``{choices: [...]}`` -> Categorical; ``{low: L, high: H}`` -> Integer."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise _bad(source, f"dim name {name!r} must be a word (letters, digits, _; not starting with a digit)")
    if isinstance(spec, dict) and set(spec) == {"choices"}:
        spec = spec["choices"]
    if isinstance(spec, list):
        if not spec:
            raise _bad(source, f"dim {name!r} has no choices")
        wrong = [c for c in spec if not isinstance(c, (str, int, float, bool))]
        if wrong:
            raise _bad(source, f"dim {name!r}: choices must be names or numbers, got {wrong[0]!r}")
        if len({json.dumps(c) for c in spec}) != len(spec) or len(set(spec)) != len(spec):
            raise _bad(source, f"dim {name!r} repeats a choice: {spec}")
        return Categorical(spec)
    if isinstance(spec, dict) and set(spec) == {"low", "high"}:
        low, high = spec["low"], spec["high"]
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (low, high)):
            raise _bad(source, f"dim {name!r}: low and high must be integers, got {low!r}, {high!r}")
        if low > high:
            raise _bad(source, f"dim {name!r}: low ({low}) is above high ({high})")
        return Integer(low, high)
    raise _bad(source, f"dim {name!r}: give a list of choices, {{choices: [...]}} or {{low: L, high: H}}, "
                       f"got {spec!r}")


def _check_ops(source: str, where: str, choices: Any, allow_none: bool) -> None:
    for choice in choices:
        op = canonical_op(choice)
        if op is None:
            raise _bad(source, f"{where}: unknown op {choice!r}; ops: {OP_HELP}")
        if op == "none" and not allow_none:
            raise _bad(source, f"{where}: op {choice!r} (none) would cut the chain; use skip_connect to skip a layer")


class DeclaredSpace(SearchSpace):
    """A space built from a definition mapping; ``space_options()`` returns it (what recreates the space)."""

    name = "declared"
    kind = ""

    def __init__(self, definition: Mapping[str, Any], source: str = "declared space") -> None:
        try:
            self.definition = json.loads(json.dumps(dict(definition), allow_nan=False))  # a plain, private copy
        except (TypeError, ValueError) as exc:
            raise _bad(source, f"a definition holds names, numbers, lists and mappings only ({exc})") from None
        self.source = source
        allowed = (*STRUCTURE_KEYS[self.kind], *NETWORK_DEFAULTS[self.kind])
        unknown = [key for key in self.definition if key not in allowed]
        if unknown:
            raise _bad(source, f"unknown key {unknown[0]!r} for kind {self.kind}; keys: {', '.join(allowed)}")
        label = self.definition.get("name")
        if label is not None and not isinstance(label, str):
            raise _bad(source, f"'name' must be text, got {label!r}")
        self.label = label
        defaults = NETWORK_DEFAULTS[self.kind]
        self.network = self._network_options(defaults, {k: v for k, v in self.definition.items() if k in defaults},
                                             source)
        self._dims: dict[str, Dim] = {}

    def _finish(self) -> None:
        if not self._dims:
            raise _bad(self.source, "the space has no dims")
        if all(dim.size == 1 for dim in self._dims.values()):
            raise _bad(self.source, "every dim has a single choice: a space needs a dim with two or more")

    def _network_options(self, base: dict[str, Any], given: Mapping[str, Any], owner: str) -> dict[str, Any]:
        """Network defaults updated by ``given``, each value checked."""
        out = dict(base)
        for key, value in given.items():
            if value is None:
                continue
            if key == "width_mult":
                out[key] = check_number(owner, key, value, 1e-3)
            elif key == "dropout":
                out[key] = check_number(owner, key, value, 0.0, 0.99)
            else:
                out[key] = check_int(owner, key, value, 1)
        return out

    def dims(self) -> dict[str, Dim]:
        return dict(self._dims)

    def space_options(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.definition))

    def describe(self) -> str:
        label = f" {self.label!r}" if self.label else ""
        return f"declared {self.kind}{label}: {len(self._dims)} dims, {self.size():,} combinations"

    def __reduce__(self) -> tuple:
        """Pickles as its definition (a worker process rebuilds it)."""
        return (_rebuild, (self.definition, self.source))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeclaredSpace) and other.definition == self.definition

    def __hash__(self) -> int:
        return hash(json.dumps(self.definition, sort_keys=True))


def _rebuild(definition: dict[str, Any], source: str) -> DeclaredSpace:
    return make_declared(definition, source)


class ChainSpace(DeclaredSpace):
    """A chain of layers; each layer's block, and optionally its channels, stride and repeats, come from dims."""

    kind = "chain"

    def __init__(self, definition: Mapping[str, Any], source: str = "declared space") -> None:
        super().__init__(definition, source)
        dims = self.definition.get("dims")
        if not isinstance(dims, dict) or not dims:
            raise _bad(source, "'dims' must be a non-empty mapping of dim name -> choices")
        self._dims = {name: _parse_dim(source, name, spec) for name, spec in dims.items()}
        raw_layers = self.definition.get("layers", list(self._dims))
        if not isinstance(raw_layers, list) or not raw_layers:
            raise _bad(source, "'layers' must be a non-empty list (each a dim or op name, or {op: ..., channels: ..., "
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
            raise _bad(source, f"dim {unused[0]!r} is not used by any layer")
        self._finish()

    def _layer(self, index: int, spec: Any) -> Layer:
        where = f"layer {index}"
        if isinstance(spec, str):
            spec = {"op": spec}
        if not isinstance(spec, dict):
            raise _bad(self.source, f"{where}: give a dim or op name, or a mapping with {', '.join(LAYER_KEYS)}")
        unknown = [key for key in spec if key not in LAYER_KEYS]
        if unknown:
            raise _bad(self.source, f"{where}: unknown key {unknown[0]!r}; keys: {', '.join(LAYER_KEYS)}")
        op = spec.get("op")
        if isinstance(op, str) and op in self._dims:
            dim = self._dims[op]
            if not isinstance(dim, Categorical):
                raise _bad(self.source, f"{where}: dim {op!r} is an integer range, not a choice of ops")
            _check_ops(self.source, f"{where} (dim {op!r})", dim.options, allow_none=False)
            op_is_dim = True
        else:
            if canonical_op(op) is None:
                raise _bad(self.source, f"{where}: op {op!r} is neither a dim nor an op; dims: "
                                        f"{', '.join(self._dims)}; ops: {OP_HELP}")
            _check_ops(self.source, where, [op], allow_none=False)
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
                raise _bad(self.source, f"{where}: {key} {value!r} names no dim; dims: {', '.join(self._dims)}")
        else:
            raise _bad(self.source, f"{where}: {key} must be an integer, a dim name or 'N*dim', got {value!r}")
        values = [amount.factor]
        if amount.dim is not None:  # a range's ends bound every value it can take
            dim = self._dims[amount.dim]
            options = dim.options if isinstance(dim, Categorical) else (dim.low, dim.high)
            if any(isinstance(o, bool) or not isinstance(o, int) for o in options):
                raise _bad(self.source, f"{where}: {key} uses dim {amount.dim!r}, whose choices are not all integers")
            values = [amount.factor * o for o in options]
        if allowed is not None and any(v not in allowed for v in values):
            raise _bad(self.source, f"{where}: {key} must be {' or '.join(map(str, allowed))}, got {value!r}")
        if any(v < 1 for v in values):
            raise _bad(self.source, f"{where}: {key} must be at least 1, but {value!r} can be {min(values)}")
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


class CellSpace(DeclaredSpace):
    """An NB201-style cell with ``nodes`` nodes: one categorical dim per edge ``edge_<i>_<j>``."""

    kind = "cell"

    def __init__(self, definition: Mapping[str, Any], source: str = "declared space") -> None:
        super().__init__(definition, source)
        nodes = self.definition.get("nodes", DEFAULT_NODES)
        if isinstance(nodes, bool) or not isinstance(nodes, int) or not 2 <= nodes <= 32:
            raise _bad(source, f"'nodes' must be an integer in 2..32, got {nodes!r}")
        self.nodes = nodes
        self.edges = tuple((i, j) for j in range(1, nodes) for i in range(j))
        names = [f"edge_{i}_{j}" for i, j in self.edges]
        given = self.definition.get("dims", {})
        if not isinstance(given, dict):
            raise _bad(source, "'dims' must map edge names (edge_<i>_<j>) to their ops")
        strangers = [name for name in given if name not in names]
        if strangers:
            raise _bad(source, f"dim {strangers[0]!r} is not an edge of a {nodes}-node cell; edges: {', '.join(names)}")
        ops = self.definition.get("ops")
        if ops is not None:
            if not isinstance(ops, list) or not ops:
                raise _bad(source, "'ops' must be a non-empty list of op names (the choices of every edge)")
        for name in names:
            spec = given.get(name, ops)
            if spec is None:
                raise _bad(source, f"edge {name} has no ops: give 'ops' (every edge) or a dim {name}")
            dim = _parse_dim(source, name, spec)
            if not isinstance(dim, Categorical):
                raise _bad(source, f"dim {name!r} must be a list of ops, not an integer range")
            _check_ops(source, f"dim {name!r}" if name in given else "'ops'", dim.options, allow_none=True)
            self._dims[name] = dim
        self._finish()

    def edge_ops(self, arch: Arch) -> dict[tuple[int, int], str]:
        return {(i, j): canonical_op(arch[f"edge_{i}_{j}"]) for i, j in self.edges}  # type: ignore[misc]

    def parse(self, text: str) -> Arch:
        """The JSON key, or an NB201-style string: node by node, each input edge as ``op~i``."""
        if not isinstance(text, str):
            raise ArchError(f"an arch of a declared space must be a string, got {type(text).__name__}")
        text = text.strip()
        if not text.startswith("|"):
            return super().parse(text)
        nodes = text.split("+")
        if len(nodes) != self.nodes - 1 or not all(_CELL_NODE.match(node) for node in nodes):
            raise ArchError(f"malformed cell string {text!r}: expected {self.nodes - 1} nodes like "
                            "'|op~0|+|op~0|op~1|'")
        choices: dict[str, str] = {}
        for j, node in enumerate(nodes, start=1):
            inputs = node.strip("|").split("|")
            for expected, token in enumerate(inputs):
                op, _, source = token.rpartition("~")
                if len(inputs) != j or int(source) != expected:  # the pattern allows at most 6 digits
                    raise ArchError(f"malformed cell string {text!r}: node {j} needs inputs ~0..~{j - 1}")
                choices[f"edge_{expected}_{j}"] = op
        return self.validate(choices)

    def build(self, arch: Arch, *, num_classes: int = 10, in_channels: int = 3, channels: int | None = None,
              cells_per_stage: int | None = None, stages: int | None = None, dropout: float | None = None) -> Any:
        """Stem, ``stages`` stages of ``cells_per_stage`` cells (channels doubling at each residual reduction),
        head; the options override the definition's."""
        from archsearch.nn.declared import CellNetwork

        arch = self.validate(arch)
        net = self._network_options(self.network, {"channels": channels, "cells_per_stage": cells_per_stage,
                                                   "stages": stages, "dropout": dropout}, "space declared")
        return CellNetwork(self.edge_ops(arch), nodes=self.nodes, channels=net["channels"],
                           cells_per_stage=net["cells_per_stage"], stages=net["stages"],
                           num_classes=check_int("space declared", "num_classes", num_classes),
                           in_channels=check_int("space declared", "in_channels", in_channels), dropout=net["dropout"])
