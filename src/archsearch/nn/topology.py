"""The topology of the cell spaces, shared by the spaces (which name the choices) and the networks (which build
them); plain Python, no torch, so that parsing an arch string stays light.

- NAS-Bench-201 (Dong & Yang, ICLR 2020): 4 nodes, an edge from every earlier node, 5 ops per edge.
- DARTS (Liu et al., ICLR 2019): intermediate nodes 2-5 of a cell, 8 ops (NAS-Bench-301 drops ``none``).
- Declared spaces: the ops a user may name (both cells' ops, aliases, MBConv blocks).
"""

from __future__ import annotations

import re
from typing import Any

# -- NAS-Bench-201 ------------------------------------------------------------------------------
NB201_OP_NAMES: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NUM_NODES = 4
# Edges (from, to) in the order of the NB201 string: node 1's inputs, then node 2's, then node 3's.
EDGES: tuple[tuple[int, int], ...] = tuple((i, j) for j in range(1, NUM_NODES) for i in range(j))
EDGE_DIMS: tuple[str, ...] = tuple(f"edge_{i}_{j}" for i, j in EDGES)


def _paths_to_output() -> tuple[tuple[int, ...], ...]:
    """Every path from node 0 to node 3 as a tuple of edge positions in ``EDGES``."""
    paths: list[tuple[int, ...]] = []

    def walk(node: int, edges: tuple[int, ...]) -> None:
        if node == NUM_NODES - 1:
            paths.append(edges)
            return
        for position, (i, j) in enumerate(EDGES):
            if i == node:
                walk(j, edges + (position,))

    walk(0, ())
    return tuple(paths)


NB201_PATHS = _paths_to_output()  # the 4 paths 0-1-2-3, 0-1-3, 0-2-3, 0-3


def nb201_live_ops(ops: dict[str, str]) -> dict[str, str]:
    """An NB201 cell's ops (``edge_i_j`` -> op) with ``none`` on every edge that lies on no path of non-``none``
    ops from the input to the output (:data:`NB201_PATHS`, the convention of NB201's path encodings, BANANAS,
    White et al. 2021): its value never reaches the output, or it reads a node that receives nothing (its op sees
    zeros and adds BatchNorm's bias at most). Without those edges the cell computes the same features up to
    such constants, with none of those edges' weights."""
    names = [ops[name] for name in EDGE_DIMS]
    live = {edge for path in NB201_PATHS if all(names[e] != "none" for e in path) for edge in path}
    return {name: op if k in live else "none" for k, (name, op) in enumerate(zip(EDGE_DIMS, names))}


# -- DARTS ---------------------------------------------------------------------------------------
DARTS_OP_NAMES: tuple[str, ...] = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
                                   "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
DARTS_NODES: tuple[int, ...] = (2, 3, 4, 5)


def dim_name(cell: str, node: int, part: str, slot: int) -> str:
    """A DARTS dim: ``<cell>_node<node>_<part><slot>``, e.g. ``normal_node2_input0``."""
    return f"{cell}_node{node}_{part}{slot}"


# -- declared spaces -----------------------------------------------------------------------------
BASE_OPS: tuple[str, ...] = (*NB201_OP_NAMES, *(op for op in DARTS_OP_NAMES if op not in NB201_OP_NAMES))
ALIASES = {"identity": "skip_connect", "zero": "none", "conv1x1": "nor_conv_1x1", "conv3x3": "nor_conv_3x3"}
MBCONV = re.compile(r"^mbconv_k(?P<kernel>[357])_e(?P<expansion>[1-9])(?P<se>_se)?(?P<hs>_hs)?$")


def canonical_op(name: Any) -> str | None:
    """The primitive an op name denotes (aliases resolved), or None when it names no op."""
    if not isinstance(name, str):
        return None
    name = ALIASES.get(name, name)
    return name if name in BASE_OPS or MBCONV.match(name) else None
