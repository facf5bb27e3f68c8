"""Search spaces (registered lazily in :mod:`archsearch.core.registry`).

:func:`create_space` makes a space from its registered name and options (a declared space's definition);
:func:`space_from_config` makes the space of a study config or a stored config mapping: the one place where
a space is made from a name, so that spaces with options (``space_options``) work everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def create_space(name: str, options: Mapping[str, Any] | None = None) -> Any:
    """The space ``name`` made with ``options`` (``UserError`` for an unknown name or option)."""
    from archsearch.core.options import check_options
    from archsearch.core.registry import SPACES

    factory = SPACES.load(name)
    options = dict(options or {})
    check_options("space", name, factory, options)
    return factory(**options)


def space_from_config(config: Any) -> Any:
    """The space of a ``StudyConfig`` or of a stored config mapping (old configs have no ``space_options``)."""
    if isinstance(config, Mapping):
        return create_space(config["space"], config.get("space_options") or {})
    return create_space(config.space, getattr(config, "space_options", None) or {})
