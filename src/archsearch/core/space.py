"""SearchSpace: the hypothesis space of architectures.

A space declares its ``dims()`` and how to ``build`` a network; sampling, mutation, neighbours and
encodings are derived from the dims. Spaces with constraints between dims override ``is_valid``;
spaces with a native string format (NB201's ``|op~0|+|...|``) override ``parse`` and ``format``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.dims import Dim
from archsearch.core.errors import ArchError

MAX_REJECTIONS = 10_000


class SearchSpace(ABC):
    """Base class of every space; subclasses define ``dims`` and ``build``."""

    name: ClassVar[str] = "space"

    @abstractmethod
    def dims(self) -> dict[str, Dim]:
        """The named decisions, in a fixed order."""

    def build(self, arch: Arch, **net: Any) -> Any:
        """A ``torch.nn.Module`` for ``arch`` (spaces without networks raise)."""
        raise NotImplementedError(f"space {self.name!r} does not build networks")

    def space_options(self) -> dict[str, Any]:
        """The options that recreate this space, ``create_space(self.name, self.space_options())`` (a plain
        mapping; empty for spaces without options, e.g. a declared space's definition)."""
        return {}

    # -- validity ---------------------------------------------------------------------------
    def is_valid(self, arch: Mapping[str, Any]) -> bool:
        dims = self.dims()
        if list(arch) != list(dims):
            return False
        return all(dims[name].contains(value) for name, value in arch.items())

    def validate(self, arch: Mapping[str, Any]) -> Arch:
        """``arch`` as an ``Arch`` of this space, or an ``ArchError`` that says what is wrong."""
        dims = self.dims()
        missing = [n for n in dims if n not in arch]
        extra = [n for n in arch if n not in dims]
        if missing or extra:
            raise ArchError(f"not an arch of space {self.name!r}: missing dims {missing}, unknown dims {extra}")
        ordered = Arch({n: arch[n] for n in dims})
        for name, dim in dims.items():
            if not dim.contains(ordered[name]):
                raise ArchError(f"dim {name!r} of space {self.name!r} cannot be {ordered[name]!r}; choose from {dim.describe()}")
        if not self.is_valid(ordered):
            raise ArchError(f"arch violates the constraints of space {self.name!r}: {ordered}")
        return ordered

    # -- derived search operations ----------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Arch:
        """A uniformly random valid arch (rejection sampling over the dims)."""
        dims = self.dims()
        for _ in range(MAX_REJECTIONS):
            arch = Arch({name: dim.sample(rng) for name, dim in dims.items()})
            if self.is_valid(arch):
                return arch
        raise RuntimeError(f"space {self.name!r}: no valid arch in {MAX_REJECTIONS} samples")

    def sample_unseen(self, rng: np.random.Generator, seen: Callable[[Arch], bool],
                      tries: int = MAX_REJECTIONS) -> Arch:
        """A random valid arch for which ``seen(arch)`` is false (the last draw if ``tries`` run out)."""
        arch = self.sample(rng)
        for _ in range(tries):
            if not seen(arch):
                break
            arch = self.sample(rng)
        return arch

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change exactly one dim (chosen uniformly) to a different value, keeping validity."""
        dims = self.dims()
        names = [n for n, d in dims.items() if d.size > 1]
        if not names:
            return arch
        for _ in range(MAX_REJECTIONS):
            name = names[int(rng.integers(len(names)))]
            child = arch.replace(**{name: dims[name].mutate(arch[name], rng)})
            if self.is_valid(child):
                return child
        raise RuntimeError(f"space {self.name!r}: no valid mutation of {arch}")

    def neighbours(self, arch: Arch) -> list[Arch]:
        """Every valid arch one step away (one dim changed), in dim order."""
        out = []
        for name, dim in self.dims().items():
            for value in dim.alternatives(arch[name]):
                child = arch.replace(**{name: value})
                if self.is_valid(child):
                    out.append(child)
        return out

    def encode(self, arch: Arch, kind: str = "onehot") -> np.ndarray:
        """A float vector: ``onehot`` (per dim, ordinal for wide Integer dims) or ``index``."""
        dims = self.dims()
        if kind == "onehot":
            return np.concatenate([dims[n].encode_onehot(arch[n]) for n in dims])
        if kind == "index":
            return np.array([dims[n].index(arch[n]) for n in dims], dtype=np.float32)
        raise ValueError(f"space {self.name!r} has no {kind!r} encoding (onehot, index)")

    def canonical_key(self, arch: Arch) -> str:
        """The identity of the network ``arch`` stands for: archs with one canonical key are the same
        network (NB101's isomorphic cells share its graph hash). Default: ``arch.key()``."""
        return arch.key()

    def size(self) -> int:
        """The number of dim combinations (an upper bound on valid archs)."""
        return int(np.prod([d.size for d in self.dims().values()], dtype=object))

    def arch_of_code(self, code: int) -> Arch:
        """The combination numbered ``code`` in ``range(size())`` (maybe invalid): the mixed-radix digits of
        ``code`` as per-dim choice indices, the first dim most significant. Exhaustive search walks these codes."""
        dims = self.dims()
        choices: dict[str, Any] = {}
        for name, dim in reversed(list(dims.items())):
            code, digit = divmod(code, dim.size)
            choices[name] = dim.value_at(digit)
        return Arch({name: choices[name] for name in dims})

    # -- text -------------------------------------------------------------------------------
    def format(self, arch: Arch) -> str:
        """The space's native string for ``arch`` (JSON unless a space has its own)."""
        return arch.key()

    def parse(self, text: str) -> Arch:
        """An ``Arch`` from the native string or the JSON key; ``ArchError`` when malformed."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ArchError(f"malformed arch string for space {self.name!r}: {text!r}") from exc
        if not isinstance(data, dict):
            raise ArchError(f"an arch of space {self.name!r} must be a JSON object, got {text!r}")
        return self.validate(data)

    def describe(self) -> str:
        return f"{self.name}: {len(self.dims())} dims, {self.size():,} combinations"
