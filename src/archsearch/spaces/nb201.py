"""The NAS-Bench-201 cell space (Dong & Yang, ICLR 2020, "NAS-Bench-201: Extending the Scope of
Reproducible Neural Architecture Search").

A cell is a DAG of 4 nodes; each of its 6 edges ``i -> j`` (i < j) carries one of 5 ops:
``none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3`` (5^6 = 15,625 cells). Node j sums
its incoming edges; node 3 is the cell output. The native string lists, node by node, each input
edge as ``op~i``: ``|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|``.
The network (paper defaults C=16, N=5) is built in :mod:`archsearch.nn.cells`.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Dim
from archsearch.core.errors import ArchError
from archsearch.core.space import SearchSpace
from archsearch.nn.topology import EDGE_DIMS, EDGES, NB201_OP_NAMES, NB201_PATHS, NUM_NODES  # noqa: F401 - re-exported

OPS = NB201_OP_NAMES  # the topology lives in nn.topology (networks build it); these names stay importable here

_NODE_PATTERN = re.compile(r"^\|(?:[a-z0-9_]+~\d+\|)+$")


class NB201Space(SearchSpace):
    """NAS-Bench-201: one categorical dim per edge, named ``edge_<from>_<to>``."""

    name = "nb201"

    def __init__(self) -> None:
        self._dims: dict[str, Dim] = {name: Categorical(OPS) for name in EDGE_DIMS}

    def dims(self) -> dict[str, Dim]:
        return dict(self._dims)

    # -- native strings ---------------------------------------------------------------------
    def format(self, arch: Arch) -> str:
        nodes = []
        for j in range(1, NUM_NODES):
            nodes.append("|" + "|".join(f"{arch[f'edge_{i}_{j}']}~{i}" for i in range(j)) + "|")
        return "+".join(nodes)

    def parse(self, text: str) -> Arch:
        """An NB201 string ``|op~0|+|op~0|op~1|+|...|`` or the JSON key of an arch."""
        text = text.strip()
        if text.startswith("{"):
            return super().parse(text)
        nodes = text.split("+")
        if len(nodes) != NUM_NODES - 1 or not all(_NODE_PATTERN.match(node) for node in nodes):
            raise ArchError(f"malformed NB201 arch string {text!r}: expected 3 nodes like '|nor_conv_3x3~0|+|...|'")
        choices: dict[str, str] = {}
        for j, node in enumerate(nodes, start=1):
            inputs = node.strip("|").split("|")
            if len(inputs) != j:
                raise ArchError(f"malformed NB201 arch string {text!r}: node {j} needs {j} inputs, got {len(inputs)}")
            for expected_input, token in enumerate(inputs):
                op, _, source = token.rpartition("~")
                if len(source) > 9 or int(source) != expected_input:  # int() refuses > 4300 digits
                    raise ArchError(f"malformed NB201 arch string {text!r}: node {j} input {expected_input} reads '~{source}'")
                if op not in OPS:
                    raise ArchError(f"unknown NB201 op {op!r} in {text!r}; ops are {', '.join(OPS)}")
                choices[f"edge_{expected_input}_{j}"] = op
        return Arch({name: choices[name] for name in EDGE_DIMS})

    def op_indices(self, arch: Arch) -> tuple[int, ...]:
        """Op index (into ``OPS``) per edge, in ``EDGES`` order."""
        return tuple(OPS.index(arch[name]) for name in EDGE_DIMS)

    # -- networks ---------------------------------------------------------------------------
    def build(self, arch: Arch, *, channels: int = 16, cells_per_stage: int = 5, num_classes: int = 10,
              in_channels: int = 3, **_: Any) -> Any:
        """The NB201 network: stem, 3 stages of ``cells_per_stage`` cells, residual reductions, head."""
        from archsearch.nn.cells import NB201Network

        arch = self.validate(arch)
        edge_ops = {edge: arch[name] for edge, name in zip(EDGES, EDGE_DIMS)}
        return NB201Network(edge_ops, channels=channels, cells_per_stage=cells_per_stage,
                            num_classes=num_classes, in_channels=in_channels)

    def supernet(self, *, channels: int = 16, cells_per_stage: int = 5, num_classes: int = 10,
                 in_channels: int = 3, **_: Any) -> Any:
        """The one-shot network: a mixed op on every edge, one logit vector per dim (``nn.cells``)."""
        from archsearch.nn.cells import NB201Supernet

        return NB201Supernet(channels=channels, cells_per_stage=cells_per_stage, num_classes=num_classes,
                             in_channels=in_channels)

    # -- encodings ----------------------------------------------------------------------------
    def encode(self, arch: Arch, kind: str = "onehot") -> np.ndarray:
        """Adds ``path``: one bit per input->output path labelled by its ops (White et al. 2021)."""
        if kind != "path":
            return super().encode(arch, kind)
        return _path_encoding(self.op_indices(arch))


_LIVE_OPS = tuple(i for i, op in enumerate(OPS) if op != "none")  # a path through 'none' carries nothing
_PATH_OFFSETS = np.cumsum([0] + [len(_LIVE_OPS) ** len(p) for p in NB201_PATHS])


def _path_encoding(op_indices: tuple[int, ...]) -> np.ndarray:
    """One bit per (path, op labelling) over the 4 live ops: 4 + 16 + 16 + 64 = 100 bits.

    Paths through a ``none`` edge are absent, so cells that differ only in dead edges encode alike.
    """
    out = np.zeros(int(_PATH_OFFSETS[-1]), dtype=np.float32)
    for p, path in enumerate(NB201_PATHS):
        ops = [op_indices[e] for e in path]
        if any(op not in _LIVE_OPS for op in ops):
            continue
        code = 0
        for op in ops:
            code = code * len(_LIVE_OPS) + _LIVE_OPS.index(op)
        out[_PATH_OFFSETS[p] + code] = 1.0
    return out
