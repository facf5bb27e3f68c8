"""Device-resident batches: every example once per epoch, whole-batch crop and flip, normalisation."""

from __future__ import annotations

import numpy as np
import torch

from archsearch.data.base import Dataset, Split
from archsearch.data.loader import DeviceData, random_crop, random_flip


def toy(count: int = 50, augment: str = "crop-flip", padding: int = 2) -> Dataset:
    x = torch.arange(count * 2 * 6 * 6, dtype=torch.float32).reshape(count, 2, 6, 6) % 251
    x = x.to(torch.uint8)
    y = torch.arange(count) % 5
    split = Split(x, y, np.arange(count))
    return Dataset("toy", split, split, split, 5, (2, 6, 6), 255.0, (0.5, 0.5), (0.25, 0.25), augment, padding)


def test_an_epoch_visits_every_example_once_in_a_seeded_order() -> None:
    data = DeviceData(toy(), torch.device("cpu"))
    seen = torch.cat([y for _, y in data.batches(data.train, 16, generator=torch.Generator().manual_seed(0))])
    again = torch.cat([y for _, y in data.batches(data.train, 16, generator=torch.Generator().manual_seed(0))])
    assert len(seen) == 50 and torch.equal(seen, again)
    assert sorted(seen.tolist()) == sorted(data.train.y.tolist())
    ordered = torch.cat([y for _, y in data.batches(data.valid, 16)])
    assert torch.equal(ordered, data.valid.y)


def test_prepare_scales_and_normalises() -> None:
    dataset = toy()
    data = DeviceData(dataset, torch.device("cpu"))
    x, _ = next(data.batches(data.valid, 4))
    expected = (dataset.valid.x[:4].float() / 255 - 0.5) / 0.25
    assert x.dtype == torch.float32 and torch.allclose(x, expected)


def test_random_crop_takes_a_window_of_the_zero_padded_image() -> None:
    x = torch.randn(8, 3, 5, 7)
    out = random_crop(x, 2, torch.Generator().manual_seed(1))
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for image, crop in zip(padded, out):
        windows = [image[:, r:r + 5, c:c + 7] for r in range(5) for c in range(5)]
        assert any(torch.equal(crop, w) for w in windows)


def test_random_flip_mirrors_about_half_the_batch() -> None:
    x = torch.randn(400, 1, 3, 4)
    out = random_flip(x, torch.Generator().manual_seed(0))
    flipped = [torch.equal(o, i.flip(2)) and not torch.equal(o, i) for o, i in zip(out, x)]
    kept = [torch.equal(o, i) for o, i in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept)) and 150 < sum(flipped) < 250


def test_no_augmentation_for_signals_and_a_fixed_train_subset() -> None:
    dataset = toy(augment="none", padding=0)
    data = DeviceData(dataset, torch.device("cpu"), fraction=0.2)
    assert len(data.train) == 10 and len(data.valid) == 50
    again = DeviceData(dataset, torch.device("cpu"), fraction=0.2)
    assert torch.equal(data.train.x, again.train.x)
    x, _ = next(data.batches(data.train, 10, generator=torch.Generator().manual_seed(0), augment=True))
    assert torch.allclose(torch.sort(x.flatten()).values, torch.sort(data.prepare(data.train.x).flatten()).values)


def test_batches_never_change_the_dataset_tensors() -> None:
    x = torch.rand(20, 1, 1, 8)
    split = Split(x, torch.arange(20) % 2, np.arange(20))
    dataset = Dataset("signals", split, split, split, 2, (1, 1, 8), 1.0, (0.5,), (0.1,), "none", 0)
    before = x.clone()
    data = DeviceData(dataset, torch.device("cpu"))
    for _ in data.batches(data.valid, 7):
        pass
    for _ in data.batches(data.train, 7, generator=torch.Generator().manual_seed(0), augment=True):
        pass
    assert torch.equal(x, before)
