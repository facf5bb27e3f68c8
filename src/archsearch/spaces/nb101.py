"""The NAS-Bench-101 cell space (Ying et al., ICML 2019, "NAS-Bench-101: Towards Reproducible Neural
Architecture Search"), as in the reference code google-research/nasbench (``lib/model_spec.py``,
``lib/graph_util.py``, ``api.py``).

A cell is a DAG on 7 vertices: vertex 0 is the input, vertex 6 the output, vertices 1..5 each carry one
op of ``conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3``. Dims: the 21 upper-triangle bits of the 7x7
adjacency matrix (``edge_<from>_<to>``, rows in order) and the 5 interior ops (``op_1`` .. ``op_5``).

Validity is NB101's (``ModelSpec`` + ``NASBench.is_valid``): vertices not on an input->output path are
pruned; the cell is valid when the input still reaches the output and the pruned matrix has at most 9
edges (so a raw matrix may carry more, on dead vertices). ``hash(arch)`` is NB101's isomorphism-invariant
MD5 graph hash of the pruned cell (``graph_util.hash_module``, op labels by their index in the list above,
input -1, output -2): isomorphic cells, and cells that differ only in pruned parts, share one key, the
key the NB101 dataset is indexed by.

Native string: the adjacency rows 0..5 above the diagonal (row i lists the edges i->i+1 .. i->6), then
``|`` and the 5 ops:
``011110-11000-0110-001-11-1|conv3x3-bn-relu,conv1x1-bn-relu,maxpool3x3,conv3x3-bn-relu,maxpool3x3``.
Sampling is NB101's ``random_spec`` (uniform over valid raw choices, by rejection: ~74 % of draws are
valid); it is not uniform over distinct cells (the input->output-only cell gets ~9 % of samples).
The network is built in :mod:`archsearch.nn.nb101`.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Dim
from archsearch.core.errors import ArchError
from archsearch.core.space import SearchSpace

# -- settings of the paper / reference code (config['available_ops'], module_vertices, max_edges) ----
OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
NUM_VERTICES = 7
MAX_EDGES = 9
INPUT_LABEL, OUTPUT_LABEL = -1, -2  # hash labels of the input and output vertices (ModelSpec.hash_spec)
EDGES: tuple[tuple[int, int], ...] = tuple((i, j) for i in range(NUM_VERTICES) for j in range(i + 1, NUM_VERTICES))
EDGE_DIMS: tuple[str, ...] = tuple(f"edge_{i}_{j}" for i, j in EDGES)
OP_DIMS: tuple[str, ...] = tuple(f"op_{v}" for v in range(1, NUM_VERTICES - 1))

_STRING_PATTERN = re.compile(r"^([01]{6})-([01]{5})-([01]{4})-([01]{3})-([01]{2})-([01])\|([^|]*)$")


@dataclass(frozen=True)
class CellSpec:
    """A pruned NB101 cell: an upper-triangular 0/1 ``matrix`` over V vertices and the V-2 interior ops."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    @property
    def num_vertices(self) -> int:
        return len(self.matrix)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    def hash(self) -> str:
        """NB101's graph hash (``ModelSpec.hash_spec(available_ops)``)."""
        return _spec_hash(self)


@functools.lru_cache(maxsize=8192)
def _spec_hash(spec: CellSpec) -> str:
    labels = [INPUT_LABEL] + [OPS.index(op) for op in spec.ops] + [OUTPUT_LABEL]
    return hash_module(spec.matrix, labels)


def hash_module(matrix: Sequence[Sequence[int]], labels: Sequence[int]) -> str:
    """``graph_util.hash_module``: iterated MD5 of (out-degree, in-degree, label) with sorted neighbours."""
    vertices = len(matrix)
    in_edges = [sum(int(matrix[w][v]) for w in range(vertices)) for v in range(vertices)]
    out_edges = [sum(int(matrix[v][w]) for w in range(vertices)) for v in range(vertices)]
    hashes = [_md5(str((out_edges[v], in_edges[v], int(labels[v])))) for v in range(vertices)]
    for _ in range(vertices):
        hashes = [_md5("".join(sorted(hashes[w] for w in range(vertices) if matrix[w][v])) + "|"
                       + "".join(sorted(hashes[w] for w in range(vertices) if matrix[v][w])) + "|" + hashes[v])
                  for v in range(vertices)]
    return _md5(str(sorted(hashes)))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def prune(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> CellSpec | None:
    """``ModelSpec._prune``: drop vertices not on an input->output path; None when none is left."""
    vertices = len(matrix)
    from_input = _reachable(0, lambda v: (w for w in range(v + 1, vertices) if matrix[v][w]))
    to_output = _reachable(vertices - 1, lambda v: (w for w in range(v) if matrix[w][v]))
    kept = sorted(from_input & to_output)
    if len(kept) < 2:  # the input does not reach the output
        return None
    pruned = tuple(tuple(int(matrix[i][j]) for j in kept) for i in kept)
    return CellSpec(pruned, tuple(ops[v - 1] for v in kept[1:-1]))


def _reachable(start: int, successors: Any) -> set[int]:
    seen, frontier = {start}, [start]
    while frontier:
        for w in successors(frontier.pop()):
            if w not in seen:
                seen.add(w)
                frontier.append(w)
    return seen


@functools.lru_cache(maxsize=8192)
def _pruned(bits: tuple[int, ...], ops: tuple[str, ...]) -> CellSpec | None:
    matrix = [[0] * NUM_VERTICES for _ in range(NUM_VERTICES)]
    for (i, j), bit in zip(EDGES, bits):
        matrix[i][j] = bit
    return prune(matrix, ops)


def why_invalid(spec: CellSpec | None) -> str | None:
    """Why a pruned cell is not an NB101 cell (None when it is one)."""
    if spec is None:
        return "the input does not reach the output"
    if spec.num_edges > MAX_EDGES:
        return f"{spec.num_edges} edges after pruning (at most {MAX_EDGES})"
    return None


class NB101Space(SearchSpace):
    """NAS-Bench-101: 21 edge bits ``edge_<i>_<j>`` (0/1) and 5 vertex ops ``op_<v>``."""

    name = "nb101"

    def __init__(self) -> None:
        self._dims: dict[str, Dim] = {name: Categorical((0, 1)) for name in EDGE_DIMS}
        self._dims.update({name: Categorical(OPS) for name in OP_DIMS})

    def dims(self) -> dict[str, Dim]:
        return dict(self._dims)

    # -- the cell ---------------------------------------------------------------------------------
    def pruned(self, arch: Arch) -> CellSpec | None:
        """The pruned cell of ``arch`` (None when the input does not reach the output)."""
        return _pruned(tuple(arch[n] for n in EDGE_DIMS), tuple(arch[n] for n in OP_DIMS))

    def spec(self, arch: Arch) -> CellSpec:
        """The pruned cell of a valid ``arch`` (``ArchError`` otherwise)."""
        spec = self.pruned(self.validate(arch))
        assert spec is not None  # validate() refused disconnected cells
        return spec

    def is_valid(self, arch: Any) -> bool:
        return super().is_valid(arch) and why_invalid(self.pruned(arch)) is None

    def validate(self, arch: Any) -> Arch:
        """As the base class, with the reason when the choices are fine but the cell is not an NB101 cell."""
        try:
            return super().validate(arch)
        except ArchError:
            if not (isinstance(arch, Mapping) and set(arch) == set(self._dims)
                    and all(dim.contains(arch[name]) for name, dim in self._dims.items())):
                raise
            ordered = Arch({name: arch[name] for name in self._dims})
            reason = why_invalid(self.pruned(ordered))
            raise ArchError(f"not a valid NB101 cell ({reason}): {self.format(ordered)}") from None

    def hash(self, arch: Arch) -> str:
        """NB101's graph hash of the pruned cell: one key per computationally distinct cell."""
        return self.spec(arch).hash()

    def canonical_key(self, arch: Arch) -> str:
        return self.hash(arch)

    def arch_from_matrix(self, matrix: Any, ops: Sequence[str]) -> Arch:
        """The arch of a 7x7 adjacency matrix and 5 interior ops (or 7 with ``input``/``output`` ends)."""
        matrix = np.asarray(matrix)
        ops = [str(op) for op in ops]
        if len(ops) == NUM_VERTICES and ops[0] == "input" and ops[-1] == "output":
            ops = ops[1:-1]
        if matrix.shape != (NUM_VERTICES, NUM_VERTICES) or len(ops) != NUM_VERTICES - 2:
            raise ArchError(f"an NB101 cell needs a 7x7 matrix and 5 interior ops, got {matrix.shape}, {len(ops)} ops")
        if np.tril(matrix).any():
            raise ArchError("an NB101 adjacency matrix must be upper triangular")
        choices: dict[str, Any] = {name: int(matrix[i, j]) for name, (i, j) in zip(EDGE_DIMS, EDGES)}
        choices.update(zip(OP_DIMS, ops))
        return self.validate(choices)

    # -- native strings ---------------------------------------------------------------------------
    def format(self, arch: Arch) -> str:
        rows = ["".join(str(arch[f"edge_{i}_{j}"]) for j in range(i + 1, NUM_VERTICES))
                for i in range(NUM_VERTICES - 1)]
        return "-".join(rows) + "|" + ",".join(str(arch[n]) for n in OP_DIMS)

    def parse(self, text: str) -> Arch:
        """An NB101 string ``011110-11000-0110-001-11-1|op,op,op,op,op`` or the JSON key of an arch."""
        text = text.strip()
        if text.startswith("{"):
            return super().parse(text)
        match = _STRING_PATTERN.match(text)
        if match is None:
            raise ArchError(f"malformed NB101 arch string {text!r}: expected adjacency rows like "
                            f"'011110-11000-0110-001-11-1' then '|' and 5 comma-separated ops")
        ops = match.group(7).split(",")
        if len(ops) != len(OP_DIMS):
            raise ArchError(f"malformed NB101 arch string {text!r}: needs {len(OP_DIMS)} ops, got {len(ops)}")
        unknown = [op for op in ops if op not in OPS]
        if unknown:
            raise ArchError(f"unknown NB101 op {unknown[0]!r} in {text!r}; ops are {', '.join(OPS)}")
        bits = "".join(match.group(k) for k in range(1, 7))
        choices: dict[str, Any] = {name: int(bit) for name, bit in zip(EDGE_DIMS, bits)}
        choices.update(zip(OP_DIMS, ops))
        return self.validate(choices)

    # -- networks ---------------------------------------------------------------------------------
    def build(self, arch: Arch, *, stem_channels: int = 128, num_stacks: int = 3, cells_per_stack: int = 3,
              num_classes: int = 10, in_channels: int = 3, **_: Any) -> Any:
        """The NB101 network: 3x3 stem, ``num_stacks`` stacks of ``cells_per_stack`` cells, pool, dense."""
        from archsearch.nn.nb101 import NB101Network

        spec = self.spec(arch)
        return NB101Network(spec.matrix, spec.ops, stem_channels=stem_channels, num_stacks=num_stacks,
                            cells_per_stack=cells_per_stack, num_classes=num_classes, in_channels=in_channels)
