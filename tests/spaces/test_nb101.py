"""The NAS-Bench-101 space: graph hashing, pruning, validity, strings, and the network builder.

Reference values come from the NB101 dataset as published: the first row of the dataset (hash
00005c142e6f48ac74fdcf73e3439874, 8,555,530 trainable parameters) and the Inception-like cell of the
nasbench README/colab (queried in one vertex order, stored in another; 2,694,282 parameters).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from archsearch.core.arch import Arch
from archsearch.core.errors import ArchError
from archsearch.metrics.params import count_parameters
from archsearch.nn.nb101 import compute_vertex_channels
from archsearch.spaces.nb101 import EDGE_DIMS, OP_DIMS, OPS, NB101Space, hash_module

C3, C1, MP = OPS
FIRST_ROW_MATRIX = [[0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 1, 0],
                    [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]]
FIRST_ROW_OPS = [C3, MP, C3, C3, C1]
INCEPTION_QUERY = ([[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                    [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0] * 7], [C1, C3, C3, C3, MP])
INCEPTION_STORED = ([[0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
                     [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0] * 7], [C3, C1, MP, C3, C3])


@pytest.fixture(scope="module")
def space() -> NB101Space:
    return NB101Space()


def _relabel(space: NB101Space, arch, rng: np.random.Generator):
    """The same cell with its interior vertices renumbered in another topological order."""
    matrix = np.zeros((7, 7), dtype=int)
    for name in EDGE_DIMS:
        _, i, j = name.split("_")
        matrix[int(i), int(j)] = arch[name]
    ops = ["input"] + [arch[n] for n in OP_DIMS] + ["output"]
    order, remaining = [0], set(range(1, 6))
    while remaining:  # Kahn's algorithm with random tie-breaking
        ready = sorted(v for v in remaining if all(u in order for u in range(7) if matrix[u, v]))
        pick = ready[int(rng.integers(len(ready)))]
        order.append(pick)
        remaining.remove(pick)
    order.append(6)
    return space.arch_from_matrix(matrix[np.ix_(order, order)], [ops[v] for v in order])


def _isomorphic(a, b) -> bool:
    """Brute force over vertex permutations of two pruned cells (input and output fixed)."""
    if a.num_vertices != b.num_vertices:
        return False
    n = a.num_vertices
    for perm in itertools.permutations(range(1, n - 1)):
        p = (0, *perm, n - 1)
        if all(a.matrix[i][j] == b.matrix[p[i]][p[j]] for i in range(n) for j in range(n)) and \
                all(a.ops[v - 1] == b.ops[p[v] - 1] for v in range(1, n - 1)):
            return True
    return False


# -- hashing ------------------------------------------------------------------------------------
def test_hash_of_the_first_nb101_row(space: NB101Space) -> None:
    arch = space.arch_from_matrix(FIRST_ROW_MATRIX, FIRST_ROW_OPS)
    assert space.hash(arch) == "00005c142e6f48ac74fdcf73e3439874"
    assert space.canonical_key(arch) == space.hash(arch)


def test_the_inception_cell_hashes_as_its_stored_permutation(space: NB101Space) -> None:
    query = space.arch_from_matrix(*INCEPTION_QUERY)
    stored = space.arch_from_matrix(*INCEPTION_STORED)
    assert query != stored and space.hash(query) == space.hash(stored)


def test_hash_is_invariant_under_vertex_renumbering(space: NB101Space) -> None:
    rng = np.random.default_rng(3)
    for _ in range(30):
        arch = space.sample(rng)
        assert space.hash(_relabel(space, arch, rng)) == space.hash(arch)


def test_hash_module_on_permuted_digraphs() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        size = int(rng.integers(3, 9))
        matrix = rng.integers(0, 2, (size, size))
        labels = rng.integers(0, 4, size).tolist()
        perm = rng.permutation(size)
        permuted = matrix[np.ix_(perm, perm)]
        assert hash_module(permuted, [labels[p] for p in perm]) == hash_module(matrix, labels)


def test_equal_hashes_exactly_for_isomorphic_cells(space: NB101Space) -> None:
    rng = np.random.default_rng(1)
    cells = [space.spec(space.sample(rng)) for _ in range(400)]
    small = [c for c in cells if c.num_vertices <= 5]  # many collisions among small cells
    pairs = list(itertools.combinations(small[:60], 2))
    assert sum(a.hash() == b.hash() for a, b in pairs) > 5  # the check below is not vacuous
    for a, b in pairs:
        assert (a.hash() == b.hash()) == _isomorphic(a, b)


def test_ops_change_the_hash(space: NB101Space) -> None:
    arch = space.arch_from_matrix(FIRST_ROW_MATRIX, FIRST_ROW_OPS)
    assert space.hash(arch.replace(op_2=C3)) != space.hash(arch)


# -- pruning and validity -------------------------------------------------------------------------
def test_pruning_drops_vertices_off_every_input_output_path(space: NB101Space) -> None:
    skip = space.arch_from_matrix([[0, 1, 0, 0, 0, 0, 1]] + [[0] * 7] * 6, [C3] * 5)  # 0->1 (dead), 0->6
    spec = space.spec(skip)
    assert spec.num_vertices == 2 and spec.ops == () and spec.num_edges == 1
    assert space.hash(skip.replace(op_1=MP, edge_1_2=1)) == space.hash(skip)  # dead parts don't count
    assert space.hash(skip.replace(edge_1_6=1)) != space.hash(skip)  # vertex 1 comes alive


def test_validity_counts_edges_after_pruning(space: NB101Space) -> None:
    chain = {name: 0 for name in EDGE_DIMS} | {name: C3 for name in OP_DIMS}
    chain.update({f"edge_{i}_{i + 1}": 1 for i in range(6)})  # 0 -> 1 -> ... -> 6
    assert space.is_valid(space.validate(chain))
    ten = chain | {"edge_0_2": 1, "edge_0_3": 1, "edge_0_4": 1, "edge_1_3": 1}
    assert not space.is_valid(Arch(ten))
    with pytest.raises(ArchError, match="10 edges after pruning"):
        space.validate(ten)
    # 10 raw edges, 5 of them into vertex 5, which feeds nothing: pruned to the 5-edge chain 0-1-2-3-4-6
    dead_heavy = chain | {"edge_5_6": 0, "edge_4_6": 1} | {f"edge_{i}_5": 1 for i in range(5)}
    assert sum(dead_heavy[n] for n in EDGE_DIMS) == 10
    assert space.spec(space.validate(dead_heavy)).num_edges == 5


def test_disconnected_cells_are_invalid(space: NB101Space) -> None:
    empty = {name: 0 for name in EDGE_DIMS} | {f"op_{v}": C1 for v in range(1, 6)}
    with pytest.raises(ArchError, match="does not reach the output"):
        space.validate(empty | {"edge_0_1": 1, "edge_2_6": 1})


def test_vertex_channels_as_the_reference_tests() -> None:
    branch = [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert compute_vertex_channels(8, 8, branch) == [8, 3, 3, 2, 8]
    assert compute_vertex_channels(8, 15, branch) == [8, 5, 5, 5, 15]
    widest = [[0, 1, 0, 1, 0], [0, 0, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert compute_vertex_channels(8, 15, widest) == [8, 8, 7, 7, 15]
    with pytest.raises(ValueError):
        compute_vertex_channels(8, 2, branch)


# -- strings --------------------------------------------------------------------------------------
def test_format_parse_round_trip(space: NB101Space) -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        arch = space.sample(rng)
        assert space.parse(space.format(arch)) == arch
    first = space.arch_from_matrix(FIRST_ROW_MATRIX, FIRST_ROW_OPS)
    assert space.format(first) == ("100110-10000-1001-010-10-1|"
                                   "conv3x3-bn-relu,maxpool3x3,conv3x3-bn-relu,conv3x3-bn-relu,conv1x1-bn-relu")


@pytest.mark.parametrize("text", [
    "100110-10000-1001-010-10|conv3x3-bn-relu,maxpool3x3,conv3x3-bn-relu,conv3x3-bn-relu,conv1x1-bn-relu",
    "100110-10000-1001-010-10-2|conv3x3-bn-relu,maxpool3x3,conv3x3-bn-relu,conv3x3-bn-relu,conv1x1-bn-relu",
    "100110-10000-1001-010-10-1|conv3x3-bn-relu,maxpool3x3,conv3x3-bn-relu,conv3x3-bn-relu",
    "100110-10000-1001-010-10-1|conv3x3-bn-relu,maxpool3x3,conv5x5,conv3x3-bn-relu,conv1x1-bn-relu",
    "000000-00000-0000-000-00-0|conv3x3-bn-relu,maxpool3x3,conv3x3-bn-relu,conv3x3-bn-relu,conv1x1-bn-relu",
    "100110-10000-1001-010-10-1", "|", "{\"edge_0_1\": 1}",
])
def test_malformed_or_invalid_strings_raise_one_line(space: NB101Space, text: str) -> None:
    with pytest.raises(ArchError) as info:
        space.parse(text)
    assert "\n" not in str(info.value)


# -- networks -------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell, params", [((FIRST_ROW_MATRIX, FIRST_ROW_OPS), 8_555_530),
                                          (INCEPTION_QUERY, 2_694_282), (INCEPTION_STORED, 2_694_282)])
def test_parameters_equal_the_dataset(space: NB101Space, cell, params: int) -> None:
    assert count_parameters(space.build(space.arch_from_matrix(*cell))) == params


def test_tiny_networks_run_forward(space: NB101Space) -> None:
    rng = np.random.default_rng(2)
    input_only = space.arch_from_matrix([[0, 0, 0, 0, 0, 0, 1]] + [[0] * 7] * 6, [C3] * 5)
    for arch in [input_only] + [space.sample(rng) for _ in range(4)]:
        net = space.build(arch, stem_channels=8, num_stacks=2, cells_per_stack=1, num_classes=5, in_channels=1)
        assert net(torch.randn(2, 1, 15, 15)).shape == (2, 5)  # odd size: ceil-mode downsampling
    with pytest.raises(ValueError):
        space.build(input_only, stem_channels=0)
