"""archsearch.meta_search.meta_test: a baseline meta-trained and any learner meta-tested (tiny settings)."""

from __future__ import annotations

import pytest

from archsearch.core.errors import UserError
from archsearch.meta_search import BaselineRun, meta_test, meta_test_sampler, meta_train_baseline


def test_a_baseline_meta_trains_then_meta_tests() -> None:
    lines, steps = [], []
    trained = meta_train_baseline("protonet", 5, 1, queries=2, iterations=2, hidden=4, seed=1,
                                  say=lines.append, log=lambda step, loss, val: steps.append(step))
    assert isinstance(trained, BaselineRun) and steps == [1, 2]
    assert lines == ["meta-training protonet (60-way 1-shot, 5 queries per class) for 2 iterations on cpu"]
    summary = trained.summary()
    assert summary["baseline"] == "protonet" and summary["meta_iterations"] == 2
    assert summary["train_episode"] == [60, 1, 5] and summary["final_train_loss"] is not None
    tested = meta_test(trained.learner, 5, 1, queries=2, episodes=3, seed=1)
    assert tested.target == "meta-test alphabets, 5-way 1-shot, 2 queries per class"
    assert tested.report.episodes == 3 and 0 <= tested.report.mean_acc <= 1
    document = tested.as_dict(summary)
    assert document["baseline"] == "protonet" and document["evaluation"] == tested.target
    assert document["episodes"] == 3 and "accuracies" not in document


def test_meta_validation_and_the_one_shot_runs() -> None:
    trained = meta_train_baseline("maml", 20, 1, queries=1, iterations=1, meta_batch=1, hidden=4,
                                  validate_every=1, val_episodes=1)
    assert len(trained.history.validation) == 1
    tested = meta_test(trained.learner, 20, 1, one_shot_runs=True)
    assert "20 one-shot runs" in tested.target and tested.report.episodes == 20


def test_a_test_episode_the_split_cannot_give_is_a_user_error() -> None:
    with pytest.raises(UserError, match="need 107 classes"):
        meta_test_sampler(107, 1)
    with pytest.raises(UserError, match="unknown few-shot baseline"):
        meta_train_baseline("matching", 5, 1, iterations=0)
