"""Few-shot supernets (Zhao et al. 2021) and loss ranking of RS-WS: every candidate scored by the copy of its own
option, the split copies trained from the shared state on their option alone, the options checked."""

from __future__ import annotations

import numpy as np
import pytest

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.objectives import Objective
from archsearch.core.registry import SPACES, STRATEGIES
from archsearch.core.result import EpochKind
from archsearch.estimators.supernet import OneShotSearch

NET = {"channels": 4, "cells_per_stage": 1}


def engine_with(**options: object) -> OneShotSearch:
    space = SPACES.create("nb201")
    strategy = STRATEGIES.create("rsws", batch_size=64, fraction=0.2, net=dict(NET), **{"epochs": 2, **options})
    strategy.bind(space, [Objective("valid_acc", "max")], np.random.default_rng(0))
    return OneShotSearch(space, strategy, "digits", seed=0, device="cpu")


def test_split_copies_train_on_their_option_and_score_its_candidates() -> None:
    engine = engine_with(candidates=6, split="edge_0_3", split_epochs=1, rank_by="loss")
    trained: list[Arch] = []
    sample = engine.strategy.weight_paths
    engine.strategy.weight_paths = lambda *a: trained.append(sample(*a)) or trained[-1]  # type: ignore[method-assign]
    records: list = []
    ranked = engine.run(records.append)
    steps = engine._steps_per_epoch()
    copies = [r for r in records if r.kind == EpochKind.SPLIT]
    assert [r.kind for r in records].count(EpochKind.EPOCH) == 1 and records[-1].kind == EpochKind.RANKING
    assert [r.arch["edge_0_3"] for r in copies] == list(dict.fromkeys(a["edge_0_3"] for a in ranked_in_draw_order(
        records[-1], ranked)))
    assert len({a["edge_0_3"] for a in trained[:steps]}) > 1  # the shared epoch sampled every option
    for number, record in enumerate(copies):  # each copy sampled only archs with its own option
        assert {a["edge_0_3"] for a in trained[steps * (number + 1):steps * (number + 2)]} == {record.arch["edge_0_3"]}
        assert record.epoch == number
    scores = [score for _, score in records[-1].ranking]
    assert scores == sorted(scores, reverse=True) and all(s < 0 for s in scores)  # minus the mean loss
    assert engine.strategy.fixed == {} and engine.epoch == 2


def ranked_in_draw_order(record, ranked: list[Arch]) -> list[Arch]:  # type: ignore[no-untyped-def]
    """The candidates in the order they were drawn (the split copies are made in first-seen order)."""
    engine = engine_with(candidates=6, split="edge_0_3", split_epochs=1, rank_by="loss")
    engine.train_epoch()
    drawn = engine.strategy.candidates()
    assert sorted(map(str, drawn)) == sorted(map(str, ranked)) == sorted(str(Arch(a)) for a, _ in record.ranking)
    return drawn


def test_each_candidate_is_scored_by_the_copy_of_its_option() -> None:
    """Retraining the last epoch from the shared state with the candidate's option fixed gives its score again."""
    engine = engine_with(candidates=4, split="edge_0_3", split_epochs=1, bn_batches=2)
    records: list = []
    engine.run(records.append)
    for arch, score in records[-1].ranking[:2]:
        engine.epoch = 1  # the weights, generators and strategy state are the shared ones after the run
        state = engine.state()
        engine.strategy.fixed = {"edge_0_3": arch["edge_0_3"]}
        engine.train_epoch()
        assert engine.shared_score(Arch(arch)) == pytest.approx(score, abs=1e-9)
        engine.strategy.fixed = {}
        engine.load(state)


@pytest.mark.parametrize("options, message", [
    ({"split": "edge_0_3"}, "split_epochs"), ({"split_epochs": 1}, "split=DIM"),
    ({"split": "edge_0_3", "split_epochs": 2}, "split_epochs < epochs"), ({"rank_by": "top1"}, "rank_by"),
])
def test_bad_split_options_are_user_errors(options: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        STRATEGIES.create("rsws", epochs=2, **options)


def test_unknown_split_dim_names_the_space() -> None:
    with pytest.raises(UserError, match="did you mean 'edge_0_3'"):
        engine_with(split="edge_03", split_epochs=1)


def test_warmup_epochs_freeze_the_logits_then_let_them_learn() -> None:
    """PC-DARTS-style warm-up: weight steps only for the first epochs (logits unchanged), then bilevel steps."""
    space = SPACES.create("nb201")
    strategy = STRATEGIES.create("gdas", epochs=2, warmup_epochs=1, batch_size=64, fraction=0.2, net=dict(NET),
                                 hessian_every=0)
    strategy.bind(space, [Objective("valid_acc", "max")], np.random.default_rng(0))
    engine = OneShotSearch(space, strategy, "digits", seed=0, device="cpu")
    initial = {k: v.detach().clone() for k, v in engine.logits.items()}
    weights = [p.detach().clone() for p in engine.supernet.parameters()]
    engine.train_epoch()
    assert all(bool((engine.logits[k] == initial[k]).all()) for k in initial)
    assert any(not bool((p == w).all()) for p, w in zip(engine.supernet.parameters(), weights))
    engine.train_epoch()
    assert any(not bool((engine.logits[k] == initial[k]).all()) for k in initial)
    with pytest.raises(UserError, match="warmup_epochs"):
        STRATEGIES.create("darts", epochs=2, warmup_epochs=2)
