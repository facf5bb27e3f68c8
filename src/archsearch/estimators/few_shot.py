"""Few-shot supernets (Zhao, Wang, Tian, Fonseca & Guo, ICML 2021, "Few-shot Neural Architecture Search").

One supernet shares its weights among all archs, so archs interfere; the paper splits it on one compound edge
into one sub-supernet per op of that edge. Each sub-supernet starts from the trained one-shot weights (the
paper's transfer learning, which it found as good as training each from scratch at a fraction of the cost)
and is trained only on archs with its op on that edge; an arch is scored by the sub-supernet of its own op.
On NB201 (CIFAR-10) the paper split one edge into 5 sub-supernets.

Here the engine (:class:`archsearch.estimators.supernet.OneShotSearch`) trains the shared supernet for the
first ``epochs - split_epochs`` epochs; then, for each option of the strategy's ``split_dim`` that a candidate
has, it reloads that state, fixes the option (``strategy.fixed``) and trains the last ``split_epochs`` epochs of
the same learning-rate schedule, then scores that option's candidates. The split phase is not checkpointed: a
resumed search restarts it from the shared state (which is the last stored epoch).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from archsearch.core.arch import Arch
from archsearch.core.result import EpochKind, EpochRecord

if TYPE_CHECKING:
    from archsearch.estimators.supernet import OneShotSearch

def split_and_score(engine: "OneShotSearch", candidates: Sequence[Arch],
                    on_epoch: Callable[[EpochRecord], None] | None = None) -> list[tuple[Arch, float]]:
    """Each candidate with its score from the sub-supernet of its own option of ``strategy.split_dim``."""
    strategy, dim = engine.strategy, engine.strategy.split_dim
    options = list(dict.fromkeys(arch[dim] for arch in candidates))  # first-seen order: deterministic
    shared_state, shared_epoch = engine.state(), engine.epoch
    scores: dict[int, float] = {}
    try:
        for number, option in enumerate(options):
            engine.load(shared_state)
            strategy.fixed = {dim: option}
            while engine.epoch < engine.recipe.epochs:
                record = engine.train_epoch()
                if on_epoch is not None:
                    on_epoch(_split_record(record, number, shared_epoch, engine.recipe.epochs, dim, option))
            for index, arch in enumerate(candidates):
                if arch[dim] == option:
                    scores[index] = engine.shared_score(arch)
    finally:
        strategy.fixed = {}
        engine.load(shared_state)
        engine.epoch = engine.recipe.epochs
    return [(arch, scores[index]) for index, arch in enumerate(candidates)]


def _split_record(record: EpochRecord, number: int, first: int, last: int, dim: str, option: Any) -> EpochRecord:
    """The copy's epoch record, numbered after the copies before it (records are keyed by kind and epoch)."""
    epoch = number * (last - first) + (record.epoch - first)
    metrics = {**record.metrics, "split_copy": float(number)}
    return EpochRecord(epoch, record.seconds, metrics, {dim: option}, EpochKind.SPLIT)
