"""A study's records: the progress it reports, the best trial by the goal, and the trial record a result
becomes before it is committed."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from archsearch.core.objectives import Goal, Objective
from archsearch.core.result import Result
from archsearch.store.base import TrialRecord, stored_result


@dataclass(frozen=True)
class Progress:
    trials: int
    cost_spent: float
    failed: int
    best_value: float  # raw value of the first objective's metric (nan before the first ok trial)
    budget_seconds: float | None
    max_trials: int | None


def best_trial(trials: Sequence[TrialRecord], goal: Goal | Objective) -> TrialRecord | None:
    """The ok (and feasible) trial with the best score (the earliest on ties): the reward when the goal has
    one, else its first objective."""
    best, best_score = None, -math.inf
    for trial in trials:
        score = trial_score(trial, goal)
        if score > best_score:
            best, best_score = trial, score
    return best


def trial_score(trial: TrialRecord, goal: Goal | Objective) -> float:
    """``Goal.score`` of a stored trial: higher is better, -inf when failed, missing or infeasible."""
    return goal.score(stored_result(trial))


def trial_record(number: int, result: Result, started: float) -> TrialRecord:
    """The record of trial ``number`` that produced ``result`` (submitted at wall clock ``started``)."""
    return TrialRecord(number, dict(result.arch), result.fidelity, result.status, dict(result.metrics),
                       float(result.cost_seconds), result.error, started, time.time(),
                       {name: list(values) for name, values in result.curves.items()})
