"""The phases a study runs before its trials: the one-shot supernet search of a strategy that ``requires`` a
supernet, and the warm starts of a fresh strategy (another study's history, a zero-cost pre-ranking). Each
commits what it computed (epochs with the engine state, the pre-ranking) so that a resume does not redo it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from archsearch.store.base import EpochRecord
from archsearch.study.components import one_shot_engine
from archsearch.study.prerank import rank_pool, top_archs
from archsearch.study.warm_start import load_prior

if TYPE_CHECKING:
    from archsearch.study.study import Study

Say = Callable[[str], None] | None


def search_supernet(study: "Study", on_epoch: Callable[[EpochRecord], None] | None, on_message: Say) -> None:
    """The one-shot phase: memory check, epochs (each committed with the engine state), hand-over of the
    derived archs to the strategy (the study's estimator evaluates them as trials)."""
    engine = study.take_engine() or one_shot_engine(study.config, study.components)
    if on_message is not None:
        on_message(f"one-shot search {engine.strategy.name}: {engine.memory.line(engine.recipe.batch_size)}")
    state = study.store.oneshot_state(study.experiment.id)
    if state is not None:
        engine.load(state)
    if on_message is not None:
        engine.on_progress = _progress_line(study.config.name, engine.recipe.epochs, on_message)

    def record(epoch: EpochRecord) -> None:
        blob = engine.state() if epoch.kind == "epoch" and study.store.persistent else None
        study.record_epoch(epoch, blob)
        if on_epoch is not None:
            on_epoch(epoch)

    study.components.strategy.finish(engine.run(record))


def _progress_line(name: str, epochs: int, say: Callable[[str], None]) -> Callable[[int, int, int, float], None]:
    def progress(epoch: int, step: int, steps: int, seconds: float) -> None:
        say(f"[{name}] epoch {epoch + 1}/{epochs}: batch {step}/{steps} ({step / steps:.0%}) in {seconds:.0f} s, "
            f"about {seconds * (steps - step) / step:.0f} s left")
    return progress


def warm_start_from_study(study: "Study", on_message: Say) -> None:
    """Hand another study's history to the fresh strategy (a resume without a checkpoint reloads it)."""
    prior = study.take_prior() or load_prior(study.config, study.store, study.components.strategy)
    done = study.components.strategy.use_prior(prior, study.config.warm_start_top)
    if on_message is not None:
        on_message(f"warm start from {prior.source} ({len(prior.results)} trials): {done}")


def warm_start_from_prerank(study: "Study", on_message: Say) -> None:
    """Score the pool once (stored), then hand its best to the fresh strategy."""
    record = next((e for e in study.epochs if e.kind == "prerank"), None)
    if record is None:
        record = rank_pool(study.config, study.components.space)
        study.record_epoch(record, None)
        if on_message is not None:
            on_message(f"pre-ranked {record.metrics['pool']:.0f} random archs by {study.config.prerank} in "
                       f"{record.seconds:.1f} s; the best {record.metrics['top']:.0f} start the search")
    study.components.strategy.warm_start(top_archs(record, study.config.prerank_top))
