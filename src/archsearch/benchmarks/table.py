"""Generic tables: any space's architectures with their metrics, as a CSV or Parquet file plus metadata.

A tabular benchmark in the sense of NAS-Bench-101/201 (Ying et al., ICML 2019; Dong & Yang, ICLR 2020):
every (tabulated) architecture pre-evaluated, so that a search queries it in O(1) and is charged the
recorded training time. Here the table is an ordinary file anyone can write (``archsearch bench build``
does, by training; ``archsearch bench export nb201`` converts a shipped one):

- ``NAME.parquet`` or ``NAME.csv``: one row per architecture (per fidelity): one column per dim (its
  choice), a ``fidelity`` column (training epochs) when the table has several fidelities, one column per
  metric, the cost column, and optional learning curves (a list per row in Parquet, JSON text in CSV);
  An optional ``failure`` column records why an arch's evaluation failed (e.g. rejected by a numerical guard):
  its metrics are empty and a search's query of it is the failed trial the real evaluation was, at its cost;
- ``NAME.meta.yaml`` beside it (:data:`META_KEYS`): the space (a registered name, with ``space_options``
  for a declared one) and its dims, the dataset, the fidelities and the default one, the metrics with their
  directions, which metric is the search ``objective`` and which the ``report``-ed one, the ``cost`` column,
  the curve columns, and what a query of an architecture the table lacks does (``missing``: ``fail`` gives
  a failed trial, ``error`` stops the search).

:func:`load_table` (cached per file version; a table pickles as its path), :func:`write_table`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from archsearch.benchmarks.base import TabularBenchmark
from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Dim, Integer
from archsearch.core.errors import ArchError, UserError
from archsearch.benchmarks.table_meta import (FAILURE_COLUMN, FIDELITY_COLUMN, SUFFIXES, TableMeta, plain_number,
                                              check_table_path, is_table_path, metadata_path, parse_metadata,
                                              read_metadata)

__all__ = ["GenericTable", "TableMeta", "is_table_path", "load_table", "metadata_path", "read_metadata",
           "write_table"]


# -- the table -----------------------------------------------------------------------------------
class GenericTable(TabularBenchmark):
    """A table loaded by :func:`load_table`: O(1) queries through a dict from arch key to arch index and,
    per fidelity, a metric matrix indexed by arch (NaN rows where a partial table lacks the arch)."""

    name = "table"

    def __init__(self, path: Path, meta: TableMeta, archs: list[Arch], fidelity_of_row: np.ndarray,
                 arch_of_row: np.ndarray, values: np.ndarray, cost: np.ndarray,
                 curves: dict[str, list[list[float]]], failures: list[str | None] | None = None) -> None:
        self.path, self.meta, self.space_name = path, meta, meta.space
        self._archs = archs
        self._index = {arch.key(): i for i, arch in enumerate(archs)}
        self._dim_names = tuple(meta.dims)
        metric_names = tuple(meta.metrics)
        self._tables: dict[float, tuple[tuple[str, ...], np.ndarray, np.ndarray]] = {}
        self._row: dict[float, np.ndarray] = {}  # fidelity -> arch index -> row in the file (-1: missing)
        for fidelity in meta.fidelities:
            rows = np.flatnonzero(fidelity_of_row == fidelity)
            by_arch = np.full(len(archs), -1, dtype=np.int64)
            by_arch[arch_of_row[rows]] = rows
            present = by_arch >= 0
            offered = [k for k in range(len(metric_names)) if not np.isnan(values[rows, k]).all()]
            matrix = np.full((len(archs), len(offered)), np.nan)
            matrix[present] = values[by_arch[present]][:, offered]
            costs = np.full(len(archs), np.nan)
            costs[present] = cost[by_arch[present]]
            self._tables[fidelity] = (tuple(metric_names[k] for k in offered), _read_only(matrix), _read_only(costs))
            self._row[fidelity] = _read_only(by_arch)
        self._curves = curves
        self._failures = failures  # per row in the file; None: the table records no failed evaluation
        self.cost_metric = meta.cost if meta.cost in meta.metrics else None  # read by the tabular estimator
        self.default_missing = meta.missing

    # -- shape -----------------------------------------------------------------------------------
    def datasets(self) -> tuple[str, ...]:
        return (self.meta.dataset,)

    def fidelities(self, dataset: str) -> tuple[float, ...]:
        self._check_dataset(dataset)
        return tuple(plain_number(f) for f in self.meta.fidelities)

    def metric_names(self, dataset: str, fidelity: float) -> tuple[str, ...]:
        return self._table(dataset, fidelity)[0]

    def __len__(self) -> int:
        return len(self._archs)

    def rows(self, fidelity: float | None = None) -> int:
        """How many archs the table has at ``fidelity`` (default: the default fidelity)."""
        fidelity = self.meta.default_fidelity if fidelity is None else float(fidelity)
        return int((self._row[fidelity] >= 0).sum())

    # -- rows --------------------------------------------------------------------------------------
    def index_of(self, arch: Mapping[str, Any]) -> int:
        try:
            if len(arch) != len(self._dim_names):
                raise KeyError(len(arch))
            key = json.dumps({name: arch[name] for name in self._dim_names}, separators=(",", ":"))
        except (KeyError, TypeError):
            raise ArchError(f"not an arch of table {self.path.name} (dims {', '.join(self._dim_names)}): "
                            f"{dict(arch)}") from None
        index = self._index.get(key)
        if index is None:
            raise ArchError(f"arch {key} is not in table {self.path.name} (a partial table of {len(self)} archs)")
        return index

    def arch_at(self, index: int) -> Arch:
        if not 0 <= index < len(self._archs):
            raise UserError(f"table {self.path.name} has no row {index}; rows 0..{len(self._archs) - 1}")
        return self._archs[index]

    # -- values ------------------------------------------------------------------------------------
    def query(self, arch: Mapping[str, Any], dataset: str, fidelity: float) -> dict[str, float]:
        names, matrix, _ = self._table(dataset, fidelity)
        return dict(zip(names, matrix[self._present(arch, fidelity)].tolist()))

    def cost_seconds(self, arch: Mapping[str, Any], dataset: str, fidelity: float) -> float:
        costs = self._table(dataset, fidelity)[2]
        return float(costs[self._present(arch, fidelity)])

    def curves(self, arch: Mapping[str, Any], dataset: str, fidelity: float) -> dict[str, list[float]]:
        """The learning curves of ``arch`` at ``fidelity`` (empty when the table has none)."""
        self._table(dataset, fidelity)
        row = int(self._row[float(fidelity)][self._present(arch, fidelity)])
        return {name: list(values[row]) for name, values in self._curves.items() if values[row] is not None}

    def column(self, dataset: str, fidelity: float, metric: str) -> np.ndarray:
        """``metric`` of every arch at ``fidelity`` (NaN where the table lacks the arch)."""
        names, matrix, _ = self._table(dataset, fidelity)
        if metric not in names:
            raise UserError(f"table {self.path.name} has no metric {metric!r} at fidelity {plain_number(fidelity)}; "
                            f"choose from: {', '.join(names)}")
        return matrix[:, names.index(metric)]

    def failure(self, arch: Mapping[str, Any], dataset: str, fidelity: float) -> str | None:
        if self._failures is None:  # the tabular estimator's hot path: no second lookup for most tables
            return None
        self._table(dataset, fidelity)
        return self._failures[int(self._row[float(fidelity)][self._present(arch, fidelity)])]

    def failures(self, fidelity: float | None = None) -> int:
        """How many archs the table records as failed at ``fidelity`` (default: the default fidelity)."""
        if self._failures is None:
            return 0
        fidelity = self.meta.default_fidelity if fidelity is None else float(fidelity)
        return sum(self._failures[row] is not None for row in self._row[fidelity].tolist() if row >= 0)

    def network_options(self) -> dict[str, Any]:
        return dict(self.meta.net)

    def check_space(self, space: Any) -> None:
        """UserError unless ``space`` has the table's dims (names, order and choices)."""
        dims = space.dims()
        if list(dims) != list(self.meta.dims):
            raise UserError(f"table {self.path.name} has dims {', '.join(self.meta.dims)}; space {space.name!r} "
                            f"has {', '.join(dims)}")
        for name, dim in dims.items():
            if _options(dim) != _options(self.meta.dims[name]):
                raise UserError(f"table {self.path.name}: dim {name!r} has choices "
                                f"{self.meta.dims[name].describe()}, space {space.name!r} has {dim.describe()}")

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "benchmark": str(self.path), "missing": self.meta.missing,
                "rows_per_fidelity": {plain_number(f): self.rows(f) for f in self.meta.fidelities},
                "failed_per_fidelity": {plain_number(f): self.failures(f) for f in self.meta.fidelities}}

    # -- errors ------------------------------------------------------------------------------------
    def _present(self, arch: Mapping[str, Any], fidelity: float) -> int:
        index = self.index_of(arch)
        if self._row[float(fidelity)][index] < 0:
            raise ArchError(f"arch {self._archs[index].key()} is not in table {self.path.name} at fidelity "
                            f"{plain_number(fidelity)} (a partial table)")
        return index

    def _table(self, dataset: str, fidelity: float) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
        self._check_dataset(dataset)
        try:
            return self._tables[float(fidelity)]
        except (KeyError, TypeError, ValueError):
            raise UserError(f"table {self.path.name} has no fidelity {fidelity!r} (epochs); choose from: "
                            f"{', '.join(str(plain_number(f)) for f in self.meta.fidelities)}") from None

    def _check_dataset(self, dataset: str) -> None:
        if dataset != self.meta.dataset:
            raise UserError(f"table {self.path.name} has no dataset {dataset!r}; it holds {self.meta.dataset!r}")

    def __reduce__(self) -> tuple:
        """Pickles as its path: a worker process loads (and caches) the table itself."""
        return (load_table, (str(self.path),))

    def __repr__(self) -> str:
        return f"GenericTable({self.path.name}: {len(self)} archs of {self.space_name}, {self.meta.dataset})"


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


# -- reading ------------------------------------------------------------------------------------
def load_table(path: str | Path) -> GenericTable:
    """The table at ``path`` (``.parquet`` or ``.csv`` with ``.meta.yaml`` beside it), loaded once per
    process and file content (a hash of both files); UserError (one line) for a missing file, bad metadata or a bad column."""
    resolved = check_table_path(path)
    digest = hashlib.blake2b(digest_size=16)
    for file in (resolved, metadata_path(resolved)):
        digest.update(file.read_bytes())
    return _load_cached(str(resolved), digest.hexdigest())


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, _content: str) -> GenericTable:
    file = Path(path)
    meta = read_metadata(file)
    frame = _read_frame(file, meta)
    where = f"table {file.name}"
    fidelity_of_row = _fidelity_column(frame, meta, where)
    codes = np.stack([_dim_codes(frame, name, dim, where) for name, dim in meta.dims.items()], axis=1)
    unique, arch_of_row = np.unique(codes, axis=0, return_inverse=True)
    arch_of_row = arch_of_row.reshape(-1)
    pairs = arch_of_row * len(meta.fidelities) + np.searchsorted(meta.fidelities, fidelity_of_row)
    if len(np.unique(pairs)) != len(pairs):
        raise UserError(f"{where}: an arch appears twice at one fidelity")
    archs = [Arch({name: _value_at(dim, int(code)) for (name, dim), code in zip(meta.dims.items(), row)})
             for row in unique.tolist()]
    values = np.stack([_numbers(frame, name, where) for name in meta.metrics], axis=1)
    cost = _numbers(frame, meta.cost, where)
    curves = {name: _curve_column(frame, column, where) for name, column in meta.curves.items()}
    failures = _failure_column(frame) if FAILURE_COLUMN in frame.columns else None
    return GenericTable(file, meta, archs, fidelity_of_row, arch_of_row, values, cost, curves, failures)


def _read_frame(file: Path, meta: TableMeta) -> Any:
    import pandas as pd

    try:
        if file.suffix.lower() == ".parquet":
            return pd.read_parquet(file)
        dims_as_text = {name: str for name in meta.dims}
        exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}  # 3: the default
        return pd.read_csv(file, dtype=dims_as_text, **exact)
    except ImportError as exc:
        raise UserError(f"reading {file.name} needs pyarrow ({exc}): pip install pyarrow") from None
    except Exception as exc:  # noqa: BLE001 - pandas/pyarrow raise many types for a corrupt file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"cannot read table {file}: {first}") from None


def _column(frame: Any, name: str, where: str) -> Any:
    if name not in frame.columns:
        raise UserError(f"{where}: column {name!r} is missing (columns: {', '.join(map(str, frame.columns))})")
    return frame[name]


def _fidelity_column(frame: Any, meta: TableMeta, where: str) -> np.ndarray:
    if FIDELITY_COLUMN not in frame.columns:
        if len(meta.fidelities) > 1:
            raise UserError(f"{where}: several fidelities need a {FIDELITY_COLUMN!r} column")
        return np.full(len(frame), meta.fidelities[0])
    values = _numbers(frame, FIDELITY_COLUMN, where)
    unknown = sorted(set(values.tolist()) - set(meta.fidelities))
    if unknown:
        raise UserError(f"{where}: fidelity {plain_number(unknown[0]) if math.isfinite(unknown[0]) else unknown[0]} "
                        f"is not one of the metadata's fidelities {[plain_number(f) for f in meta.fidelities]}")
    return values


def _numbers(frame: Any, name: str, where: str) -> np.ndarray:
    try:
        return _column(frame, name, where).to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise UserError(f"{where}: column {name!r} must hold numbers") from None


def _dim_codes(frame: Any, name: str, dim: Dim, where: str) -> np.ndarray:
    """The index of each row's choice of ``dim`` (text from a CSV and typed Parquet values alike)."""
    import pandas as pd

    codes, uniques = pd.factorize(_column(frame, name, where), use_na_sentinel=True)
    if (codes < 0).any():
        raise UserError(f"{where}: column {name!r} has an empty cell (row {int(np.argmax(codes < 0))})")
    lookup = {str(option): index for index, option in enumerate(_options(dim))}
    mapped = []
    for value in uniques.tolist():
        text = str(value)
        if isinstance(dim, Integer) and text not in lookup:  # 3.0 from a float column
            text = text.removesuffix(".0")
        if text not in lookup:
            raise UserError(f"{where}: column {name!r} holds {value!r}, not a choice of dim {name} "
                            f"({dim.describe()})")
        mapped.append(lookup[text])
    return np.asarray(mapped, dtype=np.int64)[codes]


def _options(dim: Dim) -> list[Any]:
    return list(dim.options) if isinstance(dim, Categorical) else list(range(dim.low, dim.high + 1))


def _value_at(dim: Dim, code: int) -> Any:
    return dim.options[code] if isinstance(dim, Categorical) else dim.low + code


def _curve_column(frame: Any, column: str, where: str) -> list[list[float] | None]:
    """A list of floats per row (Parquet lists or CSV JSON text); None where a row has no curve."""
    out: list[list[float] | None] = []
    for cell in _column(frame, column, where).tolist():
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            out.append(None)
            continue
        try:
            values = json.loads(cell) if isinstance(cell, str) else list(cell)
            out.append([float(v) for v in values])
        except (ValueError, TypeError):
            raise UserError(f"{where}: curve column {column!r} must hold lists of numbers, got {cell!r}") from None
    return out


def _failure_column(frame: Any) -> list[str | None]:
    """The failure reason of each row (None: the row's evaluation succeeded)."""
    return [None if cell is None or (isinstance(cell, float) and math.isnan(cell)) or str(cell) == "" else str(cell)
            for cell in frame[FAILURE_COLUMN].tolist()]


# -- writing ------------------------------------------------------------------------------------
def write_table(path: str | Path, meta: TableMeta, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write ``rows`` (each: the dims, ``fidelity``, the metrics, the cost and curve columns, a curve a list of
    floats or None, and ``failure``: why a failed row failed) to ``path`` (.parquet or .csv) and ``meta`` to the metadata file beside it."""
    import pandas as pd

    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(f"a table must be written to a .parquet or .csv file, got {str(path)!r}")
    if not path.resolve().parent.is_dir():
        raise UserError(f"folder for the table does not exist: {path.parent}")
    parse_metadata(meta.to_dict(), "the table's metadata")  # what is written can be read back
    columns = [*meta.dims, FIDELITY_COLUMN, *meta.metrics, *([meta.cost] if meta.cost not in meta.metrics else []),
               *meta.curves.values(), *([FAILURE_COLUMN] if any(row.get(FAILURE_COLUMN) for row in rows) else [])]
    frame = pd.DataFrame([{name: row.get(name) for name in columns} for row in rows], columns=columns)
    for name in [*meta.metrics, meta.cost, FIDELITY_COLUMN]:
        frame[name] = frame[name].astype("float64")
    temporary = path.with_name(path.name + ".tmp")
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(temporary, index=False)
    else:
        for column in meta.curves.values():
            frame[column] = [None if c is None else json.dumps([float(v) for v in c]) for c in frame[column]]
        frame.to_csv(temporary, index=False)
    meta_file = metadata_path(path)
    meta_temporary = meta_file.with_name(meta_file.name + ".tmp")
    meta_temporary.write_text(yaml.safe_dump(meta.to_dict(), sort_keys=False, allow_unicode=True, default_flow_style=None), encoding="utf-8")
    temporary.replace(path)
    meta_temporary.replace(meta_file)
    return path
