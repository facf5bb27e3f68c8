"""The ``cell`` kind: a NAS-Bench-201-style cell (Dong & Yang, ICLR 2020) of ``nodes`` nodes, one categorical dim
per edge ``edge_<i>_<j>``, in NB201's network (stem, stages of cells joined by residual reductions, head)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical
from archsearch.core.errors import ArchError
from archsearch.core.options import check_int
from archsearch.nn.topology import canonical_op
from archsearch.spaces.declared.base import DeclaredSpace, bad, check_ops, parse_dim

DEFAULT_NODES = 4
_CELL_NODE = re.compile(r"^\|(?:[A-Za-z0-9_]+~\d{1,6}\|)+$")


class CellSpace(DeclaredSpace):
    """An NB201-style cell with ``nodes`` nodes: one categorical dim per edge ``edge_<i>_<j>``."""

    kind = "cell"

    def __init__(self, definition: Mapping[str, Any], source: str = "declared space") -> None:
        super().__init__(definition, source)
        nodes = self.definition.get("nodes", DEFAULT_NODES)
        if isinstance(nodes, bool) or not isinstance(nodes, int) or not 2 <= nodes <= 32:
            raise bad(source, f"'nodes' must be an integer in 2..32, got {nodes!r}")
        self.nodes = nodes
        self.edges = tuple((i, j) for j in range(1, nodes) for i in range(j))
        names = [f"edge_{i}_{j}" for i, j in self.edges]
        given = self.definition.get("dims", {})
        if not isinstance(given, dict):
            raise bad(source, "'dims' must map edge names (edge_<i>_<j>) to their ops")
        strangers = [name for name in given if name not in names]
        if strangers:
            raise bad(source, f"dim {strangers[0]!r} is not an edge of a {nodes}-node cell; edges: {', '.join(names)}")
        ops = self.definition.get("ops")
        if ops is not None:
            if not isinstance(ops, list) or not ops:
                raise bad(source, "'ops' must be a non-empty list of op names (the choices of every edge)")
        for name in names:
            spec = given.get(name, ops)
            if spec is None:
                raise bad(source, f"edge {name} has no ops: give 'ops' (every edge) or a dim {name}")
            dim = parse_dim(source, name, spec)
            if not isinstance(dim, Categorical):
                raise bad(source, f"dim {name!r} must be a list of ops, not an integer range")
            check_ops(source, f"dim {name!r}" if name in given else "'ops'", dim.options, allow_none=True)
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
