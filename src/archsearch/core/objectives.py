"""Objectives: a metric name and a direction, parsed from ``"valid_acc:max"``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

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


# -- constraints, the MnasNet reward and the goal of a search -----------------------------------
CONSTRAINT_OPERATORS = ("<=", ">=")
MNASNET_W = -0.07  # Tan et al., CVPR 2019, Sec. 3.1: alpha = beta = -0.07 (soft); alpha = 0, beta = -1 (hard)


def _parse_bound(text: str, what: str, example: str) -> tuple[str, str, float]:
    """``"params<=2e6"`` -> ``("params", "<=", 2e6)``; UserError with ``example`` otherwise."""
    for operator in CONSTRAINT_OPERATORS:
        metric, found, bound = text.partition(operator)
        if found:
            try:
                value = float(bound)
            except ValueError:
                value = math.nan
            if metric.strip() and math.isfinite(value):
                return metric.strip(), operator, value
    raise UserError(f"{what} {text!r} must look like {example}")


@dataclass(frozen=True)
class Constraint:
    """A hard constraint ``metric <= bound`` or ``metric >= bound`` (e.g. ``params<=2e6``)."""

    metric: str
    operator: str
    bound: float

    @classmethod
    def parse(cls, text: str) -> "Constraint":
        return cls(*_parse_bound(text.strip(), "constraint", "'params<=2e6' or 'valid_acc>=90'"))

    def violation(self, result: Result) -> float:
        """0 when satisfied; else the excess relative to ``|bound|`` (comparable across constraints);
        inf when the metric is missing or NaN (a failed trial satisfies nothing)."""
        value = result.metric(self.metric)
        if math.isnan(value):
            return math.inf
        excess = value - self.bound if self.operator == "<=" else self.bound - value
        return max(0.0, excess) / max(abs(self.bound), 1e-12)

    def __str__(self) -> str:
        return f"{self.metric}{self.operator}{self.bound:g}"


def parse_constraints(text: str | None, strict: bool = True) -> tuple[Constraint, ...]:
    """``"params<=2e6,latency_ms<=5"`` -> its constraints; None: none. An empty text or an empty part between
    commas (``","``, ``"params<=2e6,"``) is a UserError, not silently no constraint (``strict=False`` skips
    empty parts: a stored config written before they were refused)."""
    if text is None:
        return ()
    parts = str(text).split(",")
    if not strict:
        parts = [part for part in parts if part.strip()]
    elif not all(part.strip() for part in parts):
        raise UserError(f"constraint {text!r} has an empty part; give metric<=bound or metric>=bound, "
                        f"comma-separated, e.g. 'params<=2e6,latency_ms<=5'")
    return tuple(Constraint.parse(part) for part in parts)


@dataclass(frozen=True)
class MnasNetReward:
    """The MnasNet reward ``ACC(m) x [LAT(m) / T]^w`` (Tan et al., "MnasNet: Platform-Aware Neural
    Architecture Search for Mobile", CVPR 2019, Eq. 2): ``w = alpha`` when ``LAT <= T`` else ``beta``.
    Soft (``mnasnet``): alpha = beta = -0.07, so a 2x faster model may lose ~5% accuracy at equal reward.
    Hard (``mnasnet-hard``): alpha = 0, beta = -1, i.e. accuracy alone under the target, a steep penalty above.

    Text form: ``mnasnet:latency_ms<=5`` or ``mnasnet-hard:latency_ms<=5``; a soft reward may name its
    exponent, ``mnasnet:latency_ms<=5:-0.1``. ACC is the goal's first objective (a ``max`` metric)."""

    cost_metric: str
    target: float
    alpha: float = MNASNET_W
    beta: float = MNASNET_W
    kind: str = "mnasnet"
    metric: str = "reward"

    KINDS: ClassVar[tuple[str, ...]] = ("mnasnet", "mnasnet-hard")

    @classmethod
    def parse(cls, text: str) -> "MnasNetReward":
        example = "'mnasnet:latency_ms<=5', 'mnasnet-hard:latency_ms<=5' or 'mnasnet:latency_ms<=5:-0.07'"
        kind, _, rest = text.strip().partition(":")
        if kind not in cls.KINDS or not rest:
            raise UserError(f"reward {text!r} must look like {example}")
        bound_text, _, exponent = rest.partition(":")
        metric, operator, target = _parse_bound(bound_text, "reward", example)
        if operator != "<=" or target <= 0:
            raise UserError(f"reward {text!r} needs a positive target T with '<=': {example}")
        if kind == "mnasnet-hard":
            if exponent:
                raise UserError(f"reward {text!r}: the hard MnasNet reward has fixed exponents (0 and -1)")
            return cls(metric, target, 0.0, -1.0, kind)
        try:
            w = float(exponent) if exponent else MNASNET_W
        except ValueError:
            raise UserError(f"reward {text!r}: the exponent must be a number, e.g. -0.07") from None
        if not math.isfinite(w):
            raise UserError(f"reward {text!r}: the exponent must be finite")
        return cls(metric, target, w, w, kind)

    def value(self, accuracy: float, cost: float) -> float:
        """The reward of an arch with ``accuracy`` and ``cost`` (e.g. latency in ms)."""
        if math.isnan(accuracy) or math.isnan(cost) or cost <= 0:
            return -math.inf
        w = self.alpha if cost <= self.target else self.beta
        return accuracy * (cost / self.target) ** w

    def __str__(self) -> str:
        text = f"{self.kind}:{self.cost_metric}<={self.target:g}"
        return text if self.kind == "mnasnet-hard" or self.alpha == MNASNET_W else f"{text}:{self.alpha:g}"


@dataclass(frozen=True)
class Goal:
    """What a search optimises: one or more objectives, hard constraints, and an optional scalarising
    reward. Multi-objective strategies rank by ``losses`` (one value per objective, lower is better) and
    ``violation`` (Deb's constrained domination); single-objective strategies maximise ``score``."""

    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...] = ()
    reward: MnasNetReward | None = None

    def __post_init__(self) -> None:
        if not self.objectives:
            raise UserError("a search needs at least one objective")
        if self.reward is not None and self.objectives[0].direction != "max":
            raise UserError(f"the MnasNet reward multiplies an accuracy: the first objective must be a 'max' "
                            f"metric, got {self.objectives[0]}")

    @property
    def multi(self) -> bool:
        """Several objectives and no reward that folds them into one."""
        return len(self.objectives) > 1 and self.reward is None

    def metrics(self) -> tuple[str, ...]:
        """Every metric the goal reads."""
        names = [o.metric for o in self.objectives] + [c.metric for c in self.constraints]
        if self.reward is not None:
            names.append(self.reward.cost_metric)
        return tuple(dict.fromkeys(names))

    def losses(self, result: Result) -> list[float]:
        """Per objective, lower is better (a max metric negated); inf when failed or missing."""
        return [-score for score in (o.score(result) for o in self.objectives)]

    def violation(self, result: Result) -> float:
        """Summed relative violation of the constraints (0: feasible; inf: failed)."""
        if not result.ok:
            return math.inf
        return float(sum(c.violation(result) for c in self.constraints))

    def feasible(self, result: Result) -> bool:
        return self.violation(result) == 0.0

    def score(self, result: Result) -> float:
        """The scalar a single-objective strategy maximises: the reward if set, else the first objective;
        -inf when failed or infeasible (hard constraints reject, as MnasNet's hard variant)."""
        if not result.ok or not self.feasible(result):
            return -math.inf
        if self.reward is not None:
            return self.reward.value(result.metric(self.objectives[0].metric), result.metric(self.reward.cost_metric))
        return self.objectives[0].score(result)

    def describe(self) -> str:
        parts = [", ".join(map(str, self.objectives))]
        if self.reward is not None:
            parts.append(f"reward {self.reward}")
        if self.constraints:
            parts.append("subject to " + ", ".join(map(str, self.constraints)))
        return "; ".join(parts)
