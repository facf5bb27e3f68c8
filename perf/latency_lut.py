"""Latency lookup table vs end-to-end measurement on this CPU (not part of the test suite).

Random ``mobile`` archs (seeded) at width 1.0, 1000 classes, batch 1, on one input of ``--input-shape``
(default 3x128x128: a realistic mobile resolution that stays quick on a 2-core machine). Each run starts from an
empty table (FBNet's lookup table, Wu et al., CVPR 2019), predicts every arch as the sum of its units, measures
the whole network with the same protocol, and reports the mean absolute percentage error (goal < 10 %). Before
that, ``--calibration-archs`` other archs (another seed) fit the table's per-device ``scale * sum + offset``
(``LatencyTable.calibrate``); the uncalibrated sum's error is reported too.
``--threads 1`` is MnasNet's protocol (single big core, Tan et al., CVPR 2019) and the default here.

    .venv/bin/python perf/latency_lut.py [--archs 20] [--input-shape 3,128,128] [--threads 1] [--runs 2]

Writes perf/results/latency_lut.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archsearch.metrics.latency_table import REPEATS, STATISTICS, WARMUP, LatencyTable
from archsearch.spaces.mobile import MobileSpace

RESULTS = Path(__file__).parent / "results" / "latency_lut.json"


def one_run(args: argparse.Namespace, shape: tuple[int, ...]) -> dict[str, Any]:
    """A fresh table; every arch predicted (measuring its missing units), then measured end to end."""
    space, rng = MobileSpace(), np.random.default_rng(args.seed)
    table = LatencyTable("cpu", warmup=args.warmup, repeats=args.repeats, statistic=args.statistic)
    started = time.perf_counter()
    if args.calibration_archs:  # other archs than the evaluated ones (another seed)
        calibration_rng = np.random.default_rng(args.seed + 10_000)
        models = [space.build(space.sample(calibration_rng), num_classes=1000, in_channels=shape[0])
                  for _ in range(args.calibration_archs)]
        print("calibration on %d other archs: scale %.4f, offset %.3f ms" % (args.calibration_archs,
                                                                             *table.calibrate(models, shape)), flush=True)
    rows = []
    for number in range(args.archs):
        arch = space.sample(rng)
        torch.manual_seed(number)
        model = space.build(arch, num_classes=1000, in_channels=shape[0])
        unit_sum, predicted = table.unit_sum(model, shape), table.predict(model, shape)
        measured = table.measure_end_to_end(model, shape)
        error, raw_error = ((predicted - measured) / measured * 100, (unit_sum - measured) / measured * 100)
        rows.append({"arch": space.format(arch), "units": len(model.units), "unit_sum_ms": unit_sum,
                     "predicted_ms": predicted, "measured_ms": measured, "error_pct": error, "raw_error_pct": raw_error})
        print(f"{number:>3} unit sum {unit_sum:8.2f} ms  predicted {predicted:8.2f} ms  measured {measured:8.2f} ms  "
              f"error {error:+6.2f}% (uncalibrated {raw_error:+6.2f}%)", flush=True)
    errors, raw = np.array([r["error_pct"] for r in rows]), np.array([r["raw_error_pct"] for r in rows])
    return {"mape_pct": float(np.abs(errors).mean()), "mean_error_pct": float(errors.mean()),
            "max_abs_error_pct": float(np.abs(errors).max()), "uncalibrated_mape_pct": float(np.abs(raw).mean()),
            "uncalibrated_mean_error_pct": float(raw.mean()), "calibration": {"scale": table.scale,
                                                                              "offset": table.offset},
            "table_units": len(table), "seconds": time.perf_counter() - started, "archs": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--input-shape", default="3,128,128")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--statistic", choices=STATISTICS, default="median")
    parser.add_argument("--calibration-archs", type=int, default=10, help="0: the plain sum of units")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    shape = tuple(int(s) for s in args.input_shape.split(","))
    runs = []
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}: {args.archs} archs, input {shape}, {args.threads} thread(s), "
              f"{args.statistic} of {args.repeats} after {args.warmup} warm-up", flush=True)
        runs.append(one_run(args, shape))
        print(f"MAPE {runs[-1]['mape_pct']:.2f}% (mean signed error {runs[-1]['mean_error_pct']:+.2f}%, "
              f"max {runs[-1]['max_abs_error_pct']:.1f}%; uncalibrated sum: MAPE {runs[-1]['uncalibrated_mape_pct']:.2f}%, "
              f"mean {runs[-1]['uncalibrated_mean_error_pct']:+.2f}%), {runs[-1]['seconds']:.0f} s", flush=True)
    document = {"input_shape": list(shape), "threads": args.threads, "archs": args.archs, "seed": args.seed,
                "protocol": {"warmup": args.warmup, "repeats": args.repeats, "statistic": args.statistic},
                "calibration_archs": args.calibration_archs,
                "signature": LatencyTable("cpu").signature, "runs": runs}
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
