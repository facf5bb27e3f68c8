"""The contract every registered space (and a test space with Integer dims) satisfies."""

from __future__ import annotations

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.errors import ArchError
from archsearch.core.space import SearchSpace

import pytest


def test_samples_are_valid_and_varied(space: SearchSpace, rng: np.random.Generator) -> None:
    samples = [space.sample(rng) for _ in range(50)]
    assert all(space.is_valid(a) for a in samples)
    assert all(list(a) == list(space.dims()) for a in samples)
    assert len({a.key() for a in samples}) > 10


def test_mutate_changes_exactly_one_dim(space: SearchSpace, rng: np.random.Generator) -> None:
    for _ in range(50):
        parent = space.sample(rng)
        child = space.mutate(parent, rng)
        assert space.is_valid(child)
        assert sum(parent[n] != child[n] for n in space.dims()) == 1


def test_neighbours_are_distinct_valid_and_one_step(space: SearchSpace, rng: np.random.Generator) -> None:
    for _ in range(10):
        arch = space.sample(rng)
        neighbours = space.neighbours(arch)
        assert neighbours, "every arch has at least one neighbour"
        assert len({n.key() for n in neighbours}) == len(neighbours)
        assert arch not in neighbours
        for n in neighbours:
            assert space.is_valid(n)
            assert sum(arch[d] != n[d] for d in space.dims()) == 1


def test_json_round_trip(space: SearchSpace, rng: np.random.Generator) -> None:
    for _ in range(20):
        arch = space.sample(rng)
        assert Arch.from_json(arch.to_json()) == arch
        assert space.parse(arch.key()) == arch
        assert space.parse(space.format(arch)) == arch


def test_same_seed_same_samples(space: SearchSpace) -> None:
    first = [space.sample(np.random.default_rng(7)) for _ in range(5)]
    second = [space.sample(np.random.default_rng(7)) for _ in range(5)]
    assert first == second


def test_encodings_have_fixed_width(space: SearchSpace, rng: np.random.Generator) -> None:
    archs = [space.sample(rng) for _ in range(10)]
    for kind in ("onehot", "index"):
        vectors = [space.encode(a, kind) for a in archs]
        assert len({v.shape for v in vectors}) == 1
        assert all(np.isfinite(v).all() for v in vectors)
    assert space.encode(archs[0], "index").shape == (len(space.dims()),)


def test_malformed_strings_raise_arch_error(space: SearchSpace) -> None:
    for text in ("", "not an arch", "{}", '{"nope": 1}', "[1, 2]"):
        with pytest.raises(ArchError):
            space.parse(text)
