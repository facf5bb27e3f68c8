"""YAML/JSON documents the user hands in (config files, space files), read with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archsearch.core.errors import UserError


def read_document(path: str | Path, what: str) -> Any:
    """The YAML/JSON document in ``path``; ``what`` ("config file", "space file") names it in the UserError
    raised for a missing, unreadable or malformed file (its first line only)."""
    import yaml

    file = Path(path)
    if not file.is_file():
        raise UserError(f"{what} not found: {path}")
    try:
        return yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {what} {path}: {exc}") from None
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise UserError(f"{what} {path} is not valid YAML/JSON: {first_line}") from None
