"""Result: what an estimator returns for one architecture at one fidelity; EpochRecord: what a one-shot
search (or another phase of a study) reports for one epoch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from archsearch.core.arch import Arch

Status = Literal["ok", "failed", "pruned"]
STATUSES: tuple[str, ...] = ("ok", "failed", "pruned")


@dataclass(frozen=True)
class Result:
    """One evaluation: metrics (e.g. ``valid_acc``), cost in (real or simulated) seconds, status."""

    arch: Arch
    metrics: dict[str, float] = field(default_factory=dict)
    cost_seconds: float = 0.0
    fidelity: float | None = None
    status: Status = "ok"
    error: str | None = None
    curves: dict[str, list[float]] = field(default_factory=dict)  # per-epoch series, e.g. "valid_acc"

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def metric(self, name: str) -> float:
        """The metric's value, NaN when absent."""
        return float(self.metrics.get(name, math.nan))

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch": dict(self.arch),
            "fidelity": self.fidelity,
            "metrics": dict(self.metrics),
            "cost": self.cost_seconds,
            "status": self.status,
            "error": self.error,
            "curves": {name: list(values) for name, values in self.curves.items()},
        }


class EpochKind(str, Enum):
    """What an ``EpochRecord`` records: a one-shot ``epoch``, the final ``ranking`` of its candidates, a
    zero-cost ``prerank`` of a random pool, a ``meta`` step of meta-architecture search, or an epoch of one
    ``split`` copy of a few-shot supernet (:mod:`archsearch.estimators.few_shot`)."""

    EPOCH = "epoch"
    SPLIT = "split"
    RANKING = "ranking"
    PRERANK = "prerank"
    META = "meta"

    def __str__(self) -> str:
        return self.value


@dataclass
class EpochRecord:
    """One finished epoch of a one-shot search (``epoch`` 0-based), or its final ranking (``kind="ranking"``:
    candidates with their shared-weight accuracies, best first)."""

    epoch: int
    seconds: float
    metrics: dict[str, float]
    arch: dict[str, Any] | None = None
    kind: EpochKind | str = EpochKind.EPOCH  # a str is turned into its EpochKind (ValueError when it is none)
    ranking: list[tuple[dict[str, Any], float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.kind = EpochKind(self.kind)

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "kind": self.kind.value, "seconds": self.seconds, "metrics": self.metrics,
                "arch": self.arch, "ranking": [[arch, acc] for arch, acc in self.ranking]}
