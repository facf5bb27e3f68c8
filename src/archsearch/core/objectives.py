"""Objectives: a metric name and a direction, parsed from ``"valid_acc:max"``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from archsearch.core.errors import UserError
from archsearch.core.result import Result

Direction = Literal["max", "min"]


@dataclass(frozen=True)
class Objective:
    metric: str
    direction: Direction = "max"

    def __post_init__(self) -> None:
        if self.direction not in ("max", "min"):
            raise UserError(f"objective direction must be 'max' or 'min', got {self.direction!r}")

    @classmethod
    def parse(cls, text: str) -> "Objective":
        """``"valid_acc:max"`` or ``"flops:min"``; a bare metric name means ``max``."""
        metric, _, direction = text.partition(":")
        if not metric:
            raise UserError(f"objective {text!r} needs a metric name, e.g. 'valid_acc:max'")
        return cls(metric, direction or "max")  # type: ignore[arg-type]

    def score(self, result: Result) -> float:
        """Higher is better; failed or missing results score -inf."""
        value = result.metric(self.metric)
        if not result.ok or math.isnan(value):
            return -math.inf
        return value if self.direction == "max" else -value

    def __str__(self) -> str:
        return f"{self.metric}:{self.direction}"
