"""``archsearch latency``: predict random archs' latency with a lookup table and check it end to end."""

from __future__ import annotations

import argparse
import inspect
import json
import math
from pathlib import Path
from typing import Any

from archsearch.cli.common import ExampleHelpFormatter
from archsearch.core.errors import UserError

EXAMPLE = ("example: archsearch latency --space mobile --archs 20 --input-shape 3,224,224 --table lut.json "
           "--net width_mult=0.5 --json latency.json")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "latency", help="predict latency with a lookup table and compare with end-to-end measurements",
        description="Sample archs, predict each one's batch-1 latency as the sum of its units' latencies in a "
                    "lookup table (FBNet/MnasNet; missing units are measured and the table is saved), measure the "
                    "whole network, and print the error of each and the mean absolute percentage error.",
        epilog=EXAMPLE, formatter_class=ExampleHelpFormatter)
    parser.add_argument("--space", default="mobile", help="search space (default mobile)")
    parser.add_argument("--archs", type=int, default=20, help="random archs to check (default 20)")
    parser.add_argument("--input-shape", default="3,224,224", help="C,H,W of one input (default 3,224,224)")
    parser.add_argument("--num-classes", type=int, default=1000, help="classes of the head (default 1000)")
    parser.add_argument("--table", required=True, help="latency table JSON (read if it exists, then saved)")
    parser.add_argument("--force", action="store_true", help="use a table measured on another device")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampled archs")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--net", action="append", default=[], metavar="KEY=VALUE",
                        help="network build option, e.g. width_mult=0.5 (repeatable)")
    parser.add_argument("--calibrate", type=int, default=0, metavar="N",
                        help="first fit measured = scale x unit sum + offset on N other random archs (seed + 10000) "
                             "and store it in the table (default 0: keep the table's calibration)")
    parser.add_argument("--json", dest="json_out", metavar="FILE", help="also write the results as JSON")
    parser.set_defaults(run=run)


def parse_input_shape(text: str) -> tuple[int, ...]:
    """``"3,224,224"`` -> ``(3, 224, 224)``."""
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise UserError(f"--input-shape must be C,H,W with positive integers, e.g. 3,224,224; got {text!r}")
    return shape


def net_options(space: Any, pairs: list[str]) -> dict[str, Any]:
    """``--net key=value`` pairs as build options, checked against the space's keyword-only build options."""
    from archsearch.cli.train import parse_overrides

    options = parse_overrides(pairs)
    parameters = inspect.signature(space.build).parameters.items()
    known = sorted({n for n, p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY} - {"num_classes", "in_channels"})
    wrong = sorted(set(options) - set(known))
    if wrong:
        raise UserError(f"unknown --net option {wrong[0]!r} for space {space.name!r}; options: {', '.join(known)}")
    return options


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from archsearch.core.device import resolve_device
    from archsearch.core.registry import SPACES
    from archsearch.metrics.latency_table import LatencyTable

    shape = parse_input_shape(args.input_shape)
    if args.archs < 1 or args.num_classes < 1 or args.calibrate < 0:
        raise UserError(f"--archs and --num-classes must be >= 1 and --calibrate >= 0, got {args.archs}, "
                        f"{args.num_classes}, {args.calibrate}")
    for path in filter(None, (args.table, args.json_out)):
        if not Path(path).parent.is_dir():
            raise UserError(f"folder does not exist: {Path(path).parent}")
    space = SPACES.create(args.space)
    options = net_options(space, args.net)
    device = resolve_device(args.device)
    table = LatencyTable.open(args.table, device, force=args.force)
    known = len(table)

    def build(rng: Any, seed: int) -> tuple[Any, Any]:
        arch = space.sample(rng)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return arch, space.build(arch, num_classes=args.num_classes, in_channels=shape[0], **options)

    if args.calibrate:
        calibration_rng = np.random.default_rng(args.seed + 10_000)
        models = [build(calibration_rng, args.seed + 10_000 + k)[1] for k in range(args.calibrate)]
        scale, offset = table.calibrate(models, shape)
        table.save(args.table)
        print(f"calibrated on {args.calibrate} other archs: measured = {scale:.4f} x unit sum + {offset:.3f} ms")
    rng = np.random.default_rng(args.seed)
    rows = []
    for number in range(args.archs):
        arch, model = build(rng, args.seed + number)
        rows.append(_check_one(table, model, shape, space.format(arch)))
        row = rows[-1]
        print(f"{number:>3}  predicted {row['predicted_ms']:9.3f} ms  measured {row['measured_ms']:9.3f} ms  "
              f"error {row['error_pct']:+7.2f}%  {row['arch']}", flush=True)
        table.save(args.table)
    mape = float(np.mean([abs(r["error_pct"]) for r in rows]))
    plain = float(np.mean([abs(r["unit_sum_ms"] - r["measured_ms"]) / r["measured_ms"] * 100 for r in rows]))
    print(f"mean absolute percentage error: {mape:.2f}% (plain unit sum: {plain:.2f}%) over {len(rows)} archs; table {args.table}: {len(table)} "
          f"units ({len(table) - known} measured now) on {table.signature['device']} {table.signature['name']!r}")
    if args.json_out:
        document = {"space": args.space, "input_shape": list(shape), "num_classes": args.num_classes, "net": options,
                    "seed": args.seed, "signature": table.signature, "table": str(args.table), "mape_pct": mape, "unit_sum_mape_pct": plain,
                    "archs": rows}
        Path(args.json_out).write_text(json.dumps(document, indent=1) + "\n")
    return 0


def _check_one(table: Any, model: Any, shape: tuple[int, ...], arch: str) -> dict[str, Any]:
    predicted = table.predict(model, shape)
    measured = table.measure_end_to_end(model, shape)
    error = (predicted - measured) / measured * 100.0 if measured > 0 else math.nan
    return {"arch": arch, "predicted_ms": predicted, "unit_sum_ms": table.unit_sum(model, shape),
            "measured_ms": measured, "error_pct": error,
            "units": len(table.breakdown(model, shape))}
