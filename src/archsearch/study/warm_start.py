"""Warm start across datasets: another stored study (same space, e.g. CIFAR-10) as the prior of a new one
(e.g. CIFAR-100) — "learning from prior evaluations" (Elsken, Metzen & Hutter, JMLR 2019, Sec. 5;
Wistuba, Rawat & Pedapati 2019, Sec. 6). ``--warm-start NAME`` reads NAME's trials and final strategy
checkpoint from the store and hands them to the fresh strategy (``Strategy.use_prior``): regularized
evolution and local search evaluate its best archs first (as their initial population / first seeds),
BANANAS also pre-trains its predictor on all its results, REINFORCE starts from its final controller when
NAME was a REINFORCE search. Strategies that sample their own archs (Hyperband, BOHB, one-shot) refuse.
"""

from __future__ import annotations

from typing import Any

from archsearch.core.errors import UserError
from archsearch.core.strategy import Prior
from archsearch.store.base import Store, stored_result


def load_prior(config: Any, store: Store, strategy: Any) -> Prior | None:
    """The prior named by ``config.warm_start`` (None without one); UserError when it cannot serve."""
    if config.warm_start is None:
        return None
    if not strategy.supports_warm_start:
        raise UserError(f"strategy {strategy.name!r} cannot use a warm start (--warm-start): it samples its own "
                        f"archs; use regularized-evolution, local-search, bananas, reinforce, random or nsga2")
    source = store.get_experiment(config.warm_start)  # UserError when there is none
    if source.config.get("space") != config.space:
        raise UserError(f"--warm-start {config.warm_start!r} searched space {source.config.get('space')!r}, "
                        f"this search {config.space!r}: a prior must come from the same space")
    if (source.config.get("space_options") or {}) != (getattr(config, "space_options", None) or {}):
        raise UserError(f"--warm-start {config.warm_start!r} searched another {config.space!r} space (its "
                        f"definition differs): a prior must come from the same space")
    results = tuple(stored_result(trial) for trial in store.trials(source.id))
    if not any(result.ok for result in results):
        raise UserError(f"--warm-start {config.warm_start!r} has no successful trial to learn from")
    checkpoint = store.checkpoint(source.id)
    where = f"{config.warm_start!r}, {source.config.get('dataset')}"
    return Prior(results, str(source.config.get("strategy")), None if checkpoint is None else checkpoint.state, where)
