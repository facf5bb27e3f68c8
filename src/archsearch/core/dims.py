"""Dims: one named decision of a search space.

``Categorical(options)`` picks one of a fixed tuple of JSON scalars; ``Integer(low, high)`` picks an
integer in the closed range. Every generic operation of a space (sample, mutate, neighbours, encode)
is derived from these two classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

Choice = Union[str, int, float, bool]

ONEHOT_INTEGER_LIMIT = 32  # Integer dims with at most this many values are one-hot encoded


@dataclass(frozen=True)
class Categorical:
    """One of ``options`` (unordered)."""

    options: tuple[Choice, ...]

    def __init__(self, options: "tuple[Choice, ...] | list[Choice]") -> None:
        options = tuple(options)
        if len(options) < 1:
            raise ValueError("a Categorical dim needs at least one option")
        if len(set(options)) != len(options):
            raise ValueError(f"Categorical options repeat: {options}")
        object.__setattr__(self, "options", options)

    @property
    def size(self) -> int:
        return len(self.options)

    def contains(self, value: Choice) -> bool:
        return value in self.options and type(value) in {type(o) for o in self.options}

    def index(self, value: Choice) -> int:
        return self.options.index(value)

    def value_at(self, index: int) -> Choice:
        return self.options[index]

    def sample(self, rng: np.random.Generator) -> Choice:
        return self.options[int(rng.integers(self.size))]

    def alternatives(self, value: Choice) -> list[Choice]:
        """Every other option: the one-step moves of this dim."""
        return [o for o in self.options if o != value]

    def mutate(self, value: Choice, rng: np.random.Generator) -> Choice:
        others = self.alternatives(value)
        return others[int(rng.integers(len(others)))] if others else value


    def encode_onehot(self, value: Choice) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float32)
        out[self.index(value)] = 1.0
        return out

    def describe(self) -> str:
        return "{" + ", ".join(str(o) for o in self.options) + "}"


@dataclass(frozen=True)
class Integer:
    """An integer in ``[low, high]`` (both ends included, ordered)."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if int(self.low) != self.low or int(self.high) != self.high or self.low > self.high:
            raise ValueError(f"Integer dim needs integers low <= high, got {self.low}, {self.high}")

    @property
    def size(self) -> int:
        return self.high - self.low + 1

    def contains(self, value: Choice) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and self.low <= value <= self.high

    def index(self, value: int) -> int:
        return int(value) - self.low

    def value_at(self, index: int) -> int:
        return self.low + int(index)

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.low, self.high + 1))

    def alternatives(self, value: int) -> list[int]:
        """The ordinal neighbours value - 1 and value + 1 (inside the range)."""
        return [v for v in (value - 1, value + 1) if self.low <= v <= self.high]

    def mutate(self, value: int, rng: np.random.Generator) -> int:
        """A uniformly chosen different value of the range."""
        if self.size == 1:
            return value
        draw = int(rng.integers(self.low, self.high))  # one fewer value than the range
        return draw + 1 if draw >= value else draw


    def encode_onehot(self, value: int) -> np.ndarray:
        if self.size > ONEHOT_INTEGER_LIMIT:  # ordinal, scaled to [0, 1]
            return np.array([(value - self.low) / (self.high - self.low)], dtype=np.float32)
        out = np.zeros(self.size, dtype=np.float32)
        out[self.index(value)] = 1.0
        return out

    def describe(self) -> str:
        return f"[{self.low}..{self.high}]"


Dim = Union[Categorical, Integer]
