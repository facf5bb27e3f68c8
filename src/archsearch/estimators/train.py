"""TrainEstimator: scores an architecture by training ``space.build(arch)`` on a dataset, for real.

Budgeted training as in the NAS literature's inner loop (Elsken, Metzen & Hutter 2019, Sec. 5): fewer
epochs (the fidelity), a subsampled train set (``fraction``), a wall-clock limit, early termination
(``patience``); the recipe is ``archsearch.estimators.trainer.Recipe`` (NAS-Bench-201's by default).

Each trial is seeded from the study seed and the arch (not from the trial number), so re-running a
trial gives the same weights and the same metrics on CPU at the same torch thread count, in any process
(a worker of ``--workers N`` runs cores/N threads; a float sum split differently over threads can differ
in its last bits). Params, FLOPs and latency
of the network are measured with ``archsearch.metrics`` and recorded with the accuracies. The cost of
a trial is its wall-clock time. The estimator pickles as its options: a worker process loads the
dataset once and keeps it.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from archsearch.core.arch import Arch
from archsearch.core.device import resolve_device
from archsearch.core.errors import ArchError, UserError
from archsearch.core.estimator import Estimator
from archsearch.core.options import check_bool, check_int, check_number, did_you_mean
from archsearch.core.registry import DATASETS
from archsearch.core.result import Result
from archsearch.core.space import SearchSpace
from archsearch.estimators.trainer import Recipe, TrialFailed, train

DEFAULT_DATASET = "digits"
DEFAULT_MEASURE = ("params", "flops", "latency")
MEASURES = (*DEFAULT_MEASURE, "latency_lut")  # latency_lut: summed from a latency lookup table (latency_table)
DEFAULT_LATENCY_BATCH = 32
TRAIN_METRICS = ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc", "epochs",
                 "train_seconds")


def trial_seed(study_seed: int, arch: Arch) -> int:
    """A 63-bit seed from the study seed and the arch's canonical key (stable across processes)."""
    digest = hashlib.sha256(f"{study_seed}:{arch.key()}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def load_dataset(name: str, data_dir: str | None = None, download: bool = False,
                 options: Mapping[str, Any] | None = None) -> Any:
    """A registered dataset; ``data_dir`` / ``download`` go only to loaders that take them, ``options``
    (e.g. ``image_size`` of image-folder) are checked against the loader's signature."""
    from archsearch.core.options import check_options

    loader = DATASETS.load(name)
    check_options("dataset", name, loader, dict(options or {}))
    accepted = inspect.signature(loader).parameters
    given = {key: value for key, value in (("data_dir", data_dir), ("download", download))
             if key in accepted and value not in (None, False)}
    if data_dir is not None and "data_dir" not in accepted:
        raise UserError(f"dataset {name!r} is embedded; it takes no --data-dir")
    return loader(**given, **dict(options or {}))


class TrainEstimator(Estimator):
    """``TrainEstimator(space, "mnist5k", epochs=3, fraction=0.5, net={"channels": 8})``."""

    name = "train"

    def __init__(self, space: SearchSpace, dataset: str = DEFAULT_DATASET, *, fidelity: float | None = None,
                 seed: int = 0, device: str = "auto", data_dir: str | None = None, download: bool = False,
                 fraction: float = 1.0, net: Mapping[str, Any] | None = None,
                 measure: Sequence[str] = DEFAULT_MEASURE, latency_batch: int | None = DEFAULT_LATENCY_BATCH,
                 fidelities: Sequence[float] = (), dataset_options: Mapping[str, Any] | None = None,
                 latency_table: str | None = None, **recipe: Any) -> None:
        owner = "estimator train"
        unknown = sorted(set(recipe) - set(Recipe.option_names()))
        if unknown:
            names = ["fraction", "net", "measure", "latency_batch", "latency_table", "fidelities", "dataset_options",
                     *Recipe.option_names()]
            raise UserError(f"unknown option estimator.{unknown[0]} for estimator 'train'"
                            f"{did_you_mean(unknown[0], names)}; options: {', '.join(names)}")
        if fidelity is not None:
            recipe["epochs"] = fidelity
        self.space, self.dataset_name, self.seed = space, dataset, check_int(owner, "seed", seed, 0)
        self.device_name, self.data_dir, self.download = device, data_dir, check_bool(owner, "download", download)
        self.fraction = check_number(owner, "fraction", fraction, 1e-9, 1.0)
        self.net = dict(net or {})
        self.measure, self.latency_batch = tuple(measure), latency_batch
        if latency_table is not None and not isinstance(latency_table, str):
            raise UserError(f"{owner}: latency_table must be the path of a JSON table, got {latency_table!r}")
        self.latency_table = latency_table
        self.ladder = tuple(check_number(owner, "fidelities", f, 1e-9) for f in fidelities)
        self.recipe = Recipe.from_options(owner, recipe)
        self.options = {"dataset": dataset, "fidelity": fidelity, "seed": seed, "device": device,
                        "data_dir": data_dir, "download": download, "fraction": fraction, "net": self.net,
                        "measure": list(self.measure), "latency_batch": latency_batch, "latency_table": latency_table,
                        "fidelities": list(self.ladder), "dataset_options": dict(dataset_options or {}), **recipe}
        self.device = resolve_device(device)
        self._data: Any = None
        self.dataset = load_dataset(dataset, data_dir, download, dataset_options)  # errors now, not per trial
        self._check_net_and_measure()

    # -- the estimator interface --------------------------------------------------------------
    def evaluate(self, arch: Arch, fidelity: float | None = None) -> Result:
        """Build, measure, train. Any failure is a ``failed`` result charged its elapsed time (so a search
        with a time budget always ends, even if every trial fails)."""
        return self.train_built(arch, lambda: self.build(arch), trial_seed(self.seed, arch) + 1, fidelity)

    def train_built(self, arch: Arch, make_model: Callable[[], torch.nn.Module], train_seed: int,
                    fidelity: float | None = None) -> Result:
        """Build with ``make_model``, measure, train with ``train_seed``; a failure is a ``failed`` result."""
        epochs = self.recipe.epochs if fidelity is None else float(fidelity)
        started = time.perf_counter()
        metrics: dict[str, float] = {}
        try:
            model = make_model()
            metrics = self.model_metrics(model)
            recipe = Recipe(**{**self.recipe.__dict__, "epochs": epochs})
            history = train(model, self.data(), recipe, seed=train_seed)
        except TrialFailed as failure:
            return Result(arch, {**metrics, **failure.history.metrics}, time.perf_counter() - started, epochs,
                          "failed", failure.reason, failure.history.curves)
        except torch.cuda.OutOfMemoryError as exc:
            return Result(arch, metrics, time.perf_counter() - started, epochs, "failed",
                          f"out of memory on {self.device}: {str(exc).splitlines()[0]}")
        except (ArchError, ValueError, RuntimeError, TypeError) as exc:
            return Result(arch, metrics, time.perf_counter() - started, epochs, "failed",
                          f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        return Result(arch, {**metrics, **history.metrics}, time.perf_counter() - started, epochs, "ok",
                      None, history.curves)

    def fidelities(self) -> tuple[float, ...]:
        return self.ladder

    def metrics(self) -> tuple[str, ...]:
        return (*TRAIN_METRICS, *_measured_names(self.measure, self.latency_batch))

    def describe(self) -> dict[str, Any]:
        return {"estimator": self.name, **self.options, "dataset_info": self.dataset.describe(),
                "device_resolved": str(self.device)}

    def _check_net_and_measure(self) -> None:
        """Unknown ``measure`` names or ``net`` options are user errors now, not a failure in every trial."""
        unknown = sorted(set(self.measure) - set(MEASURES))
        if unknown:
            raise UserError(f"estimator train: unknown measure {unknown[0]!r}; choose from {', '.join(MEASURES)}")
        options = self.net_options()
        wrong = sorted(set(self.net) - set(options))
        if options and wrong:  # a space that names its build options
            raise UserError(f"estimator train: unknown net option {wrong[0]!r} for space {self.space.name!r}"
                            f"{did_you_mean(wrong[0], options)}; "
                            f"options: {', '.join(options)}")
        if self.net:  # one network built with them (untrained, on the CPU): a bad value is a user error now
            sample = self.space.sample(np.random.default_rng(0))
            check_net_builds(f"estimator {self.name}", self.space.name, self.net, lambda net: self.network(sample, net))
        if "latency_lut" in self.measure:  # a space whose networks have no units fails now, not at every trial
            from archsearch.metrics.latency_table import latency_units

            latency_units(self.build(self.space.sample(np.random.default_rng(0))), self.dataset.shape)

    def net_options(self) -> list[str]:
        """The ``net`` options the networks take: the keyword-only options of the space's ``build``."""
        parameters = inspect.signature(self.space.build).parameters.items()
        return sorted({n for n, p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
                      - {"num_classes", "in_channels"})  # set from the dataset

    # -- parts, also used by ``archsearch train`` ---------------------------------------------
    def build(self, arch: Arch) -> torch.nn.Module:
        """The network for ``arch`` on the device, initialised from the trial seed."""
        arch = self.space.validate(arch)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(trial_seed(self.seed, arch))
            model = self.network(arch)
        # channels_last on every device: oneDNN's CPU convolutions train NB201 nets 1.3-1.6x faster with it
        return model.to(self.device).to(memory_format=torch.channels_last)

    def network(self, arch: Arch, net: Mapping[str, Any] | None = None) -> torch.nn.Module:
        """The untrained network for ``arch`` on the CPU, from the torch seed in force; ``net``: other net options."""
        return self.space.build(arch, num_classes=self.dataset.num_classes, in_channels=self.dataset.shape[0],
                                **(self.net if net is None else net))

    def model_metrics(self, model: torch.nn.Module) -> dict[str, float]:
        if not self.measure:
            return {}
        from archsearch.metrics import model_metrics

        measure = [name for name in self.measure if name != "latency_lut"]
        out = model_metrics(model, self.dataset.shape, latency_batch=self.latency_batch, measure=measure)
        if "latency_lut" in self.measure:
            out["latency_lut_ms"] = self._latency_lut(model)
        return out

    def _latency_lut(self, model: torch.nn.Module) -> float:
        """Milliseconds predicted by the process's lookup table (``latency_table`` file, saved when it grew)."""
        from archsearch.metrics.latency_table import shared_table

        table = shared_table(self.latency_table, self.device)
        predicted = table.predict(model, self.dataset.shape)
        if self.latency_table is not None and table.added:
            table.save(self.latency_table)
        return predicted

    def data(self) -> Any:
        """The dataset's splits on the device (made once per process)."""
        if self._data is None:
            from archsearch.data.loader import DeviceData

            self._data = DeviceData(self.dataset, self.device, fraction=self.fraction, channels_last=True)
        return self._data

    def __reduce__(self) -> tuple:
        """Pickles as its options: a worker rebuilds the estimator and loads the (cached) dataset itself."""
        return (_rebuild, (type(self), self.space, self.options))


_REBUILT: dict[str, TrainEstimator] = {}  # per process: a worker keeps its estimator (and data) across trials


def _rebuild(kind: type[TrainEstimator], space: SearchSpace, options: dict[str, Any]) -> TrainEstimator:
    key = (f"{kind.__module__}.{kind.__qualname__}:{type(space).__module__}.{type(space).__qualname__}:{space.name}:"
           f"{json.dumps(getattr(space, 'space_options', dict)(), sort_keys=True, default=str)}:"  # declared spaces
           f"{json.dumps(options, sort_keys=True, default=str)}")
    if key not in _REBUILT:
        options = dict(options)
        _REBUILT.clear()  # one study at a time per worker: drop the previous one's data
        _REBUILT[key] = kind(space, options.pop("dataset"), **options)
    return _REBUILT[key]


def check_net_builds(owner: str, space: str, net: Mapping[str, Any], build: Callable[[Mapping[str, Any]], Any]) -> None:
    """Build one network with the ``net`` options (``build(net)``: on the CPU, untrained, the global torch seed left
    alone), so that a value of a wrong type or size (``channels=abc``, ``channels=0``) is a UserError naming the
    option before the search starts, not a failure of every trial. No options: nothing to check."""
    if not net:
        return
    with torch.random.fork_rng(devices=[]):
        try:
            build(net)
            return
        except (TypeError, ValueError) as exc:
            error = exc
        culprits = [name for name in net if _fails(build, {name: net[name]})] or list(net)
    settings = ", ".join(f"net.{name}={net[name]!r}" for name in culprits)
    reason = str(error).splitlines()[0] if str(error) else ""
    raise UserError(f"{owner}: {settings} cannot build a network of space {space!r} "
                    f"({type(error).__name__}: {reason})")


def _fails(build: Callable[[Mapping[str, Any]], Any], net: Mapping[str, Any]) -> bool:
    try:
        build(net)
    except (TypeError, ValueError):
        return True
    return False


def _measured_names(measure: Sequence[str], latency_batch: int | None) -> tuple[str, ...]:
    names: list[str] = []
    for item in measure:
        if item == "latency":
            names += ["latency_ms"] + (["latency_batch_ms"] if latency_batch else [])
        elif item == "latency_lut":
            names.append("latency_lut_ms")
        else:
            names.append(item)
    return tuple(names)
