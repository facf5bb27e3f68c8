"""The NASNet/DARTS cell space (Liu, Simonyan & Yang, ICLR 2019, "DARTS: Differentiable
Architecture Search"; reference code quark0/darts ``genotypes.py``).

An arch is a normal and a reduction cell. Each cell has 4 nodes, numbered 2..5 after the cell's two
inputs 0 and 1; node ``j`` picks two distinct earlier states (``0 .. j-1``) and one op per input from
``none, max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3,
dil_conv_5x5``; the cell outputs the concatenation of nodes 2..5. Dims, per cell and node:
``normal_node2_input0, normal_node2_op0, normal_node2_input1, normal_node2_op1, ...,
reduce_node5_op1`` (32 categorical dims). Input order inside a node is kept as written (the node sums
its two edges, so swapping them gives the same network, as in the published genotypes). The space option
``none_op: false`` drops ``none`` from the ops: NAS-Bench-301's space (Siems et al. 2020; estimator ``nb301``).

The native string is the reference ``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3,
4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])``; ``parse`` reads it without ``eval`` (concat may be
``range(2, 6)``; D-X-Y's pairwise ``(('op', i), ('op', j))`` lists are read too). The network is
:class:`archsearch.nn.darts.DartsNetwork` (the reference ``NetworkCIFAR``).
"""

from __future__ import annotations

import ast
import re
from typing import Any

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Dim
from archsearch.core.errors import ArchError, UserError
from archsearch.core.space import SearchSpace
from archsearch.nn.topology import DARTS_NODES, DARTS_OP_NAMES, dim_name  # noqa: F401 - dim_name re-exported

OPS = DARTS_OP_NAMES
CELLS: tuple[str, ...] = ("normal", "reduce")
NODES = DARTS_NODES
CONCAT: tuple[int, ...] = NODES
# NAS-Bench-301's DARTS space (Siems et al. 2020) has no ``none`` op: ``DartsSpace(none_op=False)``.
OPS_WITHOUT_NONE: tuple[str, ...] = tuple(op for op in OPS if op != "none")

# Published genotypes, as the reference writes them.
DARTS_V1 = ("Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), "
            "('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])")
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
# Dong & Yang, CVPR 2019, "Searching for A Robust Neural Architecture in Four GPU Hours";
# D-X-Y/AutoDL-Projects genotypes.py GDAS_V1, flattened to the DARTS list form.
GDAS = ("Genotype(normal=[('skip_connect', 0), ('skip_connect', 1), ('skip_connect', 0), ('sep_conv_5x5', 2), "
        "('sep_conv_3x3', 3), ('skip_connect', 0), ('sep_conv_5x5', 4), ('sep_conv_3x3', 3)], "
        "normal_concat=[2, 3, 4, 5], reduce=[('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('sep_conv_5x5', 2), "
        "('sep_conv_5x5', 1), ('dil_conv_5x5', 2), ('sep_conv_3x3', 1), ('sep_conv_5x5', 0), "
        "('sep_conv_5x5', 1)], reduce_concat=[2, 3, 4, 5])")

_GENOTYPE = re.compile(r"^\s*Genotype\s*\((?P<body>.*)\)\s*$", re.DOTALL)
_EDGES_FIELD = re.compile(r"\b(?P<cell>normal|reduce)\s*=\s*(?P<value>\[[^\[\]]*\])")
_CONCAT_FIELD = re.compile(r"\b(?P<cell>normal|reduce)_concat\s*=\s*"
                           r"(?P<value>\[[^\[\]]*\]|range\s*\(\s*\d+\s*,\s*\d+\s*\))")
_NONE_FIELD = re.compile(r"\b[A-Za-z_]\w*\s*=\s*None\b")  # D-X-Y's connectN=None, connects=None


class DartsSpace(SearchSpace):
    """The DARTS cell space: per cell and node, two (input, op) choices with distinct inputs."""

    name = "darts"

    def __init__(self, none_op: bool = True) -> None:
        """``none_op=False`` drops ``none`` from the ops (NAS-Bench-301's 7-op space)."""
        if not isinstance(none_op, bool):
            raise UserError(f"space option none_op must be true or false, got {none_op!r}")
        self.none_op = none_op
        self.ops: tuple[str, ...] = OPS if none_op else OPS_WITHOUT_NONE
        self._dims: dict[str, Dim] = {}
        for cell in CELLS:
            for node in NODES:
                for slot in (0, 1):
                    self._dims[dim_name(cell, node, "input", slot)] = Categorical(tuple(range(node)))
                    self._dims[dim_name(cell, node, "op", slot)] = Categorical(self.ops)

    def dims(self) -> dict[str, Dim]:
        return dict(self._dims)

    def is_valid(self, arch: Any) -> bool:
        """The dims' values, and two distinct inputs per node."""
        if not super().is_valid(arch):
            return False
        return all(arch[dim_name(c, n, "input", 0)] != arch[dim_name(c, n, "input", 1)]
                   for c in CELLS for n in NODES)

    def sample(self, rng: np.random.Generator) -> Arch:
        """Uniform over valid archs: the second input is drawn among the node's other states."""
        choices: dict[str, Any] = {}
        for cell in CELLS:
            for node in NODES:
                first = int(rng.integers(node))
                second = int(rng.integers(node - 1))
                second += second >= first
                for slot, source in enumerate((first, second)):
                    choices[dim_name(cell, node, "input", slot)] = source
                    choices[dim_name(cell, node, "op", slot)] = self.ops[int(rng.integers(len(self.ops)))]
        return Arch(choices)

    def edges(self, arch: Arch, cell: str) -> list[tuple[str, int]]:
        """The reference genotype list of ``cell``: (op, input) pairs, two per node."""
        return [(arch[dim_name(cell, n, "op", s)], arch[dim_name(cell, n, "input", s)]) for n in NODES for s in (0, 1)]

    # -- native strings ---------------------------------------------------------------------
    def format(self, arch: Arch) -> str:
        concat = list(CONCAT)
        return (f"Genotype(normal={self.edges(arch, 'normal')!r}, normal_concat={concat!r}, "
                f"reduce={self.edges(arch, 'reduce')!r}, reduce_concat={concat!r})")

    def parse(self, text: str) -> Arch:
        """A ``Genotype(...)`` string of the reference code or the JSON key of an arch."""
        if not isinstance(text, str):
            raise ArchError(f"an arch of space 'darts' must be a string, got {type(text).__name__}")
        if text.strip().startswith("{"):
            return super().parse(text)
        match = _GENOTYPE.match(text)
        if match is None:
            raise ArchError(f"malformed DARTS genotype {text!r}: expected \"Genotype(normal=[('sep_conv_3x3', 0), ...], "
                            "normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])\" or a JSON arch")
        body = match.group("body")
        edges = {m.group("cell"): _literal_edges(m.group("value"), text) for m in _EDGES_FIELD.finditer(body)}
        concats = {m.group("cell"): _literal_concat(m.group("value"), text) for m in _CONCAT_FIELD.finditer(body)}
        rest = _NONE_FIELD.sub("", _CONCAT_FIELD.sub("", _EDGES_FIELD.sub("", body)))
        if rest.replace(",", "").strip():
            raise ArchError(f"malformed DARTS genotype {text!r}: cannot read {rest.strip()!r}")
        choices: dict[str, Any] = {}
        for cell in CELLS:
            if cell not in edges or cell not in concats:
                raise ArchError(f"malformed DARTS genotype {text!r}: missing {cell}= or {cell}_concat=")
            if concats[cell] != list(CONCAT):
                raise ArchError(f"DARTS genotype {text!r}: {cell}_concat must be [2, 3, 4, 5], got {concats[cell]}")
            if len(edges[cell]) != 2 * len(NODES):
                raise ArchError(f"DARTS genotype {text!r}: {cell} needs {2 * len(NODES)} (op, input) pairs, "
                                f"got {len(edges[cell])}")
            for k, (op, source) in enumerate(edges[cell]):
                node, slot = NODES[k // 2], k % 2
                if op not in OPS:
                    raise ArchError(f"unknown DARTS op {op!r} in {text!r}; ops are {', '.join(OPS)}")
                choices[dim_name(cell, node, "input", slot)] = source
                choices[dim_name(cell, node, "op", slot)] = op
        return self.validate(choices)

    # -- networks ---------------------------------------------------------------------------
    def build(self, arch: Arch, *, channels: int = 16, layers: int = 8, auxiliary: bool = False,
              drop_path_prob: float = 0.0, num_classes: int = 10, in_channels: int = 3, **_: Any) -> Any:
        """The DARTS evaluation network (reference ``NetworkCIFAR``); see :mod:`archsearch.nn.darts`."""
        from archsearch.nn.darts import DartsNetwork

        arch = self.validate(arch)
        return DartsNetwork(self.edges(arch, "normal"), self.edges(arch, "reduce"), channels=channels,
                            layers=layers, auxiliary=auxiliary, drop_path_prob=drop_path_prob,
                            num_classes=num_classes, in_channels=in_channels)

    def supernet(self, *, channels: int = 16, layers: int = 8, num_classes: int = 10, in_channels: int = 3,
                 **_: Any) -> Any:
        """The DARTS search network: a mixed op on all 14 edges of each cell (``nn.darts``)."""
        from archsearch.nn.darts import DartsSupernet

        return DartsSupernet(channels=channels, layers=layers, num_classes=num_classes, in_channels=in_channels)


def _literal(value: str, text: str) -> Any:
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ArchError(f"malformed DARTS genotype {text!r}: cannot read {value!r}") from exc


def _literal_edges(value: str, text: str) -> list[tuple[str, int]]:
    """An (op, input) list; D-X-Y's per-node pairs ``(('op', i), ('op', j))`` are flattened."""
    items = _literal(value, text)
    flat: list[Any] = []
    for item in items:
        if isinstance(item, tuple) and len(item) == 2 and all(isinstance(e, tuple) for e in item):
            flat.extend(item)
        else:
            flat.append(item)
    for item in flat:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], int) and not isinstance(item[1], bool)):
            raise ArchError(f"malformed DARTS genotype {text!r}: expected ('op', input) pairs, got {item!r}")
    return flat


def _literal_concat(value: str, text: str) -> list[int]:
    if value.startswith("range"):
        low, high = re.findall(r"\d+", value)
        if max(len(low), len(high)) > 9 or int(high) - int(low) > len(CONCAT):  # never build a huge list
            raise ArchError(f"DARTS genotype {text!r}: concat must be {list(CONCAT)}, got {value!r}")
        return list(range(int(low), int(high)))
    concat = _literal(value, text)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in concat):
        raise ArchError(f"malformed DARTS genotype {text!r}: concat must list node numbers, got {value!r}")
    return list(concat)
