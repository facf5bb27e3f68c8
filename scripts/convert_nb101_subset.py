"""Convert NASLib's 500-cell NAS-Bench-101 zero-cost subset into ``benchmarks/data/nb101_zc500.npz``.

Source: ``zc_nasbench101.json`` of github.com/automl/NASLib (Apache-2.0; branch ``benchmarks``, commit
9052f540457588af87633988cc1036bd2250419e), copied beside the project in ``../shared/data/naslib-zc-subsets``.
Its keys are NASLib's ``convert_spec_to_tuple``: the raw (unpruned) 7x7 adjacency matrix flattened row by row,
then 7 op codes in NASLib's order ``input, output, maxpool3x3, conv1x1-bn-relu, conv3x3-bn-relu``.
Values: ``val_accuracy`` (percent; the 108-epoch validation accuracy of ONE of NB101's three training runs,
drawn at random by the nasbench API's ``query``), ``params`` (millions), ``flops`` (millions, tensorwatch's
count, 0.2-15 % above the multiply-adds of convolutions and the dense layer) and ten zero-cost proxies
of one random initialisation.

Several keys are the same cell (isomorphic, or equal after pruning): rows are NB101 graph hashes. Per hash:
``valid_acc`` = mean of the distinct run values drawn (``valid_acc_runs`` of 3; all 3 = NB101's mean),
``zc__<proxy>`` = mean over the keys, ``params`` = the (equal) count, ``naslib_flops`` = the (equal) count in
raw units, ``flops`` = archsearch's multiply-adds (``metrics.count_flops``) of the network built here, like
nb201.npz. The script checks that the parameter count of ``NB101Space().build(arch)`` equals the table's for
every one of the 500 keys, and aborts otherwise.

Usage (from the repository root):
    .venv/bin/python scripts/convert_nb101_subset.py [--source PATH] [--dry-run | --check-only]
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from archsearch.core.arch import Arch  # noqa: E402
from archsearch.spaces.nb101 import OP_DIMS, OPS, NB101Space  # noqa: E402

SOURCE = REPO.parent / "shared" / "data" / "naslib-zc-subsets" / "zc_nasbench101.json"
OUTPUT = REPO / "src" / "archsearch" / "benchmarks" / "data" / "nb101_zc500.npz"
NASLIB_OPS = ("input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")
PROXIES = ("epe_nas", "fisher", "grad_norm", "grasp", "jacov", "l2_norm", "plain", "snip", "synflow")
INPUT_SHAPE = (3, 32, 32)


def read_cells(path: Path, space: NB101Space) -> dict[str, list[tuple[Arch, dict]]]:
    """NASLib key -> arch, grouped by NB101 hash (first-seen order)."""
    data = json.loads(path.read_text())["nasbench101"]["cifar10"]
    groups: dict[str, list[tuple[Arch, dict]]] = {}
    for key, values in data.items():
        code = ast.literal_eval(key)
        matrix = np.array(code[:49]).reshape(7, 7)
        arch = space.arch_from_matrix(matrix, [NASLIB_OPS[c] for c in code[49:]])
        groups.setdefault(space.hash(arch), []).append((arch, values))
    return groups


def check_params(space: NB101Space, groups: dict[str, list[tuple[Arch, dict]]]) -> tuple[dict[str, int], int]:
    """Our parameter count per hash; every key's network is built and compared with its ``params``."""
    from archsearch.metrics.params import count_parameters

    ours: dict[str, int] = {}
    mismatches = 0
    for digest, members in groups.items():
        for arch, values in members:
            count = count_parameters(space.build(arch))
            table = round(values["params"] * 1e6)
            if count != table:
                mismatches += 1
                print(f"params differ for {space.format(arch)}: built {count}, table {table}")
            ours.setdefault(digest, count)
    return ours, mismatches


def arrays(space: NB101Space, groups: dict[str, list[tuple[Arch, dict]]], params: dict[str, int]) -> dict:
    from archsearch.metrics.flops import count_flops

    rows = list(groups)
    first = [groups[h][0][0] for h in rows]
    out: dict[str, np.ndarray] = {
        "ops_names": np.array(OPS),
        "hashes": np.array(rows),
        "edges": np.array([[a[n] for n in a if n.startswith("edge_")] for a in first], dtype=np.uint8),
        "ops": np.array([[OPS.index(a[n]) for n in OP_DIMS] for a in first], dtype=np.uint8),
        "naslib_queries": np.array([len(groups[h]) for h in rows], dtype=np.int16),
        "params": np.array([params[h] for h in rows], dtype=np.int64),
        "flops": np.array([count_flops(space.build(a), INPUT_SHAPE) for a in first], dtype=np.int64),
    }
    runs = [sorted({v["val_accuracy"] for _, v in groups[h]}) for h in rows]
    out["valid_acc"] = np.array([np.mean(r) for r in runs], dtype=np.float64)
    out["valid_acc_runs"] = np.array([len(r) for r in runs], dtype=np.int8)
    out["naslib_flops"] = np.array([round(groups[h][0][1]["flops"] * 1e6) for h in rows], dtype=np.int64)
    for proxy in PROXIES:
        out[f"zc__{proxy}"] = np.array([np.mean([v[proxy] for _, v in groups[h]]) for h in rows], dtype=np.float64)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--dry-run", action="store_true", help="convert and check, write nothing")
    parser.add_argument("--check-only", action="store_true", help="only compare the parameter counts (~30 s)")
    args = parser.parse_args()
    space = NB101Space()
    start = time.perf_counter()
    groups = read_cells(args.source, space)
    keys = sum(len(m) for m in groups.values())
    params, mismatches = check_params(space, groups)
    print(f"{keys} NASLib keys -> {len(groups)} distinct NB101 cells; params of the built network equal the "
          f"table's for {keys - mismatches}/{keys} keys ({time.perf_counter() - start:.0f} s)")
    if mismatches or args.check_only:
        return 1 if mismatches else 0
    out = arrays(space, groups, params)
    ratio = out["naslib_flops"] / out["flops"]
    print(f"NASLib flops / archsearch multiply-adds: min {ratio.min():.4f}, median {np.median(ratio):.4f}, "
          f"max {ratio.max():.4f}; valid_acc runs drawn per cell: "
          f"{dict(zip(*np.unique(out['valid_acc_runs'], return_counts=True)))}")
    if not args.dry_run:
        np.savez_compressed(OUTPUT, **out)
        print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
