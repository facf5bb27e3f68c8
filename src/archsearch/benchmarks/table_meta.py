"""The metadata of a generic table (``NAME.meta.yaml`` beside ``NAME.parquet`` / ``NAME.csv``): what its
columns mean. See :mod:`archsearch.benchmarks.table` for the format (after NAS-Bench-101/201's tables,
Ying et al., ICML 2019; Dong & Yang, ICLR 2020).

Keys (:data:`META_KEYS`): ``space`` (a registered name) and ``space_options`` (e.g. a declared space's
definition), ``dims`` (name -> list of options, or ``{low, high}``), ``dataset``, ``fidelities`` (epochs)
and the default ``fidelity``, ``metrics`` (column -> max | min), ``objective`` and ``report`` (metrics),
``cost`` (the column of simulated training seconds), ``curves`` (name -> column), ``missing`` (fail |
error | restrict), ``net`` (the network options the rows were trained with, e.g. ``{channels: 8}``: what
``archsearch train --from-study`` builds for an arch found on the table), ``description``. Every problem is one ``UserError`` line naming the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from archsearch.core.dims import Categorical, Dim, Integer
from archsearch.core.errors import UserError

# -- defaults in one visible block --------------------------------------------------------------
FORMAT = "archsearch-table/1"
SUFFIXES = (".parquet", ".csv")
META_SUFFIX = ".meta.yaml"
FIDELITY_COLUMN = "fidelity"
FAILURE_COLUMN = "failure"  # optional: why a row's evaluation failed (its metrics are then empty)
# a missing arch: a failed trial, an error that stops the search, or never asked (the search space is restricted to
# the table's archs: archsearch.benchmarks.table_space)
MISSING_MODES = ("fail", "error", "restrict")
DIRECTIONS = ("max", "min")
META_KEYS = ("format", "space", "space_options", "dataset", "dims", "fidelities", "fidelity", "metrics",
             "objective", "report", "cost", "curves", "missing", "net", "description")
REQUIRED_KEYS = ("space", "dataset", "dims", "fidelities", "metrics", "objective", "report", "cost")


@dataclass(frozen=True)
class TableMeta:
    """What a table's columns mean (the parsed ``.meta.yaml``)."""

    space: str
    dataset: str
    dims: dict[str, Dim]
    fidelities: tuple[float, ...]  # ascending
    metrics: dict[str, str]  # metric column -> "max" | "min"
    objective: str  # the search objective's metric
    report: str  # the reported metric
    cost: str  # column of simulated training seconds (a metric or a column of its own)
    fidelity: float | None = None  # the default fidelity of a search (None: the lowest)
    curves: dict[str, str] = field(default_factory=dict)  # curve name -> column
    missing: str = "fail"
    space_options: dict[str, Any] = field(default_factory=dict)
    net: dict[str, Any] = field(default_factory=dict)  # the network options the rows were trained with
    description: str = ""

    @property
    def default_fidelity(self) -> float:
        return self.fidelities[0] if self.fidelity is None else self.fidelity

    def objective_text(self) -> str:
        return f"{self.objective}:{self.metrics[self.objective]}"

    def report_text(self) -> str:
        return f"{self.report}:{self.metrics[self.report]}"

    def to_dict(self) -> dict[str, Any]:
        dims = {name: list(dim.options) if isinstance(dim, Categorical) else {"low": dim.low, "high": dim.high}
                for name, dim in self.dims.items()}
        data = {"format": FORMAT, "space": self.space, "space_options": self.space_options, "dataset": self.dataset,
                "dims": dims, "fidelities": [plain_number(f) for f in self.fidelities],
                "fidelity": None if self.fidelity is None else plain_number(self.fidelity), "metrics": dict(self.metrics),
                "objective": self.objective, "report": self.report, "cost": self.cost, "curves": dict(self.curves),
                "missing": self.missing, "net": dict(self.net), "description": self.description}
        return {key: value for key, value in data.items() if value not in (None, {}, "")}


def is_table_path(name: str) -> bool:
    """Whether ``name`` names a table file (by its suffix) rather than a registered benchmark."""
    return Path(str(name)).suffix.lower() in SUFFIXES


def metadata_path(path: str | Path) -> Path:
    """``runs/t.parquet`` -> ``runs/t.meta.yaml``."""
    path = Path(path)
    return path.with_name(path.stem + META_SUFFIX)


def check_table_path(path: str | Path) -> Path:
    """The table file as an absolute path; UserError when it or its metadata is missing."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(f"a table must be a .parquet or .csv file, got {str(path)!r}")
    if not path.is_file():
        raise UserError(f"table file not found: {path}")
    if not metadata_path(path).is_file():
        raise UserError(f"table {path} has no metadata file {metadata_path(path).name} beside it")
    return path.resolve()


# -- metadata ------------------------------------------------------------------------------------
def read_metadata(path: str | Path) -> TableMeta:
    """The parsed metadata of the table at ``path`` (UserError, one line, for any problem)."""
    file = metadata_path(check_table_path(path))
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"cannot read table metadata {file}: {first}") from None
    return parse_metadata(data, str(file))


def parse_metadata(data: Any, where: str = "table metadata") -> TableMeta:
    """A ``TableMeta`` from a mapping; UserError naming ``where`` and the first problem."""
    def fail(problem: str) -> UserError:
        return UserError(f"{where}: {problem}")

    if not isinstance(data, dict):
        raise fail("must be a mapping of keys (space, dataset, dims, fidelities, metrics, ...)")
    if data.get("format", FORMAT) != FORMAT:
        raise fail(f"format {data.get('format')!r} is not {FORMAT!r}")
    unknown = sorted(set(data) - set(META_KEYS))
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if unknown or missing:
        raise fail(f"unknown key {unknown[0]!r}" if unknown else f"missing key {missing[0]!r}")
    for key in ("space", "dataset", "objective", "report", "cost"):
        if not isinstance(data[key], str) or not data[key]:
            raise fail(f"{key} must be a name, got {data[key]!r}")
    metrics = _mapping(data["metrics"], "metrics", fail)
    bad = [name for name, direction in metrics.items() if direction not in DIRECTIONS]
    if not metrics or bad:
        raise fail(f"metrics must map each metric column to max or min" + (f"; {bad[0]!r} has {metrics[bad[0]]!r}"
                                                                           if bad else ""))
    for key in ("objective", "report"):
        if data[key] not in metrics:
            raise fail(f"{key} {data[key]!r} is not one of the metrics ({', '.join(metrics)})")
    fidelities = _fidelities(data["fidelities"], fail)
    default = data.get("fidelity")
    if default is not None and default not in fidelities:
        raise fail(f"fidelity {default!r} is not one of the fidelities {list(fidelities)}")
    missing_mode = data.get("missing", "fail")
    if missing_mode not in MISSING_MODES:
        raise fail(f"missing must be {' or '.join(MISSING_MODES)}, got {missing_mode!r}")
    return TableMeta(space=data["space"], dataset=data["dataset"], dims=_dims(data["dims"], fail),
                     fidelities=fidelities, metrics=metrics, objective=data["objective"], report=data["report"],
                     cost=data["cost"], fidelity=None if default is None else float(default),
                     curves={str(k): str(v) for k, v in _mapping(data.get("curves") or {}, "curves", fail).items()},
                     missing=missing_mode, space_options=_mapping(data.get("space_options") or {}, "space_options", fail),
                     net=_mapping(data.get("net") or {}, "net", fail), description=str(data.get("description") or ""))


def _mapping(value: Any, key: str, fail: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise fail(f"{key} must be a mapping of names, got {value!r}")
    return dict(value)


def _fidelities(value: Any, fail: Any) -> tuple[float, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
                             for v in values) or len(set(values)) != len(values):
        raise fail(f"fidelities must be distinct positive numbers (epochs), got {value!r}")
    return tuple(sorted(float(v) for v in values))


def _dims(value: Any, fail: Any) -> dict[str, Dim]:
    dims: dict[str, Dim] = {}
    for name, spec in _mapping(value, "dims", fail).items():
        try:
            if isinstance(spec, list):
                dims[name] = Categorical(spec)
            elif isinstance(spec, dict) and set(spec) == {"low", "high"}:
                dims[name] = Integer(spec["low"], spec["high"])
            else:
                raise ValueError("a dim is a list of options or {low: L, high: H}")
        except (ValueError, TypeError) as exc:
            raise fail(f"dim {name!r}: {exc}") from None
    if not dims:
        raise fail("dims must name at least one dim")
    return dims


def plain_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)
