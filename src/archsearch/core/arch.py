"""Arch: a frozen, ordered mapping from dim name to choice.

``key()`` is the canonical string (compact JSON in dim order) used as the identity of an
architecture in the store and in caches; ``to_json`` / ``from_json`` round-trip it exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from archsearch.core.dims import Choice


class Arch(Mapping[str, Choice]):
    """An immutable architecture: ``Arch({"edge_1_0": "nor_conv_3x3", ...})``."""

    __slots__ = ("_items", "_hash")

    def __init__(self, choices: Mapping[str, Choice] | Any = ()) -> None:
        items = tuple(dict(choices).items())
        object.__setattr__(self, "_items", items)
        object.__setattr__(self, "_hash", hash(items))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Arch is immutable; use Arch.replace()")

    def __getitem__(self, name: str) -> Choice:
        for key, value in self._items:
            if key == name:
                return value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Arch):
            return self._items == other._items
        return NotImplemented

    def replace(self, **changes: Choice) -> "Arch":
        """A copy with some dims changed (order kept)."""
        unknown = set(changes) - set(self)
        if unknown:
            raise KeyError(f"unknown dims {sorted(unknown)}")
        return Arch({k: changes.get(k, v) for k, v in self._items})

    def key(self) -> str:
        """Canonical string: compact JSON object in dim order."""
        return json.dumps(dict(self._items), separators=(",", ":"))

    def to_json(self) -> str:
        return self.key()

    @classmethod
    def from_json(cls, text: str) -> "Arch":
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("an Arch JSON must be an object")
        return cls(data)

    def __str__(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self._items)

    def __repr__(self) -> str:
        return f"Arch({dict(self._items)!r})"

    def __reduce__(self) -> tuple:
        return (Arch, (dict(self._items),))


class ArchText(dict):  # type: ignore[type-arg]
    """A stored arch (the plain dict of dim -> choice that trials keep) that prints as its space's string,
    e.g. NB201's ``|nor_conv_3x3~0|+|...|``; ``.dict`` is the plain mapping. It is a dict: JSON, ``Arch(...)``
    and every lookup take it as the stored arch."""

    def __init__(self, choices: Mapping[str, Choice], text: str) -> None:
        super().__init__(choices)
        self.text = text

    @property
    def dict(self) -> dict[str, Choice]:
        return {**self}

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def __reduce__(self) -> tuple:
        return (ArchText, ({**self}, self.text))
