"""Shared fixtures: a test-only space with Integer dims and a constraint, and a synthetic objective.

The suite runs its networks on one thread (``ARCHSEARCH_THREADS=1`` unless the caller set a count), in this
process and in every process it starts: the tests' networks are tiny, one thread is as fast for them on an idle
machine, and no thread team stalls when other jobs share the machine. The thread policy's own tests clear it.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("ARCHSEARCH_THREADS", "1")

from archsearch.core.threads import configure  # noqa: E402

configure()
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Dim, Integer
from archsearch.core.registry import SPACES
from archsearch.core.result import Result
from archsearch.core.space import SearchSpace


class MixedSpace(SearchSpace):
    """Categorical and Integer dims (one wide enough for the ordinal encoding) and a constraint."""

    name = "mixed-test"

    def dims(self) -> dict[str, Dim]:
        return {"op": Categorical(["conv", "pool", "skip"]), "depth": Integer(1, 6),
                "width": Integer(8, 64), "flag": Categorical([True, False])}

    def is_valid(self, arch: Any) -> bool:
        # constraint: a 'skip' layer cannot be deeper than 4
        return super().is_valid(arch) and not (arch["op"] == "skip" and arch["depth"] > 4)


EXAMPLE_SPACES = Path(__file__).resolve().parents[1] / "examples" / "spaces"
SPACE_OPTIONS = {"declared": ("chain.yaml", "cell.yaml")}  # spaces made from options: the example files


def all_spaces() -> list[SearchSpace]:
    from archsearch.spaces import create_space
    from archsearch.spaces.declared import load_space_file

    spaces = []
    for name in SPACES.names():
        for file in SPACE_OPTIONS.get(name, (None,)):
            spaces.append(create_space(name, load_space_file(EXAMPLE_SPACES / file) if file else None))
    return spaces + [MixedSpace()]


def space_id(space: SearchSpace) -> str:
    return f"{space.name}-{space.kind}" if space.name == "declared" else space.name  # type: ignore[attr-defined]


def synthetic_result(space: SearchSpace, arch: Arch, fidelity: float | None = None) -> Result:
    """A deterministic fake evaluation: valid_acc grows with the encoded index vector (and the fidelity)."""
    fidelity = 1.0 if fidelity is None else fidelity
    score = float(space.encode(arch, "index").sum()) + fidelity / 10
    return Result(arch, {"valid_acc": score, "final_test_acc": score / 2}, cost_seconds=fidelity, fidelity=fidelity)


def json_round_trip(state: dict) -> dict:
    return json.loads(json.dumps(state))


@pytest.fixture(params=all_spaces(), ids=space_id)
def space(request: pytest.FixtureRequest) -> SearchSpace:
    return request.param


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
