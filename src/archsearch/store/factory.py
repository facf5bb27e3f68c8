"""The store a location names (issue 27): a ``postgresql://`` URL opens the PostgreSQL store
(:mod:`archsearch.store.postgres`, psycopg imported then), anything else is a SQLite file path.

Another ``scheme://`` is a ``UserError`` rather than a file of that odd name.
"""

from __future__ import annotations

import os
import re

from archsearch.core.errors import UserError
from archsearch.store.base import Store

URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` is a database URL (``scheme://...``) rather than a file path."""
    return isinstance(location, str) and URL_SCHEME.match(location) is not None


def open_store(location: str | os.PathLike[str], create: bool = True, write: bool = True) -> Store:
    """The store at ``location``: ``postgresql://user@host:port/db`` (or ``postgres://``) or a SQLite file.
    ``create=False`` refuses a store that does not exist yet; ``write=False`` for commands that only read."""
    if is_url(location):
        scheme = URL_SCHEME.match(str(location)).group(1).lower()  # type: ignore[union-attr]
        if scheme not in ("postgresql", "postgres"):
            raise UserError(f"unknown store URL scheme {scheme + '://'!r} in {location!r}: a store is a SQLite file "
                            "path or a postgresql://user@host:port/database URL")
        from archsearch.store.postgres import PostgresStore

        return PostgresStore(str(location), create=create, write=write)
    from archsearch.store.sqlite import SQLiteStore

    return SQLiteStore(location, create=create, write=write)


def same_store(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two locations name the same store (URLs compared as text, paths resolved)."""
    if is_url(a) or is_url(b):
        return str(a) == str(b)
    from pathlib import Path

    return Path(a).resolve() == Path(b).resolve()
