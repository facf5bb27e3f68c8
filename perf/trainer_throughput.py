"""Benchmark (a) and (d) of issue 4: training throughput of our trainer vs a plain reference loop, and the
trainer's achieved FLOP/s as a fraction of this machine's dense matmul peak.

(a) The same NB201 network, the same number of SGD steps, 32x32x3 inputs (synthetic uint8 images with
    CIFAR-10's shapes: the real set is not shipped), batch 128, crop-with-padding-4 + flip augmentation:
    - ours: ``archsearch.estimators.trainer.train`` over a device-resident ``DeviceData`` (batch index
      slices, whole-batch augmentation), channels_last model and batches as the train estimator uses;
    - reference: ``torch.utils.data.DataLoader`` over a map-style dataset whose ``__getitem__`` converts one
      HWC uint8 image to a normalised CHW float tensor, pads, crops and flips it (what torchvision's
      ToTensor / RandomCrop(32, 4) / RandomHorizontalFlip / Normalize do per sample), default collate,
      then the same SGD step on the same network in PyTorch's default (NCHW) layout. ``--loader-workers``
      sets its ``num_workers`` (0 and 2 are both reported; on 2 cores, 2 workers compete with the step).
(d) FLOP/s = 3 x forward FLOPs (2 x multiply-adds) x images/s, against a large ``torch.mm`` (float32).
(e) ``--compile``: the trainer through ``torch.compile`` (inductor), its compile seconds and steady speed, and
    the training steps after which compiling repays (issue 25).

    .venv/bin/python perf/trainer_throughput.py --channels 16 32 --cells 5 --steps 30 --out perf/results/throughput.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from archsearch.data.base import Dataset, Split
from archsearch.data.loader import DeviceData
from archsearch.estimators.trainer import Recipe, train
from archsearch.metrics import count_flops
from archsearch.spaces.nb201 import NB201Space

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
BATCH = 128
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def synthetic_cifar(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, count)


def as_dataset(images: np.ndarray, labels: np.ndarray) -> Dataset:
    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()  # (N, 3, 32, 32) uint8
    y = torch.from_numpy(labels).long()
    split = Split(x, y, np.arange(len(y)))
    small = Split(x[:BATCH], y[:BATCH], np.arange(BATCH))
    return Dataset("synthetic-cifar", split, small, small, 10, (3, 32, 32), 255.0, MEAN, STD, "crop-flip", 4)


class PerSampleDataset(torch.utils.data.Dataset):
    """The usual training script's dataset: per-sample ToTensor, Normalize, RandomCrop(32, 4), flip."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels
        self.mean = torch.tensor(MEAN).view(3, 1, 1)
        self.std = torch.tensor(STD).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = torch.from_numpy(self.images[i]).permute(2, 0, 1).float().div(255)  # ToTensor
        x = (x - self.mean) / self.std  # Normalize
        x = F.pad(x, (4, 4, 4, 4))  # RandomCrop(32, padding=4)
        top, left = np.random.randint(0, 9, 2)
        x = x[:, top:top + 32, left:left + 32]
        if np.random.rand() < 0.5:  # RandomHorizontalFlip
            x = x.flip(2)
        return x, int(self.labels[i])


def reference_images_per_second(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, steps: int,
                                workers: int) -> float:
    loader = torch.utils.data.DataLoader(PerSampleDataset(images, labels), batch_size=BATCH, shuffle=True,
                                         num_workers=workers, drop_last=True, persistent_workers=workers > 0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    model.train()
    done, started = 0, time.perf_counter()
    while done < steps:
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            done += 1
            if done == steps:
                break
    return steps * BATCH / (time.perf_counter() - started)


def ours_images_per_second(model: torch.nn.Module, dataset: Dataset, steps: int) -> float:
    data = DeviceData(dataset, torch.device("cpu"), channels_last=True)
    epochs = steps / (len(dataset.train.y) / BATCH)
    started = time.perf_counter()
    history = train(model, data, Recipe(epochs=epochs, batch_size=BATCH), seed=0, evaluate_test=False)
    elapsed = time.perf_counter() - started
    # exclude the per-epoch validation passes (one small batch each) from the training time
    return history.steps * BATCH / elapsed


def matmul_peak_flops(size: int = 4096, repeats: int = 5) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = min(_timed(lambda: torch.mm(a, b)) for _ in range(repeats))
    return 2 * size**3 / best


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def compiled_row(make_net, images: np.ndarray, labels: np.ndarray, steps: int, warm: int, eager: float) -> dict:
    """The trainer through ``torch.compile`` (inductor): compile seconds (the warm-up's wall time beyond what its
    steps cost eagerly; its train and inference graphs), steady images/s, and the steps after which it repays."""
    torch._dynamo.reset()
    model = torch.compile(make_net())
    started = time.perf_counter()
    ours_images_per_second(model, as_dataset(images[: warm * BATCH], labels[: warm * BATCH]), warm)
    compile_seconds = time.perf_counter() - started - warm * BATCH / eager
    compiled = ours_images_per_second(model, as_dataset(images, labels), steps)
    saved_per_step = BATCH / eager - BATCH / compiled
    return {"ours_compiled_images_per_s": compiled, "compile_seconds": compile_seconds,
            "compiled_over_eager": compiled / eager,
            "break_even_steps": compile_seconds / saved_per_step if saved_per_step > 0 else float("inf")}


def measure(channels: int, cells: int, steps: int, loader_workers: list[int], compile_model: bool) -> dict:
    space = NB201Space()
    arch = space.parse(ARCH)
    images, labels = synthetic_cifar(steps * BATCH)
    fresh = lambda: space.build(arch, channels=channels, cells_per_stage=cells)  # noqa: E731
    warm = max(2, steps // 10)
    ours_net = lambda: fresh().to(memory_format=torch.channels_last)  # noqa: E731 - as the train estimator builds
    ours_images_per_second(ours_net(), as_dataset(images[: warm * BATCH], labels[: warm * BATCH]), warm)  # warm-up
    ours = ours_images_per_second(ours_net(), as_dataset(images, labels), steps)
    row = {"channels": channels, "cells_per_stage": cells, "steps": steps, "batch": BATCH,
           "ours_images_per_s": ours}
    for workers in loader_workers:
        reference = reference_images_per_second(fresh(), images, labels, steps, workers)
        row[f"reference_w{workers}_images_per_s"] = reference
        row[f"speedup_vs_w{workers}"] = ours / reference
    if compile_model:
        row.update(compiled_row(ours_net, images, labels, steps, warm, ours))
        for workers in loader_workers:
            row[f"compiled_speedup_vs_w{workers}"] = row["ours_compiled_images_per_s"] / row[
                f"reference_w{workers}_images_per_s"]
    macs = count_flops(fresh(), (3, 32, 32))
    row["forward_macs_per_image"] = macs
    row["achieved_flops_per_s"] = 3 * 2 * macs * ours
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--loader-workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--compile", action="store_true", help="also the trainer through torch.compile (inductor)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    np.random.seed(0)
    peak = matmul_peak_flops()
    rows = [measure(c, args.cells, args.steps, args.loader_workers, args.compile) for c in args.channels]
    for row in rows:
        row["fraction_of_matmul_peak"] = row["achieved_flops_per_s"] / peak
        if "ours_compiled_images_per_s" in row:
            row["compiled_fraction_of_matmul_peak"] = row["achieved_flops_per_s"] * row["compiled_over_eager"] / peak
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}))
    print(f"matmul peak (4096^2 fp32 torch.mm): {peak / 1e9:.1f} GFLOP/s, torch threads {torch.get_num_threads()}")
    if args.out:
        Path(args.out).write_text(json.dumps({"machine": platform.processor() or platform.machine(),
                                              "torch": torch.__version__, "threads": torch.get_num_threads(),
                                              "matmul_peak_flops": peak, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
