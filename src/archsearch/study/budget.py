"""What a resume may change, and whether a finished study has anything left to do.

A resume may change where a study runs (``RUNTIME_KEYS``) and its budget (``max_trials``, ``budget_seconds``),
never what it searches. A study's strategy never sees its budget: the budget only decides when the study stops
asking. So a study resumed with a new budget asks what a study given that budget from the start would have
asked, as long as the new budget is not below what the study already did (trials done or asked, cost spent):
a finished or stopped study extended with a larger budget, or a stopped one given a smaller one, has the
history of a study given that budget from the start (serial executor). ``nothing_left`` tells from the store
alone, before anything is built or loaded, that a finished study's budget leaves it nothing to do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from archsearch.config import RUNTIME_KEYS, StudyConfig
from archsearch.core.errors import UserError
from archsearch.core.options import check_count, check_positive
from archsearch.store.base import ExperimentRecord, Store
from archsearch.study.records import study_cost

BUDGET_FLAGS = {"max_trials": "--max-trials", "budget_seconds": "--budget-seconds"}


@dataclass(frozen=True)
class NothingLeft:
    """Why a finished study's budget leaves it nothing to do: in the API's terms and in the CLI's (flags)."""

    message: str
    cli: str


@dataclass(frozen=True)
class Spent:
    """What a stored study has done: trials committed, trials asked and in flight, seconds of cost."""

    trials: int
    in_flight: int
    seconds: float

    @classmethod
    def of(cls, experiment: ExperimentRecord, store: Store) -> "Spent":
        trials = store.trials(experiment.id)
        checkpoint = store.checkpoint(experiment.id)
        pending = len(checkpoint.pending) if checkpoint is not None else 0
        return cls(len(trials), pending, study_cost(trials, store.epochs(experiment.id)))


def set_budget(config: StudyConfig, spent: Spent, max_trials: int | None = None,
               budget_seconds: float | None = None) -> bool:
    """Give ``config`` the budgets given; whether one changed. A UserError for a budget below what the study
    already did (fewer trials than done and in flight, fewer seconds than spent)."""
    changed = False
    if max_trials is not None:
        max_trials = check_count("max_trials", max_trials, minimum=1)
        if max_trials < spent.trials + spent.in_flight:
            flight = f" and {spent.in_flight} in flight" if spent.in_flight else ""
            problem = f"{max_trials} is below the {spent.trials} trials {config.name!r} has done{flight}"
            raise UserError(f"max_trials {problem}", cli=f"--max-trials {problem}")
        changed, config.max_trials = max_trials != config.max_trials, max_trials
    if budget_seconds is not None:
        budget_seconds = check_positive("budget_seconds", budget_seconds)
        if budget_seconds < spent.seconds:
            problem = f"{_number(budget_seconds)} is below the {spent.seconds:,.0f} s of cost {config.name!r} has spent"
            raise UserError(f"budget_seconds {problem}", cli=f"--budget-seconds {problem}")
        changed |= budget_seconds != config.budget_seconds
        config.budget_seconds = budget_seconds
    return changed


def stored_budget(experiment: ExperimentRecord, config: StudyConfig) -> dict[str, Any]:
    """The stored config with ``config``'s budgets (what a resume that changed them records)."""
    return {**experiment.config, "max_trials": config.max_trials, "budget_seconds": config.budget_seconds}


def resumed_config(experiment: ExperimentRecord, store: Store, runtime: dict[str, Any] | None = None,
                   max_trials: int | None = None, budget_seconds: float | None = None) -> tuple[StudyConfig, bool]:
    """The stored config with ``runtime``'s changes (``RUNTIME_KEYS`` only) and the budgets given, validated;
    and whether a budget changed (UserError for anything else)."""
    config = StudyConfig.from_mapping({**experiment.config, "name": experiment.name})
    for key, value in (runtime or {}).items():
        if key not in RUNTIME_KEYS:
            hint = f"; give a budget as {key}=..." if key in BUDGET_FLAGS else ""
            raise UserError(f"resume cannot change {key!r}; only {', '.join(RUNTIME_KEYS)}{hint}")
        config.set(key, value)
    changed = False
    if max_trials is not None or budget_seconds is not None:
        changed = set_budget(config, Spent.of(experiment, store), max_trials, budget_seconds)
    config.validate()
    return config, changed


def nothing_left(name: str, store: Store, runtime: dict[str, Any] | None = None, *, max_trials: int | None = None,
                 budget_seconds: float | None = None) -> NothingLeft | None:
    """What ``Study.resume`` with these arguments would leave to do, read from the store only: a
    ``NothingLeft`` when the experiment is finished and the budget (given or stored) is spent; else None. The
    same UserErrors as ``Study.resume`` for a missing experiment or a change it refuses."""
    experiment = store.get_experiment(name)
    config, _ = resumed_config(experiment, store, runtime, max_trials, budget_seconds)
    if experiment.status != "finished":
        return None
    spent = Spent.of(experiment, store)
    done = f"finished {name!r}: {spent.trials} trials, {spent.seconds:,.0f} s of cost spent"
    checkpoint = store.checkpoint(experiment.id)
    state = checkpoint.state if checkpoint is not None else {}
    derived = state.get("derived") if state.get("searched") else None  # a one-shot search's derived archs
    if isinstance(derived, list) and int(state.get("handed", 0)) >= len(derived):
        text = (f"{done}; its one-shot search has handed out all {len(derived)} derived archs, so a larger "
                "budget cannot extend it")
        return NothingLeft(text, text)
    reached = []  # (budget key, what was spent of it, the value to exceed)
    if config.max_trials is not None and spent.trials >= config.max_trials:
        reached.append(("max_trials", f"{spent.trials}/{config.max_trials} trials", float(spent.trials)))
    if derived is None and config.budget_seconds is not None and spent.seconds >= config.budget_seconds:
        reached.append(("budget_seconds", f"{spent.seconds:,.0f}/{config.budget_seconds:,.0f} s of cost",
                        spent.seconds))
    if not reached:
        return None
    done += f": its budget is spent ({', '.join(text for _, text, _ in reached)}); give "
    api = " and ".join(f"{key} > {_number(value)}" for key, _, value in reached)
    cli = " and ".join(f"{BUDGET_FLAGS[key]} {'N' if key == 'max_trials' else 'S'} > {_number(value)}"
                       for key, _, value in reached)
    return NothingLeft(f"{done}{api} to extend it", f"{done}{cli} to extend it")


def _number(value: float) -> str:
    """``value`` as text: a whole number without decimals, else rounded up to hundredths."""
    return str(int(value)) if float(value).is_integer() else str(math.ceil(value * 100) / 100)
