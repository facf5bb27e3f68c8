"""Exhaustive search: every valid architecture once, in a seeded random order (sampling without replacement).

The protocol that builds tabular benchmarks: NAS-Bench-101 and NAS-Bench-201 trained every cell of their
spaces (Ying et al., ICML 2019; Dong & Yang, ICLR 2020); with a trial budget smaller than the space it is
random search without replacement (Li & Talwalkar, UAI 2019). A space of at most ``ENUMERATION_LIMIT`` dim
combinations is walked through a seeded permutation of its mixed-radix codes (the first dim most
significant; ``shuffle=False`` walks them in order), skipping combinations the space rejects; after the last
arch a new permutation starts. A larger space falls back to rejection sampling of archs not asked yet.
The state is the generator state that drew the current permutation and the position in it, so a resumed
search continues the very same walk. ``order_seed`` draws the walk from its own generator instead of the study's:
a table build with another study seed (other training seeds) then trains the very archs of the build whose
study seed was ``order_seed`` (a second seed of the same rows, for the table's noise ceiling).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.options import check_bool, check_int
from archsearch.core.result import Result
from archsearch.core.space import SearchSpace
from archsearch.strategies.unseen import UnseenSampling

ENUMERATION_LIMIT = 2_000_000  # dim combinations; above this the space is sampled without replacement


def valid_archs(space: SearchSpace, limit: int = ENUMERATION_LIMIT) -> Iterator[Arch]:
    """Every valid arch of ``space`` in code order; UserError when it has more than ``limit`` combinations."""
    size = space.size()
    if size > limit:
        raise UserError(f"space {space.name!r} has {size:,} combinations, more than {limit:,} to enumerate")
    for code in range(size):
        arch = space.arch_of_code(code)
        if space.is_valid(arch):
            yield arch


class ExhaustiveSearch(UnseenSampling):
    """Every valid arch once, in a seeded random order (``shuffle=False``: in order), then again."""

    name = "exhaustive"
    multi_objective = True  # ignores scores

    def __init__(self, shuffle: bool = True, order_seed: int | None = None) -> None:
        self.shuffle = check_bool(self.name, "shuffle", shuffle)
        self.order_seed = None if order_seed is None else check_int(self.name, "order_seed", order_seed, 0)

    def setup(self) -> None:
        super().setup()  # the archs drawn in a space too large to enumerate
        self._size = self.space.size()
        self._enumerable = self._size <= ENUMERATION_LIMIT
        self._order: np.ndarray | None = None
        self._walk = self.rng if self.order_seed is None else np.random.default_rng(self.order_seed)
        self._order_state: dict[str, Any] | None = None  # the generator state that drew ``_order``
        self._position = 0
        self._found_in_pass = 0

    def ask(self, n: int = 1) -> list[Arch]:
        return [self._next() if self._enumerable else self.draw_unseen() for _ in range(n)]

    def _next(self) -> Arch:
        while True:
            if self._order is None or self._position >= self._size:
                if self._order is not None and self._found_in_pass == 0:
                    raise UserError(f"space {self.space.name!r} has no valid arch")
                self._new_pass()
            code = int(self._order[self._position])  # type: ignore[index]
            self._position += 1
            arch = self.space.arch_of_code(code)
            if self.space.is_valid(arch):
                self._found_in_pass += 1
                return arch

    def _new_pass(self) -> None:
        self._order_state = self._walk.bit_generator.state
        self._order = self._permutation(self._walk)
        self._position = self._found_in_pass = 0

    def _permutation(self, rng: np.random.Generator) -> np.ndarray:
        return rng.permutation(self._size) if self.shuffle else np.arange(self._size)

    def tell(self, results: Sequence[Result]) -> None:
        """The walk does not depend on results."""

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update(order_state=self._order_state, position=self._position, found=self._found_in_pass)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._order_state = state.get("order_state")
        self._order = None
        if self._order_state is not None:
            generator = np.random.Generator(type(self.rng.bit_generator)())
            generator.bit_generator.state = self._order_state
            self._order = self._permutation(generator)
            if self.order_seed is not None:  # the walk's own generator continues after this permutation
                self._walk.bit_generator.state = generator.bit_generator.state
        self._position, self._found_in_pass = int(state.get("position", 0)), int(state.get("found", 0))
