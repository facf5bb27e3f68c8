"""What every declared space shares: the constants of the format, the parsing of dims and ops, and
:class:`DeclaredSpace` (a definition mapping that recreates the space and pickles as itself)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from archsearch.core.dims import Categorical, Dim, Integer
from archsearch.core.errors import UserError
from archsearch.core.options import check_int, check_number
from archsearch.core.space import SearchSpace
from archsearch.nn.topology import ALIASES, BASE_OPS, canonical_op

KINDS = ("chain", "cell")
OP_HELP = f"{', '.join(BASE_OPS)}, mbconv_k<3|5|7>_e<1-9>[_se][_hs] (aliases {', '.join(ALIASES)})"
NETWORK_DEFAULTS = {"chain": {"stem_channels": 16, "width_mult": 1.0, "dropout": 0.0},
                    "cell": {"channels": 16, "cells_per_stage": 2, "stages": 3, "dropout": 0.0}}
STRUCTURE_KEYS = {"chain": ("name", "kind", "dims", "layers"), "cell": ("name", "kind", "dims", "ops", "nodes")}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def bad(source: str, message: str) -> UserError:
    return UserError(f"{source}: {message}")


def parse_dim(source: str, name: Any, spec: Any) -> Dim:
    """A list / ``{choices: [...]}`` -> Categorical; ``{low: L, high: H}`` -> Integer."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise bad(source, f"dim name {name!r} must be a word (letters, digits, _; not starting with a digit)")
    if isinstance(spec, dict) and set(spec) == {"choices"}:
        spec = spec["choices"]
    if isinstance(spec, list):
        if not spec:
            raise bad(source, f"dim {name!r} has no choices")
        wrong = [c for c in spec if not isinstance(c, (str, int, float, bool))]
        if wrong:
            raise bad(source, f"dim {name!r}: choices must be names or numbers, got {wrong[0]!r}")
        if len({json.dumps(c) for c in spec}) != len(spec) or len(set(spec)) != len(spec):
            raise bad(source, f"dim {name!r} repeats a choice: {spec}")
        return Categorical(spec)
    if isinstance(spec, dict) and set(spec) == {"low", "high"}:
        low, high = spec["low"], spec["high"]
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (low, high)):
            raise bad(source, f"dim {name!r}: low and high must be integers, got {low!r}, {high!r}")
        if low > high:
            raise bad(source, f"dim {name!r}: low ({low}) is above high ({high})")
        return Integer(low, high)
    raise bad(source, f"dim {name!r}: give a list of choices, {{choices: [...]}} or {{low: L, high: H}}, "
                       f"got {spec!r}")


def check_ops(source: str, where: str, choices: Any, allow_none: bool) -> None:
    for choice in choices:
        op = canonical_op(choice)
        if op is None:
            raise bad(source, f"{where}: unknown op {choice!r}; ops: {OP_HELP}")
        if op == "none" and not allow_none:
            raise bad(source, f"{where}: op {choice!r} (none) would cut the chain; use skip_connect to skip a layer")


class DeclaredSpace(SearchSpace):
    """A space built from a definition mapping; ``space_options()`` returns it (what recreates the space)."""

    name = "declared"
    kind = ""

    def __init__(self, definition: Mapping[str, Any], source: str = "declared space") -> None:
        try:
            self.definition = json.loads(json.dumps(dict(definition), allow_nan=False))  # a plain, private copy
        except (TypeError, ValueError) as exc:
            raise bad(source, f"a definition holds names, numbers, lists and mappings only ({exc})") from None
        self.source = source
        allowed = (*STRUCTURE_KEYS[self.kind], *NETWORK_DEFAULTS[self.kind])
        unknown = [key for key in self.definition if key not in allowed]
        if unknown:
            raise bad(source, f"unknown key {unknown[0]!r} for kind {self.kind}; keys: {', '.join(allowed)}")
        label = self.definition.get("name")
        if label is not None and not isinstance(label, str):
            raise bad(source, f"'name' must be text, got {label!r}")
        self.label = label
        defaults = NETWORK_DEFAULTS[self.kind]
        self.network = self._network_options(defaults, {k: v for k, v in self.definition.items() if k in defaults},
                                             source)
        self._dims: dict[str, Dim] = {}

    def _finish(self) -> None:
        if not self._dims:
            raise bad(self.source, "the space has no dims")
        if all(dim.size == 1 for dim in self._dims.values()):
            raise bad(self.source, "every dim has a single choice: a space needs a dim with two or more")

    def _network_options(self, base: dict[str, Any], given: Mapping[str, Any], owner: str) -> dict[str, Any]:
        """Network defaults updated by ``given``, each value checked."""
        out = dict(base)
        for key, value in given.items():
            if value is None:
                continue
            if key == "width_mult":
                out[key] = check_number(owner, key, value, 1e-3)
            elif key == "dropout":
                out[key] = check_number(owner, key, value, 0.0, 0.99)
            else:
                out[key] = check_int(owner, key, value, 1)
        return out

    def dims(self) -> dict[str, Dim]:
        return dict(self._dims)

    def space_options(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.definition))

    def describe(self) -> str:
        label = f" {self.label!r}" if self.label else ""
        return f"declared {self.kind}{label}: {len(self._dims)} dims, {self.size():,} combinations"

    def __reduce__(self) -> tuple:
        """Pickles as its definition (a worker process rebuilds it)."""
        return (type(self), (self.definition, self.source))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeclaredSpace) and other.definition == self.definition

    def __hash__(self) -> int:
        return hash(json.dumps(self.definition, sort_keys=True))
