"""Parameters and FLOPs (multiply-adds) of all 15,625 NAS-Bench-201 networks, per dataset, for ``nb201.npz``.

For every cell and every dataset of ``archsearch.benchmarks.nb201.DATASET_SHAPES`` (cifar10 and cifar100:
3x32x32 input, 10 / 100 classes; ImageNet16-120: 3x16x16, 120 classes), the counts are those of
``NB201Space().build(arch, num_classes=K)`` (C=16, N=5): ``count_parameters`` and ``count_flops``
(multiply-adds of one input). Arrays ``<dataset>__params`` and ``<dataset>__flops``, int64, raw counts.

Building and counting 46,875 networks is slow, so the script uses their exact additive structure: every
cell of the network carries the same op on a given edge, and an edge's tensors have the same shape
whatever the other edges hold, so a network's count is ``base + sum over edges e of cost[e][op_e]``.
``base`` is measured on the all-``none`` cell and ``cost[e][op]`` as (only edge e holds op) - base, i.e.
1 + 6 x 4 builds per dataset; nothing about the ops is assumed. The sum is then checked, with integer
equality, against the builder on the 5 uniform cells and ``--check`` random cells per dataset; any
difference aborts the script.

Usage (from the repository root):
    .venv/bin/python scripts/nb201_hardware.py            # add/refresh the arrays in the shipped nb201.npz
    .venv/bin/python scripts/nb201_hardware.py --dry-run  # compute and verify only
``scripts/convert_nb201.py`` calls :func:`hardware_arrays` too, so a full conversion includes them. When
updating in place, every array already in the file is checked to be bit-identical after the rewrite.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from archsearch.benchmarks.nb201 import DATASET_SHAPES, DATASETS, NUM_CELLS  # noqa: E402
from archsearch.spaces.nb201 import EDGE_DIMS, OPS, NB201Space  # noqa: E402

NPZ = REPO / "src" / "archsearch" / "benchmarks" / "data" / "nb201.npz"
CHECK_CELLS = 300  # random cells per dataset checked against the builder (besides the 5 uniform cells)
QUANTITIES = ("params", "flops")


def measure(space: NB201Space, ops: np.ndarray, dataset: str) -> np.ndarray:
    """(params, flops) of the network of the op-index row ``ops`` built for ``dataset``."""
    from archsearch.metrics import count_flops, count_parameters

    shape, classes = DATASET_SHAPES[dataset]
    arch = space.validate({name: OPS[int(op)] for name, op in zip(EDGE_DIMS, ops)})
    net = space.build(arch, num_classes=classes, in_channels=shape[0])
    return np.array([count_parameters(net), count_flops(net, shape)], dtype=np.int64)


def edge_costs(space: NB201Space, dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """``base`` (2,) = counts of the all-``none`` network; ``cost`` (6 edges, 5 ops, 2) = what op adds on edge."""
    none = np.zeros(len(EDGE_DIMS), dtype=np.int64)
    base = measure(space, none, dataset)
    cost = np.zeros((len(EDGE_DIMS), len(OPS), len(QUANTITIES)), dtype=np.int64)
    for edge in range(len(EDGE_DIMS)):
        for op in range(1, len(OPS)):  # op 0 is none: adds nothing by definition of base
            ops = none.copy()
            ops[edge] = op
            cost[edge, op] = measure(space, ops, dataset) - base
    return base, cost


def additive_counts(op_indices: np.ndarray, base: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """(n, 2) int64 counts of the op-index rows: base + sum over edges of cost[edge, op]."""
    ops = np.asarray(op_indices, dtype=np.int64)
    return base + cost[np.arange(ops.shape[1]), ops].sum(axis=1)


def hardware_arrays(op_indices: np.ndarray, check: int = CHECK_CELLS, seed: int = 0,
                    verbose: bool = True) -> dict[str, np.ndarray]:
    """``<dataset>__params`` and ``<dataset>__flops`` (int64, one per row of ``op_indices``), verified."""
    op_indices = np.asarray(op_indices)
    assert op_indices.shape == (NUM_CELLS, len(EDGE_DIMS)), op_indices.shape
    space = NB201Space()
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {}
    for dataset in DATASETS:
        start = time.perf_counter()
        base, cost = edge_costs(space, dataset)
        counts = additive_counts(op_indices, base, cost)
        uniform = [np.full(len(EDGE_DIMS), op) for op in range(len(OPS))]
        rows = rng.choice(NUM_CELLS, size=check, replace=False)
        checks = [(ops, additive_counts(ops[None], base, cost)[0]) for ops in uniform]
        checks += [(op_indices[row], counts[row]) for row in rows]
        for ops, predicted in checks:
            built = measure(space, ops, dataset)
            if not np.array_equal(built, predicted):
                raise SystemExit(f"{dataset} cell {ops.tolist()}: builder gives params, flops = {built.tolist()}, "
                                 f"the additive table {predicted.tolist()}")
        assert (counts > 0).all()
        arrays[f"{dataset}__params"] = np.ascontiguousarray(counts[:, 0])
        arrays[f"{dataset}__flops"] = np.ascontiguousarray(counts[:, 1])
        if verbose:
            print(f"{dataset:15s} base params {base[0]:,} flops {base[1]:,}; "
                  f"{len(checks)} cells equal the builder ({time.perf_counter() - start:.0f} s); "
                  f"params {counts[:, 0].min():,}..{counts[:, 0].max():,}, "
                  f"flops {counts[:, 1].min():,}..{counts[:, 1].max():,}")
    return arrays


def update_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Rewrite ``path`` with ``arrays`` added (or replaced); every other array must come back bit-identical."""
    with np.load(path, allow_pickle=False) as npz:
        old = {key: npz[key] for key in npz.files}
    merged = {key: value for key, value in old.items() if key not in arrays} | arrays
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **merged)
    with np.load(tmp, allow_pickle=False) as npz:
        for key, value in merged.items():
            new = npz[key]
            assert new.dtype == value.dtype and new.shape == value.shape and np.array_equal(new, value), key
            assert new.tobytes() == value.tobytes(), f"{key} changed"
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--npz", type=Path, default=NPZ)
    parser.add_argument("--check", type=int, default=CHECK_CELLS, help="random cells per dataset checked")
    parser.add_argument("--dry-run", action="store_true", help="compute and verify, write nothing")
    args = parser.parse_args(argv)

    with np.load(args.npz, allow_pickle=False) as npz:
        op_indices = npz["op_indices"]
    before = args.npz.stat().st_size
    arrays = hardware_arrays(op_indices, check=args.check)
    if not args.dry_run:
        update_npz(args.npz, arrays)
        print(f"wrote {', '.join(arrays)} into {args.npz} ({before:,} -> {args.npz.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
