"""GPU path of the trainer (issue 25, goal 5): training throughput of NB201 networks on a CUDA card, fp32 against
bf16 autocast, NCHW against channels_last, and the trainer end to end; prints the card's name.

Without CUDA it prints why it skipped and exits 0, so it can sit in any run script.

For each network size (C, N) and batch size:
- four variants of the same SGD step (the trainer's: Nesterov, weight decay 5e-4, fused SGD) over a batch already
  on the card: {fp32, bf16 autocast} x {NCHW, channels_last}, images/s after warm-up (CUDA-synchronised timing);
- ``ours``: :func:`archsearch.estimators.trainer.train` over a device-resident ``DeviceData`` (augmentation on the
  card, bf16 autocast, channels_last: what the train estimator runs), images/s over its steps;
- achieved TFLOP/s (3 x forward FLOPs x images/s) against a 8192^2 matmul of the same dtype.

    .venv/bin/python perf/gpu_throughput.py --sizes 16x5 32x5 64x5 --batch 128 256 --out perf/results/gpu_throughput.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from archsearch.data.loader import DeviceData
from archsearch.estimators.trainer import Recipe, train
from archsearch.metrics import count_flops
from archsearch.spaces.nb201 import NB201Space
from trainer_throughput import as_dataset, synthetic_cifar  # perf/ is the script's folder: its CIFAR-shaped set

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
WARMUP_STEPS = 10
TIMED_STEPS = 50


def build(channels: int, cells: int, device: torch.device, channels_last: bool) -> torch.nn.Module:
    space = NB201Space()
    model = space.build(space.parse(ARCH), channels=channels, cells_per_stage=cells).to(device)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def step_images_per_second(model: torch.nn.Module, batch: int, device: torch.device, *, bf16: bool,
                           channels_last: bool) -> float:
    """Images/s of the trainer's SGD step on one resident batch (no data pipeline)."""
    x = torch.randn(batch, 3, 32, 32, device=device)
    x = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    y = torch.randint(0, 10, (batch,), device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4,
                                fused=True)

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return batch * TIMED_STEPS / _cuda_seconds(step, TIMED_STEPS)


def trainer_images_per_second(model: torch.nn.Module, batch: int, device: torch.device) -> float:
    """Images/s of ``train`` end to end (device-resident data, augmentation, bf16 autocast, channels_last)."""
    steps = WARMUP_STEPS + TIMED_STEPS
    data = DeviceData(as_dataset(*synthetic_cifar(steps * batch)), device, channels_last=True)
    train(model, data, Recipe(epochs=WARMUP_STEPS / steps, batch_size=batch), seed=0, evaluate_test=False)
    torch.cuda.synchronize(device)
    started = time.perf_counter()
    history = train(model, data, Recipe(epochs=1.0, batch_size=batch), seed=0, evaluate_test=False)
    torch.cuda.synchronize(device)
    return history.steps * batch / (time.perf_counter() - started)


def matmul_peak_flops(device: torch.device, dtype: torch.dtype, size: int = 8192) -> float:
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
    return 2 * size**3 * 10 / _cuda_seconds(lambda: torch.mm(a, b), 10)


def _cuda_seconds(fn: Callable[[], None], repeats: int) -> float:
    for _ in range(WARMUP_STEPS):
        fn()
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    torch.cuda.synchronize()
    return time.perf_counter() - started


def measure(channels: int, cells: int, batch: int, device: torch.device, peaks: dict[str, float]) -> dict:
    row: dict = {"channels": channels, "cells_per_stage": cells, "batch": batch}
    flops_per_image = 3 * 2 * count_flops(build(channels, cells, torch.device("cpu"), False), (3, 32, 32))
    for bf16 in (False, True):
        for channels_last in (False, True):
            name = f"{'bf16' if bf16 else 'fp32'}_{'nhwc' if channels_last else 'nchw'}"
            torch.manual_seed(0)
            model = build(channels, cells, device, channels_last)
            rate = step_images_per_second(model, batch, device, bf16=bf16, channels_last=channels_last)
            row[f"{name}_images_per_s"] = rate
            row[f"{name}_fraction_of_peak"] = flops_per_image * rate / peaks["bf16" if bf16 else "fp32"]
    row["trainer_images_per_s"] = trainer_images_per_second(build(channels, cells, device, True), batch, device)
    row["bf16_nhwc_over_fp32_nchw"] = row["bf16_nhwc_images_per_s"] / row["fp32_nchw_images_per_s"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["16x5", "32x5", "64x5"], help="CxN network sizes")
    parser.add_argument("--batch", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("skipped: no CUDA device (torch.cuda.is_available() is False); nothing measured")
        return
    device = torch.device("cuda")
    card = torch.cuda.get_device_name(device)
    torch.backends.cudnn.benchmark = True
    peaks = {"fp32": matmul_peak_flops(device, torch.float32), "bf16": matmul_peak_flops(device, torch.bfloat16)}
    print(f"card: {card}; torch {torch.__version__}; matmul peak fp32 {peaks['fp32'] / 1e12:.1f} TFLOP/s "
          f"(TF32 {'on' if torch.backends.cuda.matmul.allow_tf32 else 'off'}), bf16 {peaks['bf16'] / 1e12:.1f}")
    rows = []
    for size in args.sizes:
        channels, cells = (int(v) for v in size.split("x"))
        for batch in args.batch:
            rows.append(measure(channels, cells, batch, device, peaks))
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in rows[-1].items()}), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"card": card, "torch": torch.__version__, "host": platform.node(),
                                              "matmul_peak_flops": peaks, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
