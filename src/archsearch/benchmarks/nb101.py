"""A partial NAS-Bench-101 table: the cells of NASLib's 500-key zero-cost subset (benchmark ``nb101-zc500``).

NAS-Bench-101: Ying et al., "NAS-Bench-101: Towards Reproducible Neural Architecture Search", ICML 2019
(CIFAR-10, 108 training epochs, three runs per cell). The subset is NASLib's ``zc_nasbench101.json`` (its
zero-cost benchmark, cf. Krishnakumar et al., "NAS-Bench-Suite-Zero", NeurIPS 2022; Apache-2.0), converted
by ``scripts/convert_nb101_subset.py`` into ``data/nb101_zc500.npz``; see
``data/NB101_ZC500_SOURCE.md``. Its 500 keys are 292 distinct cells (rows are NB101 graph hashes, so any
isomorphic or equal-after-pruning arch finds its row); an arch outside them is an ``ArchError``, which
the tabular estimator records as a failed trial.

``query(arch, "cifar10", 108)`` returns ``valid_acc`` (percent: the mean of the 1-3 distinct NB101
training runs that NASLib's queries drew), ``params`` (exact, equal to the network ``nb101`` builds),
``flops`` (multiply-adds of that network, ``archsearch.metrics``), ``naslib_flops`` (NASLib's tensorwatch
count, 0.2-15 % higher: presumably it also counts BatchNorm/ReLU/pooling) and NASLib's zero-cost proxies
``zc_<name>``. The data holds no training time: ``cost_seconds`` is 0, so budget such searches in trials.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from archsearch.benchmarks.base import TabularBenchmark
from archsearch.core.arch import Arch
from archsearch.core.errors import ArchError, UserError
from archsearch.spaces.nb101 import EDGE_DIMS, OP_DIMS, OPS, NB101Space
from archsearch.core.packaged import load_packaged_npz

DATASET = "cifar10"
FIDELITY = 108  # epochs
DATA_FILE = "nb101_zc500.npz"
PROXIES: tuple[str, ...] = ("epe_nas", "fisher", "grad_norm", "grasp", "jacov", "l2_norm", "plain", "snip", "synflow")
METRICS: tuple[str, ...] = ("valid_acc", "params", "flops", "naslib_flops") + tuple(f"zc_{p}" for p in PROXIES)


class NB101SubsetBenchmark(TabularBenchmark):
    """The NB101 cells of NASLib's zero-cost subset; build it with :func:`load_nb101_zc500` (cached)."""

    name = "nb101-zc500"
    space_name = "nb101"

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        if tuple(str(o) for o in arrays["ops_names"]) != OPS:
            raise ValueError(f"{DATA_FILE} does not match archsearch.spaces.nb101 (ops differ)")
        self._space = NB101Space()
        self._hashes = tuple(str(h) for h in arrays["hashes"])
        self._row_of = {digest: row for row, digest in enumerate(self._hashes)}
        if len(self._row_of) != len(self._hashes):
            raise ValueError(f"{DATA_FILE} repeats a cell")
        self._edges = np.asarray(arrays["edges"], dtype=np.uint8)
        self._ops = np.asarray(arrays["ops"], dtype=np.uint8)
        columns = [arrays[m if not m.startswith("zc_") else f"zc__{m[3:]}"] for m in METRICS]
        self._matrix = np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=1)
        self._matrix.setflags(write=False)

    # -- shape of the table ---------------------------------------------------------------------
    def datasets(self) -> tuple[str, ...]:
        return (DATASET,)

    def fidelities(self, dataset: str) -> tuple[int, ...]:
        self._check(dataset, FIDELITY)
        return (FIDELITY,)

    def metric_names(self, dataset: str, fidelity: int) -> tuple[str, ...]:
        self._check(dataset, fidelity)
        return METRICS

    def __len__(self) -> int:
        return len(self._hashes)

    # -- rows -----------------------------------------------------------------------------------
    def index_of(self, arch: Mapping[str, Any]) -> int:
        """The row of ``arch``'s NB101 graph hash; ``ArchError`` for non-NB101 archs and missing cells."""
        digest = self._space.hash(self._space.validate(arch))
        row = self._row_of.get(digest)
        if row is None:
            raise ArchError(f"NB101 cell {digest} is not among the {len(self)} cells of benchmark {self.name!r} "
                            f"(a partial table: NASLib's 500-key subset)")
        return row

    def hash_at(self, index: int) -> str:
        return self._hashes[self._checked_row(index)]

    def arch_at(self, index: int) -> Arch:
        """The arch of row ``index`` (the first of NASLib's keys for that cell, unpruned)."""
        row = self._checked_row(index)
        choices: dict[str, Any] = {n: int(b) for n, b in zip(EDGE_DIMS, self._edges[row].tolist())}
        choices.update({n: OPS[o] for n, o in zip(OP_DIMS, self._ops[row].tolist())})
        return Arch(choices)

    # -- values ---------------------------------------------------------------------------------
    def query(self, arch: Mapping[str, Any], dataset: str, fidelity: int) -> dict[str, float]:
        self._check(dataset, fidelity)
        return dict(zip(METRICS, self._matrix[self.index_of(arch)].tolist()))

    def cost_seconds(self, arch: Mapping[str, Any], dataset: str, fidelity: int) -> float:
        """0: the subset records no training time (NB101's own times are not in NASLib's file)."""
        self._check(dataset, fidelity)
        self.index_of(arch)
        return 0.0

    def column(self, dataset: str, fidelity: int, metric: str) -> np.ndarray:
        """A read-only array of ``metric`` for every row."""
        self._check(dataset, fidelity)
        if metric not in METRICS:
            raise UserError(f"{self.name} has no metric {metric!r}; choose from: {', '.join(METRICS)}")
        return self._matrix[:, METRICS.index(metric)]

    # -- errors ---------------------------------------------------------------------------------
    def _check(self, dataset: str, fidelity: Any) -> None:
        if dataset != DATASET:
            raise UserError(f"benchmark {self.name!r} has no dataset {dataset!r}; choose from: {DATASET}")
        if fidelity != FIDELITY:
            raise UserError(f"benchmark {self.name!r} has no fidelity {fidelity!r} (epochs) for {dataset}; "
                            f"choose from: {FIDELITY}")

    def _checked_row(self, index: int) -> int:
        if not 0 <= index < len(self):
            raise UserError(f"{self.name} index {index} is outside 0..{len(self) - 1}")
        return index

    def __reduce__(self) -> tuple:
        """Pickles as a reference to the cached table."""
        return (load_nb101_zc500, ())

    def __repr__(self) -> str:
        return f"NB101SubsetBenchmark({len(self)} cells, {DATASET}, {FIDELITY} epochs)"


@functools.lru_cache(maxsize=None)
def load_nb101_zc500() -> NB101SubsetBenchmark:
    """The partial NB101 table shipped in the package (loaded once per process)."""
    return NB101SubsetBenchmark(load_packaged_npz(
        "archsearch.benchmarks", "data", DATA_FILE,
        missing=f"the NB101 subset table {DATA_FILE} is missing from the installed package; reinstall archsearch "
                "(or run scripts/convert_nb101_subset.py in a checkout)"))
