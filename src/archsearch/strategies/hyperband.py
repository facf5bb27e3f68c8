"""Hyperband — Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, "Hyperband: A Novel Bandit-Based
Approach to Hyperparameter Optimization", JMLR 18(185), 2018 — over successive halving (Jamieson &
Talwalkar, "Non-stochastic Best Arm Identification and Hyperparameter Optimization", AISTATS 2016).

The paper's schedule on a *discrete* ladder of fidelities ``r_0 < ... < r_{R-1}`` (the rungs):

- ``s_max = R - 1``; brackets cycle ``s = s_max, s_max - 1, ..., 0`` and start again, for ever
  (the study stops on its budget).
- Bracket ``s`` starts ``n = ceil((s_max + 1) / (s + 1) * eta**s)`` new archs (the paper's
  ``ceil(B / R * eta**s / (s + 1))`` with ``B = (s_max + 1) R``) at rung ``s_max - s``.
- Successive halving: when every trial of a rung is told, the top ``max(1, floor(n_i / eta))`` by the
  first objective's score (``n_i``: the trials at that rung) are re-evaluated at the next rung, until
  the top rung. Failed trials score -inf and are never promoted, so a rung may promote fewer (and a
  bracket whose trials all failed ends early). Ties keep the order in which results were told.
- With ``eta = 3`` and three rungs (1, 3, 9) the brackets are 9-3-1, 5-1 and 3 (the paper's table).

The paper's rung ``r_i = R eta**(i - s_max)`` becomes ladder index ``i``: the rungs are the study's
fidelity ladder ``self.fidelities`` (e.g. 12 and 200 epochs for NAS-Bench-201 on CIFAR-10), restricted
to ``[min_fidelity, max_fidelity]`` when given, so consecutive rungs need not differ by ``eta`` (12 ->
200 is x16.7); ``eta`` still sets the bracket sizes and the promoted fraction. When the estimator
offers no ladder (it accepts any fidelity), the paper's geometric ladder is built:
``r_i = max_fidelity / eta**(s_max - i)`` with ``s_max = floor(log_eta(max_fidelity / min_fidelity))``,
so the top rung is exactly ``max_fidelity`` (rungs may be fractional). A one-rung ladder gives brackets
of one new arch each: random search at that fidelity (with replacement).

A promoted arch is evaluated again at the higher fidelity and the estimator charges the full cost of
that fidelity (no training is resumed). On NB201/CIFAR-10 a 200-epoch trial costs ~16x a 12-epoch one,
so under the 12,000 s protocol Hyperband runs few trials; ``--set strategy.eta=16`` (~ the rung ratio)
samples more at 12 epochs, ``--set strategy.max_fidelity=12`` keeps one rung (random search at 12
epochs; for BOHB: TPE at 12 epochs) and ``--set strategy.min_fidelity=200`` only the top one.

Asks may run ahead of tells (``ask(n)`` with ``n > 1``, asynchronous workers): when the open brackets
have nothing to ask until results arrive, the next bracket starts (BOHB's parallel scheme does the
same), so an ask never returns fewer than ``n`` trials. New archs within a bracket are distinct.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.result import Result
from archsearch.core.strategy import Strategy, TrialRequest

# -- defaults in one visible block --------------------------------------------------------------
DEFAULT_ETA = 3  # the paper's (and BOHB's) halving rate
MAX_SAMPLE_TRIES = 1000  # draws to find an arch not yet in the bracket before accepting a repeat
LOG_TOLERANCE = 1e-9  # for floor(log_eta(...)) on exact powers


def bracket_size(s: int, s_max: int, eta: float) -> int:
    """New archs that bracket ``s`` starts: ``ceil((s_max + 1) / (s + 1) * eta**s)``, computed exactly."""
    return math.ceil(Fraction(s_max + 1, s + 1) * Fraction(eta) ** s)


def promoted_count(n: int, eta: float) -> int:
    """How many of ``n`` trials a rung promotes: ``max(1, floor(n / eta))``."""
    return max(1, math.floor(Fraction(n) / Fraction(eta)))


def bracket_schedule(num_rungs: int, eta: float) -> list[list[int]]:
    """Trials per rung of each bracket ``s = s_max .. 0`` when nothing fails (the paper's table)."""
    s_max = num_rungs - 1
    schedule = []
    for s in range(s_max, -1, -1):
        sizes = [bracket_size(s, s_max, eta)]
        while len(sizes) < s + 1:
            sizes.append(promoted_count(sizes[-1], eta))
        schedule.append(sizes)
    return schedule


def geometric_ladder(min_fidelity: float, max_fidelity: float, eta: float) -> tuple[float, ...]:
    """The paper's rungs ``max / eta**k`` for ``k = s_max .. 0``, all at least ``min_fidelity``."""
    s_max = math.floor(math.log(max_fidelity / min_fidelity) / math.log(eta) + LOG_TOLERANCE)
    return tuple(float(max_fidelity) / eta ** (s_max - i) for i in range(s_max + 1))


@dataclass
class Bracket:
    """One run of successive halving: its current rung, what it still has to ask, what it was told."""

    id: int
    s: int
    rung: int  # index into the ladder
    target: int  # trials at the current rung
    to_sample: int  # new archs still to draw (first rung only)
    queue: list[Arch] = field(default_factory=list)  # promoted archs not yet asked
    results: list[tuple[Arch, float]] = field(default_factory=list)  # told at the current rung
    keys: set[str] = field(default_factory=set)  # archs drawn in this bracket

    def to_state(self) -> dict[str, Any]:
        return {"id": self.id, "s": self.s, "rung": self.rung, "target": self.target, "to_sample": self.to_sample,
                "queue": [dict(a) for a in self.queue], "keys": sorted(self.keys),
                "results": [[dict(a), _score_to_json(score)] for a, score in self.results]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "Bracket":
        return cls(int(state["id"]), int(state["s"]), int(state["rung"]), int(state["target"]),
                   int(state["to_sample"]), [Arch(a) for a in state["queue"]],
                   [(Arch(a), _score_from_json(score)) for a, score in state["results"]], set(state["keys"]))


def _score_to_json(score: float) -> float | None:
    return score if math.isfinite(score) else None


def _score_from_json(score: float | None) -> float:
    return -math.inf if score is None else float(score)


class Hyperband(Strategy):
    """Hyperband brackets of successive halving over the study's fidelity ladder."""

    name = "hyperband"
    multi_fidelity = True
    supports_warm_start = False  # its brackets sample their own archs at each rung

    def __init__(self, eta: float = DEFAULT_ETA, min_fidelity: float | None = None,
                 max_fidelity: float | None = None) -> None:
        if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not math.isfinite(eta) or eta <= 1:
            raise UserError(f"{self.name}: eta must be a number above 1, got {eta!r}")
        for option, value in (("min_fidelity", min_fidelity), ("max_fidelity", max_fidelity)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value) or value <= 0):
                raise UserError(f"{self.name}: {option} must be a positive number, got {value!r}")
        if min_fidelity is not None and max_fidelity is not None and min_fidelity > max_fidelity:
            raise UserError(f"{self.name}: min_fidelity ({min_fidelity}) exceeds max_fidelity ({max_fidelity})")
        self.eta, self.min_fidelity, self.max_fidelity = eta, min_fidelity, max_fidelity
        self.ladder: tuple[float, ...] = ()
        self._reset()

    def _reset(self) -> None:
        self._brackets: list[Bracket] = []
        self._pending: list[tuple[int, int, Arch]] = []  # (bracket id, rung, arch) asked, not yet told
        self._opened = 0  # brackets started so far (the next s follows from it)

    def setup(self) -> None:
        self.ladder = self._build_ladder()
        self._reset()

    def _build_ladder(self) -> tuple[float, ...]:
        low, high = self.min_fidelity, self.max_fidelity
        if self.fidelities:
            rungs = tuple(f for f in self.fidelities if (low is None or f >= low) and (high is None or f <= high))
            if not rungs:
                raise UserError(f"{self.name}: no fidelity of the study's ladder {list(self.fidelities)} lies in "
                                f"[{low}, {high}] (strategy.min_fidelity, strategy.max_fidelity)")
            return rungs
        if low is None or high is None:
            raise UserError(f"{self.name}: the estimator offers no fidelity ladder; set strategy.min_fidelity and "
                            "strategy.max_fidelity (e.g. 1 and 27 epochs) to build a geometric one with ratio eta")
        return geometric_ladder(low, high, self.eta)

    @property
    def s_max(self) -> int:
        return len(self.ladder) - 1

    # -- ask ------------------------------------------------------------------------------------
    def ask(self, n: int = 1) -> list[Arch]:
        return [request.arch for request in self.ask_trials(n)]

    def ask_trials(self, n: int = 1) -> list[TrialRequest]:
        return [self._next_trial() for _ in range(n)]

    def _next_trial(self) -> TrialRequest:
        for bracket in self._brackets:  # the oldest bracket with something to ask goes first
            arch = self._draw(bracket)
            if arch is not None:
                break
        else:  # every open bracket waits for results: start the next one
            bracket = self._open_bracket()
            arch = self._draw(bracket)
            assert arch is not None  # a new bracket has archs to sample
        self._pending.append((bracket.id, bracket.rung, arch))
        return TrialRequest(arch, self.ladder[bracket.rung])

    def _open_bracket(self) -> Bracket:
        s = self.s_max - self._opened % (self.s_max + 1)
        size = bracket_size(s, self.s_max, self.eta)
        bracket = Bracket(self._opened, s, self.s_max - s, size, size)
        self._opened += 1
        self._brackets.append(bracket)
        return bracket

    def _draw(self, bracket: Bracket) -> Arch | None:
        if bracket.queue:
            return bracket.queue.pop(0)
        if bracket.to_sample <= 0:
            return None
        bracket.to_sample -= 1
        arch = self._sample_new(bracket.keys)
        bracket.keys.add(arch.key())
        return arch

    def _sample_new(self, taken: set[str]) -> Arch:
        """A new arch for a bracket's first rung: uniform, avoiding ``taken`` keys (BOHB overrides)."""
        return self.space.sample_unseen(self.rng, lambda arch: arch.key() in taken, MAX_SAMPLE_TRIES)

    # -- tell -----------------------------------------------------------------------------------
    def tell(self, results: Sequence[Result]) -> None:
        for result in results:
            score = self.score(result)
            entry = self._match_pending(result)
            if entry is None:  # not asked by this strategy: only a model may learn from it
                if result.fidelity in self.ladder and self.space.is_valid(result.arch):
                    self._observe(self.ladder.index(result.fidelity), result.arch, score)
                continue
            bracket_id, rung, arch = entry
            self._observe(rung, arch, score)
            bracket = next(b for b in self._brackets if b.id == bracket_id)
            bracket.results.append((arch, score))
            if len(bracket.results) >= bracket.target:
                self._advance(bracket)

    def _match_pending(self, result: Result) -> tuple[int, int, Arch] | None:
        """The pending ask this result answers: same arch, at the same fidelity when one matches."""
        same_arch = [i for i, (_, _, arch) in enumerate(self._pending) if arch == result.arch]
        if not same_arch:
            return None
        at_fidelity = [i for i in same_arch if self.ladder[self._pending[i][1]] == result.fidelity]
        return self._pending.pop((at_fidelity or same_arch)[0])

    def _observe(self, rung: int, arch: Arch, score: float) -> None:
        """Hook: a result at ``rung`` (BOHB keeps it for its model; Hyperband needs nothing)."""

    def _advance(self, bracket: Bracket) -> None:
        """Successive halving: promote the top ``max(1, floor(n / eta))`` ok trials, or end the bracket."""
        ranked = sorted((r for r in bracket.results if math.isfinite(r[1])), key=lambda r: -r[1])
        promoted = [arch for arch, _ in ranked[:promoted_count(len(bracket.results), self.eta)]]
        if bracket.rung >= self.s_max or not promoted:
            self._brackets.remove(bracket)
            return
        bracket.rung += 1
        bracket.target, bracket.queue, bracket.results = len(promoted), promoted, []

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["ladder"] = list(self.ladder)
        state["opened"] = self._opened
        state["brackets"] = [b.to_state() for b in self._brackets]
        state["pending"] = [[bracket_id, rung, dict(arch)] for bracket_id, rung, arch in self._pending]
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if [float(f) for f in state["ladder"]] != list(self.ladder):
            raise UserError(f"{self.name}: the saved state uses the fidelity ladder {state['ladder']}, "
                            f"this study offers {list(self.ladder)}")
        super().load_state_dict(state)
        self._opened = int(state["opened"])
        self._brackets = [Bracket.from_state(b) for b in state["brackets"]]
        self._pending = [(int(b), int(r), Arch(a)) for b, r, a in state["pending"]]
