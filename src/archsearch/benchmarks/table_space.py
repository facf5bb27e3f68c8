"""A search space restricted to the archs of a partial table (``missing: restrict``).

A table built from a sample of a space (``bench build --sample N``) holds a few percent of its archs; a
strategy searching the whole space asks mostly archs the table lacks. As NASLib does for the NAS-Bench-101
subsets and the zero-cost benchmarks (White et al. 2021, "How Powerful are Performance Predictors in NAS?"),
a restricted search treats the table as the space: ``sample`` draws uniformly from its archs, ``mutate`` moves to
a random table arch at the smallest Hamming distance (one dim when the table has such a neighbour, more
otherwise), ``neighbours`` are all the table archs at that distance, and ``is_valid`` is membership. Everything
else (dims, encodings, ``format``/``parse``, building networks, supernets) is the base space's.
Strategies that draw from the dims themselves (REINFORCE's controller, BOHB's model) still ask archs outside
the table: those trials fail as with ``missing: fail``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.dims import Dim
from archsearch.core.space import SearchSpace


class TableSpace(SearchSpace):
    """``base`` restricted to ``archs`` (each an arch of ``base``)."""

    def __init__(self, base: SearchSpace, archs: Sequence[Arch]) -> None:
        self.base = base
        self.archs = [base.validate(arch) for arch in archs]
        self._members = set(self.archs)
        self._codes = np.array([self._code(arch) for arch in self.archs], dtype=np.int64)  # (archs, dims)
        self.name = base.name

    def __getattr__(self, attribute: str) -> Any:  # supernet, cell_edges, formula ...: the base space's
        if attribute == "base":
            raise AttributeError(attribute)
        return getattr(self.base, attribute)

    def __reduce__(self) -> tuple:
        return (TableSpace, (self.base, [dict(a) for a in self.archs]))

    # -- the base space's -----------------------------------------------------------------------
    def dims(self) -> dict[str, Dim]:
        return self.base.dims()

    def build(self, arch: Arch, **net: Any) -> Any:
        return self.base.build(arch, **net)

    def space_options(self) -> dict[str, Any]:
        return self.base.space_options()

    def canonical_key(self, arch: Arch) -> str:
        return self.base.canonical_key(arch)

    def format(self, arch: Arch) -> str:
        return self.base.format(arch)

    def parse(self, text: str) -> Arch:
        return self.base.parse(text)

    def describe(self) -> str:
        return f"{self.base.describe()}, restricted to the {len(self.archs)} archs of a table"

    # -- restricted to the table ----------------------------------------------------------------
    def size(self) -> int:
        return len(self.archs)

    def arch_of_code(self, code: int) -> Arch:
        return self.archs[code]  # exhaustive search walks the table's archs

    def is_valid(self, arch: Mapping[str, Any]) -> bool:
        return self.base.is_valid(arch) and Arch(arch) in self._members

    def sample(self, rng: np.random.Generator) -> Arch:
        return self.archs[int(rng.integers(len(self.archs)))]

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """A random table arch at the smallest non-zero Hamming distance from ``arch``."""
        nearest = self._nearest(arch)
        return self.archs[int(nearest[int(rng.integers(len(nearest)))])] if len(nearest) else arch

    def neighbours(self, arch: Arch) -> list[Arch]:
        """Every table arch at the smallest non-zero Hamming distance, in table order."""
        return [self.archs[int(i)] for i in self._nearest(arch)]

    def _code(self, arch: Mapping[str, Any]) -> list[int]:
        """Per dim, the index of the arch's choice (an Integer dim's value itself)."""
        dims = self.base.dims()
        return [dims[n].options.index(arch[n]) if hasattr(dims[n], "options") else int(arch[n]) for n in dims]

    def _nearest(self, arch: Arch) -> np.ndarray:
        distance = (self._codes != np.array(self._code(arch), dtype=np.int64)).sum(axis=1)  # (archs,)
        distance[distance == 0] = np.iinfo(np.int64).max
        if len(distance) == 0 or distance.min() == np.iinfo(np.int64).max:
            return np.array([], dtype=np.int64)
        return np.flatnonzero(distance == distance.min())
