"""archsearch.meta_search.experiment: a meta-search as a stored experiment (tiny settings, an in-memory store)."""

from __future__ import annotations

import pytest
import torch

from archsearch.core.errors import UserError
from archsearch.meta_search import (KIND, MetaSearchSettings, load_meta_architecture, prepare_meta_search,
                                    run_meta_search, settings_from_options)
from archsearch.store.memory import InMemoryStore

TINY = {"channels": 4, "stages": 2, "meta_batch": 1, "queries": 1, "test_steps": 1, "finetune_steps": 1}


def test_a_meta_search_stores_its_checkpoints_and_finishes() -> None:
    store, lines = InMemoryStore(), []
    result = run_meta_search(store, settings_from_options("tnas", 5, 1, TINY), name="m", iterations=3,
                             checkpoint_every=2, val_every=0, say=lines.append)
    experiment = store.get_experiment("m")
    assert experiment.status == "finished" and experiment.config["kind"] == KIND
    assert experiment.config["settings"]["channels"] == 4 and experiment.config["iterations"] == 3
    epochs = store.epochs(experiment.id)
    assert [(e.kind, e.epoch) for e in epochs] == [("meta", 1), ("meta", 2)]  # every 2 steps and the last
    assert epochs[-1].arch == result.arch and set(epochs[0].metrics) == {"loss"}
    assert lines[0].startswith("meta-search 'm': tnas (nb201 cells, 4 channels) on omniglot 5-way 1-shot, 3 iterations x 1 tasks")
    assert lines[1].startswith("[m] step 2/3: loss") and "; arch |" in lines[1] and len(lines) == 3
    assert result.iterations == 3 and len(result.history.losses) == 3 and result.seconds >= 0
    restored = load_meta_architecture(store, "m")
    for name, tensor in result.learner.state_dict().items():
        assert torch.equal(tensor, restored.state_dict()[name])


def test_a_meta_search_that_raises_is_marked_failed() -> None:
    store = InMemoryStore()

    def say(text: str) -> None:
        if text.startswith("[m]"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_meta_search(store, MetaSearchSettings(**TINY), name="m", iterations=2, checkpoint_every=1, val_every=0,
                        say=say)
    assert store.get_experiment("m").status == "failed"


@pytest.mark.parametrize("kwargs, message", [
    ({"iterations": 0}, "--iterations must be"),
    ({"checkpoint_every": 0}, "--checkpoint-every must be"),
    ({"seed": -1}, "--seed must be"),
    ({"val_episodes": 0}, "--val-episodes must be"),
    ({"dataset": "mini-imagenet"}, "unknown few-shot dataset 'mini-imagenet'"),
])
def test_bad_arguments_are_user_errors_before_any_work(kwargs: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        prepare_meta_search(MetaSearchSettings(**TINY), **kwargs)


def test_settings_from_options_checks_names_and_values() -> None:
    settings = settings_from_options("metanas", 3, 2, {"channels": 8})
    assert (settings.method, settings.ways, settings.shots, settings.channels) == ("metanas", 3, 2, 8)
    with pytest.raises(UserError, match="unknown meta-search setting 'colour'; settings: "):
        settings_from_options(options={"colour": 1})
    with pytest.raises(UserError, match="unknown meta-search setting 'ways'"):
        settings_from_options(options={"ways": 3})  # given on its own
    with pytest.raises(UserError, match="unknown meta-search method 'darts'"):
        settings_from_options("darts")


def test_the_default_name_and_the_config() -> None:
    search = prepare_meta_search(MetaSearchSettings(method="metanas", ways=3, **TINY), iterations=1)
    assert search.name.startswith("metanas-3w1s-") and search.config()["strategy"] == "metanas"
    assert search.train.ways == 3 and search.val.queries == 15


def test_load_meta_architecture_refuses_other_experiments() -> None:
    store = InMemoryStore()
    store.create_experiment("s", {"strategy": "random", "space": "nb201"}, 0)
    with pytest.raises(UserError, match="'s' is not a meta-search \\(it is a random search\\)"):
        load_meta_architecture(store, "s")
    store.create_experiment("empty", {"kind": KIND}, 0)
    with pytest.raises(UserError, match="has no stored meta-architecture yet"):
        load_meta_architecture(store, "empty")
