"""A latency lookup table: the latency of a network predicted as the sum of its units' measured latencies.

MnasNet (Tan et al., CVPR 2019) measured every sampled model on a phone; FBNet (Wu et al., CVPR 2019,
"FBNet: Hardware-Aware Efficient ConvNet Design via Differentiable Neural Architecture Search", Sec. 3.2)
replaced that by a lookup table: each block (operator type, configuration and input shape) is measured once on
the target device at batch 1, and a network's latency is the sum over its blocks (their Eq. 5),
``LAT(a) = sum_l LAT(b_l)``.

Here a unit is whatever a model lists in ``latency_units(input_shape)`` (e.g.
:class:`archsearch.nn.mobile.MobileNetwork`): ``(key, module, input_shape)`` triples whose key names the
configuration and the input shape. A missing key is measured on the spot with :func:`measure_latency` on the
unit module alone (a contiguous copy, batch 1, median of ``repeats`` timed passes after ``warmup``). The table
is JSON with a device signature (CPU model, torch version and threads; or CUDA device name): a table made on
another device is refused unless forced.
"""

from __future__ import annotations

import copy
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from archsearch.core.errors import UserError
from archsearch.metrics._runtime import check_input_shape
from archsearch.metrics.latency import measure_latency

# -- defaults: the measurement protocol ----------------------------------------------------------------------
FORMAT = "archsearch-latency-table"
VERSION = 1
WARMUP, REPEATS = 10, 30  # per unit and end to end alike: units are short, so many repeats cost little
STATISTICS = ("median", "min")  # median as measure_latency; min (timeit's advice) resists other processes' load


def device_signature(device: torch.device | str = "cpu") -> dict[str, Any]:
    """What a latency depends on besides the network: the processor, torch's version and its thread count."""
    device = torch.device(device)
    signature: dict[str, Any] = {"device": device.type, "torch": torch.__version__}
    if device.type == "cuda":
        signature["name"] = torch.cuda.get_device_name(device)
    else:
        signature["name"] = _cpu_name()
        signature["threads"] = torch.get_num_threads()
    return signature


def _cpu_name() -> str:
    """The CPU model of /proc/cpuinfo, else ``platform.processor()`` / ``platform.machine()``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown cpu"


def latency_units(model: nn.Module, input_shape: Sequence[int]) -> list[tuple[str, nn.Module, tuple[int, ...]]]:
    """The model's ``latency_units(input_shape)``; a ``UserError`` for a model that has none."""
    units = getattr(model, "latency_units", None)
    if not callable(units):
        raise UserError(f"a latency table needs a model with latency_units(input_shape) (e.g. the 'mobile' "
                        f"space's networks); {type(model).__name__} has none")
    return list(units(check_input_shape(input_shape)))


class LatencyTable:
    """``{unit key: median ms at batch 1}`` for one device; ``predict`` sums a model's units."""

    def __init__(self, device: torch.device | str = "cpu", *, entries: dict[str, float] | None = None,
                 warmup: int = WARMUP, repeats: int = REPEATS, statistic: str = "median") -> None:
        if statistic not in STATISTICS:
            raise UserError(f"latency table: statistic must be one of {', '.join(STATISTICS)}, got {statistic!r}")
        if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0 or isinstance(repeats, bool) \
                or not isinstance(repeats, int) or repeats < 1:
            raise UserError(f"latency table: warmup must be an integer >= 0 and repeats >= 1, got {warmup!r}, {repeats!r}")
        self.device = torch.device(device)
        self.signature = device_signature(self.device)
        self.entries: dict[str, float] = dict(entries or {})
        self.warmup, self.repeats, self.statistic = warmup, repeats, statistic
        self.scale, self.offset = 1.0, 0.0  # calibration: predicted = scale * sum of units + offset
        self.added = 0  # keys measured since the last save

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    # -- measuring and predicting -------------------------------------------------------------
    def measure(self, module: nn.Module, input_shape: Sequence[int]) -> float:
        """Milliseconds of ``module`` (a contiguous copy) at batch 1: ``warmup`` untimed passes, then the
        table's statistic over ``repeats`` timed passes of :func:`measure_latency` (one pass per call)."""
        alone = copy.deepcopy(module).to(memory_format=torch.contiguous_format)
        if self.statistic == "median":
            return measure_latency(alone, input_shape, warmup=self.warmup, repeats=self.repeats, device=self.device)
        first = measure_latency(alone, input_shape, warmup=self.warmup, repeats=1, device=self.device)
        return min([first] + [measure_latency(alone, input_shape, warmup=0, repeats=1, device=self.device)
                              for _ in range(self.repeats - 1)])

    def unit_latency(self, key: str, unit: nn.Module, input_shape: Sequence[int]) -> float:
        """The table's milliseconds for ``key``, measured on ``unit`` alone when missing."""
        if key not in self.entries:
            self.entries[key] = self.measure(unit, input_shape)
            self.added += 1
        return self.entries[key]

    def breakdown(self, model: nn.Module, input_shape: Sequence[int]) -> list[tuple[str, float]]:
        """``(key, ms)`` per unit of ``model`` on one input of ``input_shape``."""
        return [(key, self.unit_latency(key, unit, shape)) for key, unit, shape in latency_units(model, input_shape)]

    def unit_sum(self, model: nn.Module, input_shape: Sequence[int]) -> float:
        """The sum of the units' latencies (FBNet's Eq. 5), uncalibrated."""
        return float(sum(ms for _, ms in self.breakdown(model, input_shape)))

    def predict(self, model: nn.Module, input_shape: Sequence[int]) -> float:
        """Predicted milliseconds of one forward pass at batch 1: the sum of the units' latencies, through the
        table's calibration (the identity until ``calibrate``)."""
        return self.scale * self.unit_sum(model, input_shape) + self.offset

    def calibrate(self, models: Sequence[nn.Module], input_shape: Sequence[int]) -> tuple[float, float]:
        """Fit ``measured = scale * unit sum + offset`` (least squares; the scale alone for fewer than 3 models)
        on these models, measured end to end: once per device, on models other than those to predict. Units
        alone run with their weights and inputs hot in cache and without the hand-over between units, so the
        plain sum is biased low by a roughly constant fraction on a CPU."""
        sums = np.array([self.unit_sum(model, input_shape) for model in models])
        measured = np.array([self.measure_end_to_end(model, input_shape) for model in models])
        if len(models) >= 3:
            scale, offset = np.polyfit(sums, measured, 1)
        else:
            scale, offset = float(measured.sum() / sums.sum()), 0.0
        self.scale, self.offset = float(scale), float(offset)
        return self.scale, self.offset

    def measure_end_to_end(self, model: nn.Module, input_shape: Sequence[int]) -> float:
        """Measured milliseconds of the whole model at batch 1, with the protocol of the units."""
        latency_units(model, input_shape)  # the same models as predict, the same errors
        return self.measure(model, input_shape)

    # -- files --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "signature": self.signature,
                "protocol": {"batch_size": 1, "warmup": self.warmup, "repeats": self.repeats,
                             "statistic": self.statistic},
                "calibration": {"scale": self.scale, "offset": self.offset},
                "entries": dict(sorted(self.entries.items()))}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the table as JSON (atomically: a reader never sees half a file)."""
        path = Path(path)
        if not path.parent.is_dir():
            raise UserError(f"folder of the latency table does not exist: {path.parent}")
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        os.replace(temporary, path)
        self.added = 0

    @classmethod
    def load(cls, path: str | os.PathLike[str], device: torch.device | str = "cpu", *,
             force: bool = False) -> "LatencyTable":
        """The table in ``path``; a ``UserError`` when it is unreadable or was measured on another device
        (``force`` takes it anyway, keeping this device's signature)."""
        data = _read_table(Path(path))
        protocol = data["protocol"]
        table = cls(device, entries=data["entries"], warmup=protocol.get("warmup", WARMUP),
                    repeats=protocol.get("repeats", REPEATS), statistic=protocol.get("statistic", "median"))
        table.scale, table.offset = data["calibration"]["scale"], data["calibration"]["offset"]
        if data["signature"] != table.signature and not force:
            raise UserError(f"latency table {path} was measured on {_describe(data['signature'])}, not on this "
                            f"{_describe(table.signature)}; measure a new table (or force it)")
        return table

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None, device: torch.device | str = "cpu", *,
             force: bool = False, **protocol: Any) -> "LatencyTable":
        """The table in ``path`` if the file exists (its own protocol), else a new empty one with ``protocol``
        (``warmup``, ``repeats``, ``statistic``), also for ``path`` None."""
        if path is not None and Path(path).exists():
            return cls.load(path, device, force=force)
        return cls(device, **protocol)


def _read_table(path: Path) -> dict[str, Any]:
    """The checked JSON document of a table file (one-line ``UserError`` otherwise)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read latency table {path}: {type(exc).__name__}: {str(exc).splitlines()[0]}"
                        ) from None
    entries = data.get("entries") if isinstance(data, dict) else None
    if (not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("signature"), dict)
            or not isinstance(data.get("protocol", {}), dict) or not isinstance(entries, dict)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in entries.values())):
        raise UserError(f"{path} is not a latency table (expected a JSON object with format {FORMAT!r}, "
                        "signature and entries {key: ms})")
    data.setdefault("protocol", {})
    calibration = data.setdefault("calibration", {"scale": 1.0, "offset": 0.0})
    if not (isinstance(calibration, dict) and all(isinstance(calibration.get(k), (int, float))
                                                  and not isinstance(calibration.get(k), bool) for k in ("scale", "offset"))):
        raise UserError(f"latency table {path}: calibration must be {{'scale': number, 'offset': number}}")
    return data


def _describe(signature: dict[str, Any]) -> str:
    threads = f", {signature['threads']} threads" if "threads" in signature else ""
    return f"{signature.get('device')} {signature.get('name')!r} (torch {signature.get('torch')}{threads})"


_SHARED: dict[tuple[str | None, str], LatencyTable] = {}  # per process, for estimators


def shared_table(path: str | None, device: torch.device | str = "cpu") -> LatencyTable:
    """One table per (file, device) in this process: ``path`` None is an in-memory table for the process."""
    key = (None if path is None else str(Path(path).resolve()), str(torch.device(device)))
    if key not in _SHARED:
        _SHARED[key] = LatencyTable.open(path, device)
    return _SHARED[key]
