"""Checks of component options (``--set strategy.X=...``): one clear ``UserError`` per bad value."""

from __future__ import annotations

import difflib
import inspect
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from archsearch.core.errors import UserError

MAX_INT = 2**63 - 1


def is_number(value: Any) -> bool:
    """A finite int or float (booleans are not numbers here)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def is_integer(value: Any, whole_floats: bool = False) -> bool:
    """An int within ``MAX_INT`` (and, with ``whole_floats``, a float such as 20.0 that YAML may give)."""
    if isinstance(value, float) and whole_floats:
        return math.isfinite(value) and value.is_integer() and abs(value) <= MAX_INT
    return not isinstance(value, bool) and isinstance(value, int) and abs(value) <= MAX_INT


def check_int(owner: str, option: str, value: Any, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (booleans and floats are refused)."""
    if not is_integer(value) or value < minimum:
        raise UserError(f"{owner}: {option} must be an integer >= {minimum}, got {value!r}")
    return value


def check_count(key: str, value: Any, minimum: int) -> int:
    """A study config key: an integer (20.0 is 20) of at least ``minimum``."""
    if not is_integer(value, whole_floats=True):
        raise UserError(f"{key} must be an integer, got {value!r}")
    if value < minimum:
        raise UserError(f"{key} must be at least {minimum}, got {value!r}")
    return int(value)


def check_positive(key: str, value: Any) -> float:
    """A study config key: a finite number > 0."""
    if not is_number(value):
        raise UserError(f"{key} must be a number, got {value!r}")
    if value <= 0:
        raise UserError(f"{key} must be positive, got {value!r}")
    return float(value)


def check_number(owner: str, option: str, value: Any, minimum: float | None = None,
                 maximum: float | None = None) -> float:
    """A finite number within the optional bounds (inclusive)."""
    if not is_number(value):
        raise UserError(f"{owner}: {option} must be a finite number, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise UserError(f"{owner}: {option} must be in [{minimum}, {maximum}], got {value!r}")
    return float(value)


def check_bool(owner: str, option: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise UserError(f"{owner}: {option} must be true or false, got {value!r}")
    return value


def check_choice(owner: str, option: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise UserError(f"{owner}: {option} must be one of {', '.join(choices)}, got {value!r}")
    return value


def parse_memory(text: str | float | int) -> float:
    """MiB from ``2048``, ``"512MiB"``, ``"2GiB"``, ``"1.5G"``; ValueError otherwise."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        raw = str(text).strip().lower().removesuffix("b").removesuffix("i")
        scale = {"k": 1 / 1024, "m": 1.0, "g": 1024.0, "t": 1024.0**2}.get(raw[-1:], None)
        value = float(raw[:-1]) * scale if scale is not None else float(raw)
    if not value > 0:
        raise ValueError(f"memory must be positive, got {text!r}")
    return value


def did_you_mean(name: Any, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"``, ``x`` the choice closest to a misspelled ``name`` (``difflib``), or else the
    closest of those with a close word (``evolution`` -> ``regularized-evolution``); "" when none is close."""
    if not isinstance(name, str) or not name:
        return ""
    lowered = {choice.lower(): choice for choice in choices if isinstance(choice, str)}
    name = name.lower()
    close = difflib.get_close_matches(name, list(lowered), n=1)
    if not close:
        words = {choice: [word for word in re.split(r"[-_.: ]", choice) if word] for choice in lowered}
        near = [choice for choice, parts in words.items() if difflib.get_close_matches(name, parts, n=1, cutoff=0.8)]
        close = sorted(near, key=lambda choice: -difflib.SequenceMatcher(None, name, choice).ratio())[:1]
    return f" (did you mean {lowered[close[0]]!r}?)" if close else ""


def check_options(kind: str, name: str, factory: Any, options: dict[str, Any]) -> None:
    """Unknown keyword options of a component are a ``UserError`` that lists the valid ones."""
    parameters = inspect.signature(factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    valid = [n for n, p in parameters.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for option in options:
        if option not in valid:
            raise UserError(f"unknown option {kind}.{option} for {kind} {name!r}{did_you_mean(option, valid)}; "
                            f"options: {', '.join(valid) or '(none)'}")
