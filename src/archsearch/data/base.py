"""The dataset types (``Split``, ``Dataset``), the fixed stratified split and the per-channel statistics.

Every dataset is split once with the constant ``SPLIT_SEED``, independent of any study seed, so every
run, trial and worker process sees the same train / valid / test examples. A split is stratified: each
class gets its share of every held-out part (largest-remainder rounding, so the totals are exact).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archsearch.core.errors import UserError

SPLIT_SEED = 0  # the one seed of every dataset split; not a study option
FILE_CACHE_SIZE = 4  # datasets read from files kept per process (keyed by the files' size and mtime)


@dataclass(frozen=True, eq=False)
class Split:
    """One split on the CPU. Treat the tensors as read-only: loads are cached and shared."""

    x: torch.Tensor  # (N, C, H, W): uint8 for images, float32 for signals
    y: torch.Tensor  # (N,) int64 class labels in [0, num_classes)
    index: np.ndarray  # (N,) int64 positions in the source arrays (train then test arrays, concatenated)

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True, eq=False)
class Dataset:
    """Three splits plus what a trainer needs to prepare a batch: (x / scale - mean) / std, then augment."""

    name: str
    train: Split
    valid: Split
    test: Split
    num_classes: int
    shape: tuple[int, int, int]  # (C, H, W) of one input; 1-D signals are (C, 1, L)
    scale: float  # x.float() / scale is in [0, 1]-ish
    mean: tuple[float, ...]  # per channel, of train x / scale
    std: tuple[float, ...]  # per channel, of train x / scale
    augment: str  # "crop-flip" | "crop" | "none"
    crop_padding: int  # random-crop zero padding; 0 when augment == "none"

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly summary: name, shape, classes, split sizes, augmentation."""
        return {"name": self.name, "shape": list(self.shape), "num_classes": self.num_classes,
                "sizes": {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)},
                "augment": self.augment}


def held_out_size(count: int, fraction: float) -> int:
    """``round(fraction * count)``, at least 1."""
    return max(1, int(round(fraction * count)))


def stratified_split(labels: np.ndarray, sizes: Sequence[int], seed: int = SPLIT_SEED) -> list[np.ndarray]:
    """``[rest, part_1, ...]``: sorted int64 positions; part i holds ``sizes[i]`` examples, stratified by class."""
    labels = np.asarray(labels)
    if sum(sizes) >= len(labels):
        raise UserError(f"{len(labels)} examples are too few to hold out {' + '.join(map(str, sizes))} "
                        "and keep some for training")
    classes, counts = np.unique(labels, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(labels))
    members = [order[labels[order] == label] for label in classes]  # each class in shuffled order
    taken = np.zeros(len(classes), dtype=np.int64)
    parts: list[np.ndarray] = []
    for size in sizes:
        share = _allocate(size, counts, counts - taken)
        parts.append(np.sort(np.concatenate([m[t:t + s] for m, t, s in zip(members, taken, share)])))
        taken += share
    rest = np.sort(np.concatenate([m[t:] for m, t in zip(members, taken)]))
    return [part.astype(np.int64) for part in [rest, *parts]]


def _allocate(size: int, counts: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Per-class shares of ``size`` proportional to ``counts`` (largest remainder), within ``capacity``."""
    quota = size * counts / counts.sum()
    share = np.minimum(np.floor(quota).astype(np.int64), capacity)
    missing = size - int(share.sum())
    order = np.argsort(-(quota - share), kind="stable")
    while missing > 0:
        for label in order:
            if missing and share[label] < capacity[label]:
                share[label] += 1
                missing -= 1
    return share


def channel_stats(x: np.ndarray, scale: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of ``x / scale`` (x is (N, C, H, W)); a constant channel gets std 1."""
    means, stds = [], []
    for channel in range(x.shape[1]):
        values = x[:, channel]
        if values.dtype == np.uint8:  # exact and small: from the 256-bin histogram
            hist = np.bincount(values.ravel(), minlength=256).astype(np.float64)
            levels = np.arange(256, dtype=np.float64)
            mean = float((hist * levels).sum() / hist.sum())
            var = float((hist * (levels - mean) ** 2).sum() / hist.sum())
        else:
            mean, var = float(values.mean(dtype=np.float64)), float(values.var(dtype=np.float64))
        std = var ** 0.5 / scale
        means.append(mean / scale)
        stds.append(std if std > 0 else 1.0)
    return tuple(means), tuple(stds)


def make_split(x: np.ndarray, y: np.ndarray, index: np.ndarray) -> Split:
    """A ``Split`` owning contiguous copies of ``x[index]``, ``y[index]`` (``index`` into x and y)."""
    return Split(torch.from_numpy(np.ascontiguousarray(x[index])),
                 torch.from_numpy(np.ascontiguousarray(y[index], dtype=np.int64)), index.astype(np.int64))


def build_dataset(name: str, x: np.ndarray, y: np.ndarray, *, valid: int, test: int | None = None,
                  x_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
                  num_classes: int, scale: float, augment: str, crop_padding: int) -> Dataset:
    """Split (x, y) stratified: ``valid`` examples, and ``test`` more unless (x_test, y_test) are the test set.

    ``x`` is (N, C, H, W). Test positions from ``x_test`` are offset by N, so every ``index`` is a position
    in the concatenation of the source's train and test arrays.
    """
    if x_test is None:
        train_index, valid_index, test_index = stratified_split(y, [valid, test or 0])
        test_split = make_split(x, y, test_index)
    else:
        train_index, valid_index = stratified_split(y, [valid])
        split = make_split(x_test, y_test, np.arange(len(x_test), dtype=np.int64))
        test_split = Split(split.x, split.y, split.index + len(x))
    train = make_split(x, y, train_index)
    mean, std = channel_stats(train.x.numpy(), scale)
    return Dataset(name, train, make_split(x, y, valid_index), test_split, num_classes,
                   tuple(int(d) for d in x.shape[1:]), float(scale), mean, std, augment, crop_padding)


_file_cache: dict[Hashable, Dataset] = {}


def cached_by_files(key: Hashable, files: Sequence[Path], make: Callable[[], Dataset]) -> Dataset:
    """``make()``, reused while ``files`` keep their size and modification time (a few entries per process)."""
    signature = (key, tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in files))
    if signature not in _file_cache:
        while len(_file_cache) >= FILE_CACHE_SIZE:
            _file_cache.pop(next(iter(_file_cache)))
        _file_cache[signature] = make()
    return _file_cache[signature]
