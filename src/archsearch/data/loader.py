"""Device-resident batches: a split lives as tensors on the training device, a batch is an index slice,
and augmentation (random crop with zero padding, horizontal flip) is applied to the whole batch there.

There is no per-sample Python in the hot loop and no worker processes: for the small images NAS trains
on, moving data once and slicing beats a ``torch.utils.data.DataLoader`` with per-sample transforms
(measured in ``perf/trainer_throughput.py``). Randomness comes from an explicit ``torch.Generator``
on the CPU so the same seed gives the same batches on every device.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from archsearch.data.base import Dataset, Split

SUBSET_SEED = 0  # the train subset kept by ``fraction`` < 1 is the same for every trial


@dataclass(frozen=True)
class DeviceSplit:
    """One split on a device: ``x`` in its stored dtype (uint8 images stay uint8), ``y`` int64."""

    x: torch.Tensor  # (N, C, H, W)
    y: torch.Tensor  # (N,)

    def __len__(self) -> int:
        return int(self.y.shape[0])


class DeviceData:
    """A dataset's splits on ``device`` plus the batch pipeline (scale, normalise, augment)."""

    def __init__(self, dataset: Dataset, device: torch.device, *, fraction: float = 1.0,
                 channels_last: bool = False) -> None:
        self.dataset, self.device, self.channels_last = dataset, device, channels_last
        self.train = _to_device(_subset(dataset.train, fraction), device)
        self.valid = _to_device(dataset.valid, device)
        self.test = _to_device(dataset.test, device)
        channels = dataset.shape[0]
        self._mean = torch.tensor(dataset.mean, dtype=torch.float32, device=device).view(1, channels, 1, 1)
        self._std = torch.tensor(dataset.std, dtype=torch.float32, device=device).view(1, channels, 1, 1)

    def batches(self, split: DeviceSplit, batch_size: int, *, generator: torch.Generator | None = None,
                augment: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(x, y) batches: shuffled when ``generator`` is given, else in order; the last batch may be short."""
        count = len(split)
        order = torch.randperm(count, generator=generator).to(self.device) if generator is not None else None
        for start in range(0, count, batch_size):
            index = order[start:start + batch_size] if order is not None else slice(start, start + batch_size)
            x = self.prepare(split.x[index])
            if augment:
                x = self.augment(x, generator)
            yield x, split.y[index]

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Stored values -> normalised float32: (x / scale - mean) / std."""
        # out of place first: a float32 batch may be a view of the (shared, cached) dataset tensors
        x = x.to(torch.float32).div(self.dataset.scale).sub_(self._mean).div_(self._std)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def augment(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """The dataset's augmentation, on the whole batch."""
        kind, padding = self.dataset.augment, self.dataset.crop_padding
        if kind in ("crop", "crop-flip") and padding > 0:
            x = random_crop(x, padding, generator)
        if kind == "crop-flip":
            x = random_flip(x, generator)
        # the crop's gather returns NCHW: restore the layout the model runs in
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero-pad by ``padding`` and crop each image back to its size at its own random offset."""
    batch, channels, height, width = x.shape  # (B, C, H, W)
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))  # (B, C, H+2p, W+2p)
    offsets = torch.randint(0, 2 * padding + 1, (2, batch), generator=generator).to(x.device)
    rows = offsets[0, :, None] + torch.arange(height, device=x.device)  # (B, H)
    cols = offsets[1, :, None] + torch.arange(width, device=x.device)  # (B, W)
    batch_index = torch.arange(batch, device=x.device)[:, None, None, None]
    channel_index = torch.arange(channels, device=x.device)[None, :, None, None]
    return padded[batch_index, channel_index, rows[:, None, :, None], cols[:, None, None, :]]


def random_flip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = (torch.rand(x.shape[0], generator=generator) < 0.5).to(x.device).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(3), x)


def _subset(split: Split, fraction: float) -> Split:
    """The first ``fraction`` of a fixed permutation (at least one example), the same for every trial."""
    if fraction >= 1.0:
        return split
    count = max(1, round(len(split.y) * fraction))
    keep = torch.randperm(len(split.y), generator=torch.Generator().manual_seed(SUBSET_SEED))[:count]
    keep = keep.sort().values
    return Split(split.x[keep], split.y[keep], split.index[keep.numpy()])


def _to_device(split: Split, device: torch.device) -> DeviceSplit:
    return DeviceSplit(split.x.to(device), split.y.to(device))
