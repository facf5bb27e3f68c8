"""Hypervolume: archsearch's own exact algorithm against the reference library moocore (issue 26, part 3).

A 200-point front on the unit sphere (every point non-dominated) in 2-5 dimensions, reference point 1.1 in each;
both computed alternately (A B A B, ``--repeats`` times, the minimum of each) so that a busy machine slows both
alike; the values must agree. ``archsearch.core.pareto.hypervolume`` uses moocore when it is installed.

    .venv/bin/python perf/hypervolume_speed.py [--points 200] [--repeats 3] [--dims 2,3,4,5]

Writes perf/results/hypervolume_speed.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from archsearch.core.pareto import exact_hypervolume  # noqa: E402


def sphere_front(points: int, dims: int, seed: int = 0) -> np.ndarray:
    x = np.abs(np.random.default_rng(seed).normal(size=(points, dims)))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def timed(fn, *args) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = fn(*args)
    return float(value), time.perf_counter() - started


def main() -> int:
    import moocore

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dims", default="2,3,4,5")
    args = parser.parse_args()
    rows = []
    for dims in [int(d) for d in args.dims.split(",")]:
        front, ref = sphere_front(args.points, dims), np.full(dims, 1.1)
        ours, library = [], []
        for _ in range(args.repeats):
            ours.append(timed(exact_hypervolume, front, ref))
            library.append(timed(lambda f, r: moocore.hypervolume(f, ref=r), front, ref))
        a, b = min(t for _, t in ours), min(t for _, t in library)
        rows.append({"dims": dims, "points": args.points, "value_ours": ours[0][0], "value_moocore": library[0][0],
                     "seconds_ours": a, "seconds_moocore": b, "speedup": a / b})
        print(f"{dims}-D, {args.points} points: ours {a * 1e3:10.2f} ms, moocore {b * 1e3:8.3f} ms ({a / b:,.0f}x); "
              f"values {ours[0][0]:.12f} / {library[0][0]:.12f}", flush=True)
    out = ROOT / "perf" / "results" / "hypervolume_speed.json"
    out.write_text(json.dumps({"moocore": moocore.__version__, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
