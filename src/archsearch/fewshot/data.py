"""Omniglot for few-shot learning (Lake et al., Science 2015), from the embedded ``omniglot.npz``.

The package ships Lake's two small background sets and the 20 one-shot runs, downsized to 28x28 (made by
``scripts/convert_omniglot.py``; origin, licence and split details in ``data/files/SOURCE-omniglot.md``):

- ``meta-train``: 116 characters of small1's 5 alphabets, each also rotated by 90, 180 and 270 degrees as
  extra classes (464 classes; the augmentation of Santoro et al. 2016 and Finn et al. 2017);
- ``meta-val``: small1's other 20 characters (15%, whole characters, fixed seed), no rotations;
- ``meta-test``: small2's 3 alphabets that small1 lacks (106 characters), no rotations: alphabets disjoint
  from meta-train and meta-val.

Images are uint8 (N, 1, 28, 28) with ink 255 on 0; the episode sampler scales them to [0, 1].
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from archsearch.core.errors import UserError
from archsearch.core.packaged import load_packaged_npz

# ---- defaults -----------------------------------------------------------------------------------------
SPLITS = {"meta-train": 0, "meta-val": 1, "meta-test": 2}  # the converter's class_splits markers
ROTATIONS = (0, 90, 180, 270)  # degrees; meta-train's extra classes (Santoro et al. 2016)
IMAGE_SIZE = 28
RESOURCE = "omniglot.npz"


@dataclass(frozen=True)
class FewShotDataset:
    """Labelled images grouped into classes: what an :class:`~archsearch.fewshot.episodes.EpisodeSampler` draws from."""

    name: str
    images: torch.Tensor  # (N, 1, 28, 28) uint8, ink 255
    labels: torch.Tensor  # (N,) int64 in 0..C-1
    class_names: tuple[str, ...]  # "alphabet/characterNN" (+ "/rotD" for rotated classes)
    class_alphabets: tuple[str, ...]  # the alphabet of each class

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @functools.cached_property
    def class_indices(self) -> tuple[np.ndarray, ...]:
        """For each class, the indices of its images (ascending)."""
        labels = self.labels.numpy()
        order = np.argsort(labels, kind="stable")
        bounds = np.searchsorted(labels[order], np.arange(self.num_classes + 1))
        return tuple(order[bounds[c]:bounds[c + 1]] for c in range(self.num_classes))


@dataclass(frozen=True)
class OneShotRun:
    """One of Lake et al.'s 20-way 1-shot runs: one training image per class, 20 test images."""

    train: torch.Tensor  # (20, 1, 28, 28) uint8: the training image of class i
    test: torch.Tensor  # (20, 1, 28, 28) uint8
    answers: torch.Tensor  # (20,) int64: the class (training image) of each test image


@functools.lru_cache(maxsize=1)
def _arrays() -> dict[str, np.ndarray]:
    return load_packaged_npz("archsearch.data", "files", RESOURCE)


@functools.lru_cache(maxsize=None)
def load_omniglot(split: str, rotations: bool | None = None) -> FewShotDataset:
    """The ``split`` (meta-train, meta-val, meta-test) of the embedded Omniglot.

    ``rotations`` (default: only for meta-train) adds each character rotated by 90/180/270 degrees as 3
    more classes, named ``<character>/rot<degrees>``.
    """
    if split not in SPLITS:
        raise UserError(f"unknown Omniglot split {split!r}; choose from: {', '.join(SPLITS)}")
    arrays = _arrays()
    classes = np.flatnonzero(arrays["class_splits"] == SPLITS[split])  # character ids of the split
    keep = np.isin(arrays["labels"], classes)
    images = torch.from_numpy(arrays["images"][keep][:, None])  # (n, 1, 28, 28)
    labels = torch.from_numpy(np.searchsorted(classes, arrays["labels"][keep]).astype(np.int64))
    names = [str(arrays["class_names"][c]) for c in classes]
    alphabets = [str(arrays["alphabet_names"][arrays["class_alphabets"][c]]) for c in classes]
    rotate = split == "meta-train" if rotations is None else rotations
    degrees = ROTATIONS if rotate else (0,)
    return FewShotDataset(
        name=f"omniglot/{split}",
        images=torch.cat([torch.rot90(images, k=d // 90, dims=(2, 3)) for d in degrees]),
        labels=torch.cat([labels + r * len(classes) for r in range(len(degrees))]),
        class_names=tuple(n if d == 0 else f"{n}/rot{d}" for d in degrees for n in names),
        class_alphabets=tuple(a for _ in degrees for a in alphabets))


@functools.lru_cache(maxsize=1)
def load_one_shot_runs() -> tuple[OneShotRun, ...]:
    """Lake et al.'s 20 one-shot classification runs (20-way 1-shot, within one evaluation alphabet each)."""
    arrays = _arrays()
    return tuple(OneShotRun(train=torch.from_numpy(arrays["run_train"][r][:, None]),
                            test=torch.from_numpy(arrays["run_test"][r][:, None]),
                            answers=torch.from_numpy(arrays["run_answers"][r].astype(np.int64)))
                 for r in range(len(arrays["run_answers"])))
