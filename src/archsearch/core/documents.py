"""YAML/JSON documents the user hands in (config files, space files), read with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archsearch.core.errors import UserError


def read_document(path: str | Path, what: str) -> Any:
    """The YAML/JSON document in ``path``; ``what`` ("config file", "space file") names it in the UserError
    raised for a missing, unreadable or malformed file (one line: ``file:line:column`` and the problem)."""
    import yaml

    file = Path(path)
    if not file.is_file():
        raise UserError(f"{what} not found: {path}")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {what} {path}: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        place, problem = yaml_problem(exc, text)
        raise UserError(f"{what} {path}{place} is not valid YAML/JSON: {problem}") from None


def yaml_problem(exc: Exception, text: str) -> tuple[str, str]:
    """``(":line:column", "the problem (while parsing ... started at line:column)")`` of a YAML error, 1-based, on
    one line (``place`` is "" when PyYAML gives no position)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    if mark is not None and problem:
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and context != problem:
            where = f" started at {context_mark.line + 1}:{context_mark.column + 1}" if context_mark is not None else ""
            problem = f"{problem} ({context}{where})"
        return f":{mark.line + 1}:{mark.column + 1}", " ".join(str(problem).split())
    position = getattr(exc, "position", None)  # a ReaderError: a character YAML does not allow
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"  # without 'in "<string>"'
    if isinstance(position, int) and 0 <= position <= len(text):
        line, column = text.count("\n", 0, position) + 1, position - text.rfind("\n", 0, position)
        return f":{line}:{column}", first
    return "", first
