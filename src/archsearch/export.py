"""Checkpoints and deployable exports of a found network.

- :func:`save_checkpoint` / :func:`load_checkpoint`: the weights plus all that rebuilds the network (space
  name, arch, build kwargs, input shape, classes) in one file that ``torch.load(weights_only=True)`` reads,
  so loading a checkpoint never unpickles code.
- :func:`export_torchscript` (``torch.jit.trace``), :func:`export_onnx` (PyTorch's TorchScript-based ONNX
  exporter, dynamic batch axis, checked against PyTorch with ONNX Runtime) and :func:`export_genotype`
  (JSON: the arch as a mapping and as the space's native string, the way NAS papers publish genotypes,
  e.g. DARTS, Liu et al., ICLR 2019; NAS-Bench-201, Dong & Yang, ICLR 2020).
- :func:`export_all`: every format from one checkpoint (the ``archsearch export`` command).
- :func:`arch_checkpoint` / :func:`best_checkpoint`: an arch, or a stored search's best, at its seeded weights.
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from archsearch.core.errors import UserError
from archsearch.core.space import SearchSpace
from archsearch.metrics._runtime import check_input_shape, dummy_input, evaluating

CHECKPOINT_FORMAT = "archsearch-checkpoint"
CHECKPOINT_VERSION = 1
GENOTYPE_FORMAT = "archsearch-genotype"
EXPORT_FORMATS: tuple[str, ...] = ("torchscript", "onnx", "genotype")
EXPORT_FILES = {"torchscript": "model.torchscript.pt", "onnx": "model.onnx", "genotype": "genotype.json"}
ONNX_EXTRA_MESSAGE = "ONNX export needs the 'export' extra: pip install archsearch[export]"
_PAYLOAD_KEYS = ("state_dict", "arch", "space", "net", "input_shape", "num_classes", "extra")
# torch 2.13 deprecates torch.jit.trace / save and the TorchScript-based ONNX exporter but they still work;
# these (and only these) warnings are silenced around the calls that raise them.
_DEPRECATIONS = (r"`torch\.jit\.(trace|trace_method|save)` is deprecated",
                 r"You are using the legacy TorchScript-based ONNX",
                 r"The feature will be removed\. Please remove usage of this function")
CPU = torch.device("cpu")


class ExportError(UserError):
    """An export whose outputs differ from the PyTorch model's (tracing or conversion changed the network)."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: what rebuilds the network, and its weights."""

    arch: dict[str, Any]
    space: str
    net: dict[str, Any]
    input_shape: tuple[int, ...]
    num_classes: int
    extra: dict[str, Any] = field(default_factory=dict)
    state_dict: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)
    space_options: dict[str, Any] = field(default_factory=dict)  # e.g. a declared space's definition

    def search_space(self) -> SearchSpace:
        from archsearch.spaces import create_space

        return create_space(self.space, self.space_options)

    def build_model(self) -> nn.Module:
        """The network, rebuilt from the space and loaded with the weights (strict), in eval mode."""
        space = self.search_space()
        arch = space.validate(self.arch)
        model = space.build(arch, **{**self.net, "num_classes": self.num_classes, "in_channels": self.input_shape[0]})
        problem = _state_dict_mismatch(model.state_dict(), self.state_dict)
        if problem:
            raise UserError(f"checkpoint weights do not fit its {self.space} network: {problem}")
        model.load_state_dict(self.state_dict, strict=True)
        return model.eval()


# -- checkpoints --------------------------------------------------------------------------------
def save_checkpoint(path: str | os.PathLike, model: nn.Module, *, arch: Mapping[str, Any], space: str | SearchSpace,
                    net: Mapping[str, Any], input_shape: Sequence[int], num_classes: int,
                    extra: Mapping[str, Any] | None = None, space_options: Mapping[str, Any] | None = None) -> Path:
    """Write ``model``'s weights (on CPU) and how to rebuild it; only plain types besides the tensors. A space
    object brings its own ``space_options`` (a declared space's definition)."""
    if space_options is None and isinstance(space, SearchSpace):
        space_options = space.space_options()
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "state_dict": {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()},
        "arch": _plain(dict(arch), "arch"),
        "space": space.name if isinstance(space, SearchSpace) else str(space),
        "net": _plain(dict(net), "net"),
        "input_shape": list(check_input_shape(input_shape)),
        "num_classes": int(num_classes),
        "extra": _plain(dict(extra or {}), "extra"),
    }
    if space_options:  # optional: older checkpoints have none
        payload["space_options"] = _plain(dict(space_options), "space_options")
    path = Path(path)
    _atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return path


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint with ``weights_only=True``; a missing or foreign file is a ``UserError``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # not a torch file, truncated, or holding objects weights_only refuses
        refused = "Weights only load failed" in str(exc)
        reason = "it holds objects that weights_only loading refuses" if refused else "torch.load cannot read it"
        raise UserError(f"{path} is not an archsearch checkpoint ({reason})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise UserError(f"{path} is not an archsearch checkpoint (no format {CHECKPOINT_FORMAT!r})")
    version = payload.get("version")
    if not isinstance(version, int) or not 1 <= version <= CHECKPOINT_VERSION:
        raise UserError(f"{path} is checkpoint version {version!r}; this archsearch reads version {CHECKPOINT_VERSION}")
    missing = [key for key in _PAYLOAD_KEYS if key not in payload]
    if missing:
        raise UserError(f"{path} is a damaged archsearch checkpoint: missing {', '.join(missing)}")
    try:
        return Checkpoint(arch=dict(payload["arch"]), space=str(payload["space"]), net=dict(payload["net"]),
                          input_shape=check_input_shape(payload["input_shape"]),
                          num_classes=int(payload["num_classes"]), extra=dict(payload["extra"]),
                          state_dict=dict(payload["state_dict"]), space_options=dict(payload.get("space_options") or {}))
    except (TypeError, ValueError, UserError) as exc:
        raise UserError(f"{path} is a damaged archsearch checkpoint: {_one_line(exc)}") from None


# -- exports ------------------------------------------------------------------------------------
def export_torchscript(model: nn.Module, input_shape: Sequence[int], path: str | os.PathLike, *,
                       atol: float = 1e-5) -> Path:
    """Trace ``model`` (eval mode, on CPU) and save it; the traced outputs must match the eager ones."""
    path = Path(path)
    with evaluating(model, CPU):
        example = dummy_input(input_shape, batch_size=2, device=CPU)
        with _quiet_deprecations():
            traced = torch.jit.trace(model, example, check_trace=False)
        for batch in (2, 3):
            x = dummy_input(input_shape, batch_size=batch, device=CPU, seed=batch)
            _check_close("TorchScript", _max_abs_diff(model(x), traced(x)), atol)
        with _quiet_deprecations():
            _atomic_write(path, lambda tmp: torch.jit.save(traced, str(tmp)))
    return path


def export_onnx(model: nn.Module, input_shape: Sequence[int], path: str | os.PathLike, *, check: bool = True,
                atol: float = 1e-4, opset: int = 17) -> float:
    """Export to ONNX (input ``input``, output ``output``, dynamic batch axis 0).

    With ``check``, run the file in ONNX Runtime on random batches of 1 and 4 and return the largest absolute
    difference from PyTorch (an ``ExportError`` above ``atol``); without, return NaN.
    """
    path = Path(path)
    onnx, runtime = _onnx_modules(need_runtime=check)
    with evaluating(model, CPU):
        example = dummy_input(input_shape, batch_size=2, device=CPU)
        _atomic_write(path, lambda tmp: _torch_onnx_export(model, example, tmp, opset))
        onnx.checker.check_model(str(path))
        if not check:
            return math.nan
        difference = _onnx_runtime_diff(model, runtime, path, input_shape)
    _check_close("ONNX", difference, atol)
    return difference


def export_genotype(path: str | os.PathLike, *, arch: Mapping[str, Any], space: str | SearchSpace,
                    net: Mapping[str, Any], input_shape: Sequence[int], num_classes: int,
                    metrics: Mapping[str, Any] | None = None, space_options: Mapping[str, Any] | None = None) -> Path:
    """Write the architecture as JSON: space, arch mapping, the space's native arch string, build kwargs (and
    the space's options, e.g. a declared space's definition, when it has any)."""
    from archsearch.spaces import create_space

    space_obj = create_space(space, space_options) if isinstance(space, str) else space
    parsed = space_obj.validate(arch)
    document: dict[str, Any] = {
        "format": GENOTYPE_FORMAT,
        "version": 1,
        "space": space if isinstance(space, str) else space_obj.name,
        "arch": _plain(dict(parsed), "arch"),
        "arch_string": space_obj.format(parsed),
        "net": _plain(dict(net), "net"),
        "input_shape": list(check_input_shape(input_shape)),
        "num_classes": int(num_classes),
    }
    if space_obj.space_options():
        document["space_options"] = _plain(space_obj.space_options(), "space_options")
    if metrics is not None:
        document["metrics"] = _plain(dict(metrics), "metrics")
    path = Path(path)
    _atomic_write(path, lambda tmp: tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8"))
    return path


def export_all(checkpoint: Checkpoint | str | os.PathLike, out_dir: str | os.PathLike,
               formats: Iterable[str] = EXPORT_FORMATS, *, onnx_atol: float = 1e-4,
               metrics: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Every format in ``formats`` from a checkpoint (or its path) into ``out_dir`` (file names in
    ``EXPORT_FILES``); returns format -> path. The genotype's metrics default to ``extra["metrics"]``."""
    chosen = _check_formats(formats)
    if "onnx" in chosen:
        _onnx_modules(need_runtime=True)  # fail before writing anything
    if not isinstance(checkpoint, Checkpoint):
        checkpoint = load_checkpoint(checkpoint)
    model = checkpoint.build_model()
    out = Path(out_dir)
    written: dict[str, Path] = {}
    if "torchscript" in chosen:
        written["torchscript"] = export_torchscript(model, checkpoint.input_shape, out / EXPORT_FILES["torchscript"])
    if "onnx" in chosen:
        export_onnx(model, checkpoint.input_shape, out / EXPORT_FILES["onnx"], atol=onnx_atol)
        written["onnx"] = out / EXPORT_FILES["onnx"]
    if "genotype" in chosen:
        stored = checkpoint.extra.get("metrics")
        written["genotype"] = export_genotype(
            out / EXPORT_FILES["genotype"], arch=checkpoint.arch, space=checkpoint.space, net=checkpoint.net,
            space_options=checkpoint.space_options,
            input_shape=checkpoint.input_shape, num_classes=checkpoint.num_classes,
            metrics=metrics if metrics is not None else (stored if isinstance(stored, Mapping) else None))
    return written


# -- untrained networks ---------------------------------------------------------------------------
def seeded_checkpoint(space: SearchSpace, arch: Mapping[str, Any], dataset: str, *,
                      net: Mapping[str, Any] | None = None, seed: int = 0, data_dir: str | None = None,
                      dataset_options: Mapping[str, Any] | None = None, tabular: bool = False,
                      metrics: Mapping[str, Any] | None = None) -> Checkpoint:
    """``arch`` at the initial weights a study of ``seed`` gives it (for deployment checks and latency); the
    dataset fixes the input shape and classes (``tabular``: a NAS-Bench-201 dataset's, without loading it)."""
    from archsearch.benchmarks.nb201 import DATASET_SHAPES
    from archsearch.estimators.train import load_dataset, trial_seed

    net = dict(net or {})
    data = None if tabular else load_dataset(dataset, data_dir, False, dataset_options)
    input_shape, num_classes = DATASET_SHAPES[dataset] if data is None else (data.shape, data.num_classes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(trial_seed(int(seed), arch))
        try:
            model = space.build(arch, num_classes=num_classes, in_channels=input_shape[0], **net)
        except (TypeError, ValueError, RuntimeError) as exc:  # a net option of a wrong type or size
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise UserError(f"cannot build the {space.name} network with net options {net}: "
                            f"{type(exc).__name__}: {first}") from None
    return Checkpoint(arch=dict(arch), space=space.name, net=net, input_shape=tuple(input_shape),
                      num_classes=num_classes, extra={"metrics": dict(metrics or {})}, state_dict=model.state_dict(),
                      space_options=space.space_options())


def arch_checkpoint(space: str | SearchSpace, arch: str | Mapping[str, Any], dataset: str = "mnist5k",
                    net: Mapping[str, Any] | None = None) -> Checkpoint:
    """:func:`seeded_checkpoint` (seed 0) of an arch string or mapping; an unknown ``net`` option is a UserError."""
    from archsearch.spaces import create_space

    space = create_space(space) if isinstance(space, str) else space
    check_net_options(space, net or {})
    return seeded_checkpoint(space, space.parse(arch) if isinstance(arch, str) else space.validate(arch), dataset,
                             net=net)


def best_checkpoint(store: Any, name: str) -> Checkpoint:
    """:func:`seeded_checkpoint` of the best trial (by its goal) of experiment ``name`` of ``store``."""
    from archsearch.study.records import stored_best

    best = stored_best(store, name)
    config, options = best.config, dict(best.config.get("estimator_options", {}))
    return seeded_checkpoint(best.space, best.arch, config["dataset"], net=best.net,
                             seed=int(config.get("seed", 0)), data_dir=config.get("data_dir"),
                             dataset_options=options.get("dataset_options"),
                             tabular=config.get("estimator") == "tabular", metrics=best.trial.metrics)


def check_net_options(space: SearchSpace, net: Mapping[str, Any]) -> None:
    """Unknown ``net`` options are a ``UserError`` (a space's ``build`` may swallow them with ``**_``)."""
    parameters = inspect.signature(space.build).parameters.items()
    known = sorted({n for n, p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
                   - {"num_classes", "in_channels"})  # set from the dataset
    wrong = sorted(set(net) - set(known))
    if known and wrong:
        raise UserError(f"unknown net option {wrong[0]!r} for space {space.name!r}; options: {', '.join(known)}")


# -- helpers ------------------------------------------------------------------------------------
def _check_formats(formats: Iterable[str]) -> list[str]:
    chosen = [formats] if isinstance(formats, str) else list(formats)
    unknown = [name for name in chosen if name not in EXPORT_FORMATS]
    if unknown or not chosen:
        raise UserError(f"unknown export format(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                        f"choose from: {', '.join(EXPORT_FORMATS)}")
    return chosen


def _onnx_modules(need_runtime: bool) -> tuple[Any, Any]:
    """``onnx`` and (when needed) ``onnxruntime``, imported now; a ``UserError`` naming the extra if absent."""
    try:
        onnx = importlib.import_module("onnx")
        runtime = importlib.import_module("onnxruntime") if need_runtime else None
    except ImportError:
        raise UserError(ONNX_EXTRA_MESSAGE) from None
    return onnx, runtime


def _torch_onnx_export(model: nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    """The TorchScript-based exporter (``dynamo=False``): it needs neither onnxscript nor torch.export."""
    with _quiet_deprecations():
        torch.onnx.export(model, (example,), str(path), dynamo=False, opset_version=opset,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})


def _onnx_runtime_diff(model: nn.Module, runtime: Any, path: Path, input_shape: Sequence[int]) -> float:
    """Largest |ONNX Runtime - PyTorch| over random batches of 1 and 4 (model already in eval/no_grad)."""
    options = runtime.SessionOptions()
    options.log_severity_level = 3
    session = runtime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    worst = 0.0
    for batch in (1, 4):
        x = dummy_input(input_shape, batch_size=batch, device=CPU, seed=batch)
        got = session.run(None, {input_name: x.numpy()})[0]
        worst = max(worst, float(np.abs(got - model(x).numpy()).max()))
    return worst


def _max_abs_diff(expected: torch.Tensor, got: torch.Tensor) -> float:
    return float((expected - got).abs().max())


def _check_close(what: str, difference: float, atol: float) -> None:
    if not difference <= atol:  # also catches NaN
        raise ExportError(f"the {what} export differs from the PyTorch model by {difference:.3g} (> {atol:g}); "
                          f"the network may have data-dependent control flow")


@contextmanager
def _quiet_deprecations() -> Iterator[None]:
    """Ignore only the known, harmless torch 2.13 export deprecation warnings (``_DEPRECATIONS``)."""
    with warnings.catch_warnings():
        for message in _DEPRECATIONS:
            warnings.filterwarnings("ignore", message=message, category=DeprecationWarning)
        yield


def _atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """``write`` to a temporary file beside ``path``, then rename it into place (never a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _plain(value: Any, where: str) -> Any:
    """``value`` with tuples as lists and NumPy scalars as Python ones; a ``TypeError`` for anything else
    that is not None, bool, int, float, str, a list or a str-keyed dict."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        return {key: _plain(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{index}]") for index, item in enumerate(value)]
    raise TypeError(f"{where} holds a {type(value).__name__}; only None, bool, int, float, str, lists and "
                    f"str-keyed dicts can be stored")


def _state_dict_mismatch(expected: Mapping[str, torch.Tensor], stored: Mapping[str, torch.Tensor]) -> str:
    """'' when ``stored`` has exactly the names and shapes of ``expected``, else a one-line summary."""
    missing = [name for name in expected if name not in stored]
    unexpected = [name for name in stored if name not in expected]
    reshaped = [name for name in expected if name in stored and tuple(stored[name].shape) != tuple(expected[name].shape)]
    if not (missing or unexpected or reshaped):
        return ""
    first = (missing or unexpected or reshaped)[0]
    return f"{len(missing)} missing, {len(unexpected)} unexpected, {len(reshaped)} mis-shaped tensors (first: {first})"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 200 else line[:197] + "..."
