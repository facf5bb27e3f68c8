"""A study's records: the progress it reports, the best trial by the goal, and the trial record a result
becomes before it is committed."""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archsearch.core.arch import Arch, ArchText
from archsearch.core.objectives import Goal, Objective
from archsearch.core.result import Result
from archsearch.core.space import SearchSpace
from archsearch.store.base import EpochRecord, TrialRecord, stored_result

REASON_CHARS = 120  # a failure reason shortened to this many characters in tables and summaries


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


def study_cost(trials: Sequence[TrialRecord], epochs: Sequence[EpochRecord]) -> float:
    """A study's cost, the one definition every report uses: its trials' cost plus the seconds of its one-shot
    epochs and its pre-ranking (the supernet's training is part of what the search spent)."""
    return float(sum(t.cost for t in trials) + sum(e.seconds for e in epochs))


def short_reason(error: str | None, limit: int = REASON_CHARS) -> str:
    """A failure reason on one line, cut to ``limit`` characters (``...`` marks the cut)."""
    text = " ".join((error or "no reason recorded").split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def failure_reasons(trials: Sequence[TrialRecord]) -> list[tuple[str, int]]:
    """The failed trials grouped by the kind of their reason (the reason with its hashes, numbers and quoted
    values masked), each with the first reason of its kind (shortened) and a count, the most frequent first."""
    counts: Counter[str] = Counter()
    example: dict[str, str] = {}
    for trial in trials:
        if trial.status == "failed":
            kind = _reason_kind(" ".join((trial.error or "").split()))  # the whole reason: a cut would split kinds
            counts[kind] += 1
            example.setdefault(kind, short_reason(trial.error))
    return [(example[kind], count) for kind, count in counts.most_common()]


def _reason_kind(reason: str) -> str:
    masked = re.sub(r"\{[^{}]*\}|'[^']*'|\"[^\"]*\"|\|\S*\|", "'…'", reason)  # JSON archs, quoted values, arch strings
    return re.sub(r"\b[0-9a-f]{8,}\b|[-+]?\d+(\.\d+)?(e[-+]?\d+)?", "#", masked)


def with_arch_text(trial: TrialRecord, space: SearchSpace) -> TrialRecord:
    """``trial`` whose ``arch`` prints as the space's string (an ``ArchText``; still the stored dict)."""
    try:
        text = space.format(Arch(trial.arch))
    except (KeyError, TypeError, ValueError):  # an arch the space no longer reads: keep the dict's own text
        text = str(Arch(trial.arch))
    return dataclasses.replace(trial, arch=ArchText(trial.arch, text))


def trials_dataframe(trials: Sequence[TrialRecord], space: SearchSpace) -> Any:
    """The trials as a pandas DataFrame, one row per trial (as Optuna's ``trials_dataframe``): number, arch (the
    space's string), status, fidelity, cost, one column per metric (``metric_<name>``), error, started, finished
    (as timestamps) and the arch's dims (``arch_<dim>``)."""
    import pandas as pd

    rows = []
    for trial in trials:
        row: dict[str, Any] = {"number": trial.number, "arch": str(with_arch_text(trial, space).arch),
                               "status": trial.status, "fidelity": trial.fidelity, "cost": trial.cost}
        row.update({f"metric_{name}": value for name, value in trial.metrics.items()})
        row.update({"error": trial.error, "started": trial.started, "finished": trial.finished})
        row.update({f"arch_{dim}": choice for dim, choice in trial.arch.items()})
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in ("started", "finished"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], unit="s")
    return frame.set_index("number") if rows else frame


@dataclass(frozen=True)
class StoredBest:
    """The best trial of a stored experiment with what rebuilds its network: the space (with its options), the
    arch validated by it, the experiment's config and the estimator's network options (None: the space's own)."""

    trial: TrialRecord
    space: SearchSpace
    arch: Arch
    config: dict[str, Any]
    net: dict[str, Any] | None


def _table_net(config: dict[str, Any]) -> dict[str, Any] | None:
    """The network options the rows of the study's benchmark table were trained with (a built table records
    them); ``None`` without a table, or when the table no longer loads (the space's default network then)."""
    from archsearch.benchmarks import load_benchmark
    from archsearch.core.errors import UserError

    if not config.get("benchmark"):
        return None
    try:
        return load_benchmark(config["benchmark"]).network_options() or None
    except UserError:
        return None


def stored_best(store: Any, name: str) -> StoredBest:
    """The best trial (by the experiment's goal) of experiment ``name``; UserError when it has none."""
    from archsearch.config import StudyConfig
    from archsearch.core.errors import UserError
    from archsearch.spaces import space_from_config

    experiment = store.get_experiment(name)
    config = experiment.config
    goal = StudyConfig.from_mapping({k: v for k, v in config.items() if k in ("objective", "constraint", "reward")})
    best = best_trial(store.trials(experiment.id), goal.goal())
    if best is None:
        raise UserError(f"experiment {name!r} has no successful trial yet")
    space = space_from_config(config)
    net = dict(config.get("estimator_options", {})).get("net") or _table_net(config)
    return StoredBest(best, space, space.validate(best.arch), dict(config), None if net is None else dict(net))
