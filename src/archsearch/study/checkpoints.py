"""Checkpoints and replay. Each trial is committed with the strategy's state after its tell and the next ask,
and the requests then in flight; ``restore`` loads that state on resume, so the requests in flight run again
before anything new is asked (the strategy's RNG is part of its state): a killed driver loses no trial and
counts none twice. ``replay`` serves stores of the batch era (a crash inside a batch, no checkpoint of it):
the resumed strategy asks the batch again and is told the stored trials in their stored order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from archsearch.core.errors import UserError
from archsearch.core.strategy import Strategy, TrialRequest
from archsearch.store.base import StrategyCheckpoint, TrialRecord, stored_result


def restore(name: str, checkpoint: StrategyCheckpoint | None, trials: Sequence[TrialRecord],
            strategy: Strategy) -> tuple[list[TrialRecord], list[dict[str, Any]]]:
    """Load the strategy's state; return the stored trials it has not been told (to replay) and the trials
    that were in flight. Without a checkpoint (killed inside the first batch) every trial is replayed."""
    if checkpoint is None:
        return list(trials), []
    if checkpoint.trial_count > len(trials):
        raise UserError(f"store {name!r} is inconsistent: checkpoint after {checkpoint.trial_count} trials, "
                        f"{len(trials)} trials stored")
    try:
        strategy.load_state_dict(checkpoint.state)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise UserError(f"the strategy checkpoint of {name!r} is corrupt ({type(exc).__name__}: {exc})") from None
    return list(trials[checkpoint.trial_count:]), list(checkpoint.pending)


def replay(name: str, unreplayed: Sequence[TrialRecord], requests: Sequence[TrialRequest], strategy: Strategy,
           fidelity: Callable[[TrialRequest], float | None]) -> list[TrialRequest]:
    """Tell the stored trials of an interrupted batch in their stored order; return the requests left."""
    left = list(requests)
    for trial in unreplayed:
        match = next((r for r in left if dict(r.arch) == trial.arch
                      and fidelity(r) in (None, trial.fidelity)), None)  # None: the estimator's own
        if match is None:
            raise UserError(f"store of {name!r} is inconsistent: trial {trial.number} was not asked "
                            f"by the resumed strategy (was the code or the config changed?)")
        left.remove(match)
        strategy.tell([stored_result(trial)])
    return left
