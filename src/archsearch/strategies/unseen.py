"""Sampling without replacement: random valid archs not asked before, their keys kept in the strategy's state so
that a resumed search does not ask them again. Random search with ``deduplicate`` and exhaustive search of a
space too large to enumerate sample this way (Li & Talwalkar, UAI 2019: random search without replacement)."""

from __future__ import annotations

from typing import Any

from archsearch.core.arch import Arch
from archsearch.core.strategy import Strategy


class UnseenSampling(Strategy):
    """A strategy that draws archs it has not drawn yet (``draw_unseen``); ``state_dict`` lists their keys."""

    def setup(self) -> None:
        self._seen: set[str] = set()

    def draw_unseen(self) -> Arch:
        """A random valid arch not drawn before (the space's last draw when its rejection tries run out)."""
        arch = self.space.sample_unseen(self.rng, lambda arch: arch.key() in self._seen)
        self._seen.add(arch.key())
        return arch

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self._seen:
            state["seen"] = sorted(self._seen)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._seen = set(state.get("seen", ()))
