"""Omniglot splits and episode sampling."""

from __future__ import annotations

import pytest
import torch

from archsearch.core.errors import UserError
from archsearch.fewshot import EpisodeSampler, load_omniglot, load_one_shot_runs, one_shot_episodes


def characters(split: str) -> set[str]:
    return {name.split("/rot")[0] for name in load_omniglot(split).class_names}


def test_split_sizes_and_rotations() -> None:
    train, val, test = (load_omniglot(s) for s in ("meta-train", "meta-val", "meta-test"))
    assert (train.num_classes, val.num_classes, test.num_classes) == (464, 20, 106)
    assert train.images.shape == (464 * 20, 1, 28, 28) and train.images.dtype == torch.uint8
    assert len(train.class_alphabets) == train.num_classes
    # class c + 116 is class c rotated by 90 degrees
    first = train.images[train.class_indices[0]]
    rotated = train.images[train.class_indices[116]]
    assert train.class_names[116] == train.class_names[0] + "/rot90"
    assert torch.equal(torch.rot90(first, 1, dims=(2, 3)), rotated)
    assert not any("/rot" in name for name in val.class_names + test.class_names)


def test_meta_test_alphabets_are_disjoint() -> None:
    train, val, test = (set(load_omniglot(s).class_alphabets) for s in ("meta-train", "meta-val", "meta-test"))
    assert not test & (train | val)
    assert val <= train  # meta-val holds out whole characters of the same alphabets
    assert not characters("meta-val") & characters("meta-train")


def test_unknown_split_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unknown Omniglot split"):
        load_omniglot("train")


def test_episode_labels_classes_and_determinism() -> None:
    dataset = load_omniglot("meta-test")
    sampler = EpisodeSampler(dataset, ways=5, shots=2, queries=3, seed=7)
    episode = sampler.episode(4)
    assert episode.support_x.shape == (10, 1, 28, 28) and episode.query_x.shape == (15, 1, 28, 28)
    assert episode.support_x.dtype == torch.float32 and 0 <= episode.support_x.min() <= episode.support_x.max() <= 1
    assert episode.support_y.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert episode.query_y.tolist() == [label for label in range(5) for _ in range(3)]
    # support and query images of label k come from the same dataset class, and the N classes differ
    assert len(set(episode.classes)) == 5
    for label, cls in enumerate(episode.classes):
        pool = dataset.images[dataset.class_indices[cls]].float() / 255
        for x in list(episode.support_x[episode.support_y == label]) + list(episode.query_x[episode.query_y == label]):
            assert any(torch.equal(x, image) for image in pool)
    # no image is both support and query
    flat = torch.cat([episode.support_x, episode.query_x]).flatten(1)
    assert len(torch.unique(flat, dim=0)) == len(flat)
    again = EpisodeSampler(dataset, 5, 2, 3, seed=7)
    assert torch.equal(again.episode(4).query_x, episode.query_x) and again.episode(4).classes == episode.classes
    assert sampler.episode(5).classes != episode.classes or not torch.equal(sampler.episode(5).query_x,
                                                                             episode.query_x)
    assert EpisodeSampler(dataset, 5, 2, 3, seed=8).episode(4).classes != episode.classes
    first = next(iter(sampler))
    assert torch.equal(first.support_x, sampler.episode(0).support_x)


def test_labels_are_a_random_relabelling() -> None:
    sampler = EpisodeSampler(load_omniglot("meta-train"), 5, 1, 1, seed=0)
    orders = {sampler.episode(i).classes for i in range(20)}
    assert any(list(c) != sorted(c) for c in orders)


@pytest.mark.parametrize("ways, shots, queries, match", [
    (107, 1, 1, "need 107 classes"), (5, 15, 6, "only 20 images"), (0, 1, 1, "ways must be"),
    (5, 0, 1, "shots must be"), (5, 1, -1, "queries must be"), (True, 1, 1, "ways must be")])
def test_sampler_errors(ways: int, shots: int, queries: int, match: str) -> None:
    with pytest.raises(UserError, match=match):
        EpisodeSampler(load_omniglot("meta-test"), ways, shots, queries)


def test_one_shot_runs() -> None:
    runs = load_one_shot_runs()
    assert len(runs) == 20
    for run in runs:
        assert run.train.shape == run.test.shape == (20, 1, 28, 28)
        assert sorted(run.answers.tolist()) == list(range(20))
    episode = one_shot_episodes()[0]
    assert episode.ways == 20 and episode.support_y.tolist() == list(range(20))
    assert episode.query_y.tolist()[:3] == [7, 8, 1]  # run01/class_labels.txt: class08, class09, class02
