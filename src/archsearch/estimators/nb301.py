"""NB301Estimator: NAS-Bench-301's surrogate of DARTS cells on CIFAR-10, at any number of epochs.

NAS-Bench-301 (Siems, Zimmer, Zela, Lukasik, Keuper & Hutter, "NAS-Bench-301 and the Case for Surrogate
Benchmarks for Neural Architecture Search", arXiv:2008.09777, 2020) trained ~60k architectures of the DARTS
space (Liu et al. 2019; no ``none`` op) on CIFAR-10 and fit surrogate models to them. This estimator runs
YAHPO Gym's multi-fidelity refit of that data (Pfisterer et al., "YAHPO Gym - An Efficient Multi-Objective
Multi-Fidelity Benchmark for Hyperparameter Optimization", AutoML-Conf 2022; scenario ``nb301``, surrogate
version 2): an ONNX network shipped in ``archsearch/benchmarks/data/nb301`` (``SOURCE.md`` there).

Settings taken from YAHPO Gym (``BenchmarkSet._config_to_xs``, ``benchmarks/nb301.py``): the input is the
ConfigSpace configuration of the arch, ``x_cat`` the integer codes of ``encoding_v2.json`` in the column order
``edge_normal_0..13, edge_reduce_0..13, inputs_node_normal_3..5, inputs_node_reduce_3..5``, an edge not chosen
(inactive) coded ``#na#``; ``x_cont`` the raw epoch (1..98; the model scales it). The outputs are
``val_accuracy`` (a fraction), ``val_cross_entropy``, ``runtime`` (training seconds up to that epoch) and
``runtime_increase`` (not used). In NAS-Bench-301's naming node ``j`` (2..5) of a cell has edges
``(j-2)(j+1)/2 + i`` from its inputs ``i < j`` and, for ``j >= 3``, the pair of inputs ``"a_b"`` (``a < b``).

Metrics: ``valid_acc`` (percent) and ``valid_loss`` at the fidelity, ``final_valid_acc`` (percent, at the
last epoch), ``train_seconds`` (the predicted runtime, also the cost, as a tabular benchmark charges it).
A query is one ONNX run of one or two 34-integer rows (~1.3 ms on one CPU thread; ``predict`` scores a batch
at ~0.06 ms per arch); the session is made on first use, single-threaded by default, and made again in a
worker after pickling. Predictions are deterministic.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.errors import ArchError, UserError
from archsearch.core.estimator import Estimator
from archsearch.core.result import Result
from archsearch.core.space import SearchSpace

# -- defaults and the shipped files in one block -------------------------------------------------
DATASET = "cifar10"  # NAS-Bench-301 trained on CIFAR-10 only
DEFAULT_THREADS = 1  # onnxruntime intra-op threads: one per worker
LADDER_ETA = 3  # fidelities(): max_epoch / 3**k, k = 0..4 -> (1, 4, 11, 33, 98)
LADDER_RUNGS = 5
INSTALL_HINT = "pip install archsearch[nb301]"
DATA_PACKAGE = "archsearch.benchmarks"
DATA_DIR = "data/nb301"
MODEL_FILE = "model_v2.onnx"
ENCODING_FILE = "encoding_v2.json"
CONFIG_SPACE_FILE = "config_space_v2.json"
COLUMN_PREFIX = "NetworkSelectorDatasetInfo_COLON_darts_COLON_"
NA = "#na#"  # the code of an inactive edge (fastai's Categorify)
OUTPUTS: tuple[str, ...] = ("val_accuracy", "val_cross_entropy", "runtime", "runtime_increase")
METRICS: tuple[str, ...] = ("valid_acc", "valid_loss", "final_valid_acc", "train_seconds")

CELLS: tuple[str, ...] = ("normal", "reduce")
NODES: tuple[int, ...] = (2, 3, 4, 5)


def edge_index(node: int, source: int) -> int:
    """NAS-Bench-301's edge number of ``source -> node`` inside a cell (node 2's edges are 0 and 1)."""
    return (node - 2) * (node + 1) // 2 + source


def column_names() -> tuple[str, ...]:
    """The ``x_cat`` columns in the order the surrogate was trained (YAHPO Gym's ``cat_names``)."""
    edges = [f"edge_{cell}_{k}" for cell in CELLS for k in range(edge_index(NODES[-1], NODES[-1]))]
    inputs = [f"inputs_node_{cell}_{node}" for cell in CELLS for node in NODES[1:]]
    return tuple(COLUMN_PREFIX + name for name in edges + inputs)


@dataclass(frozen=True)
class SurrogateSpec:
    """What the shipped JSON files say: the integer codes per column, the ops and the epoch range."""

    codes: dict[str, dict[str, int]]  # column -> value -> code
    columns: tuple[str, ...]
    ops: tuple[str, ...]
    max_epoch: int
    min_epoch: int


def _read_data(name: str) -> bytes:
    return resources.files(DATA_PACKAGE).joinpath(f"{DATA_DIR}/{name}").read_bytes()


@functools.lru_cache(maxsize=1)
def surrogate_spec() -> SurrogateSpec:
    """The shipped encoding and config space, checked against each other (cached)."""
    codes = json.loads(_read_data(ENCODING_FILE))
    space = json.loads(_read_data(CONFIG_SPACE_FILE))
    params = {p["name"]: p for p in space["hyperparameters"]}
    columns = column_names()
    if set(codes) != set(columns) or not set(columns) <= set(params):
        raise ValueError(f"{ENCODING_FILE} / {CONFIG_SPACE_FILE} do not match the NAS-Bench-301 columns")
    ops = tuple(params[columns[0]]["choices"])
    epoch = params["epoch"]
    return SurrogateSpec(codes, columns, ops, int(epoch["upper"]), int(epoch["lower"]))


def encode(arch: Arch) -> np.ndarray:
    """The ``x_cat`` row (int32, 34) of a ``darts`` arch; ``ArchError`` for what NAS-Bench-301 cannot express."""
    from archsearch.spaces.darts import dim_name

    spec = surrogate_spec()
    values = {column: NA for column in spec.columns}
    for cell in CELLS:
        for node in NODES:
            sources = []
            for slot in (0, 1):
                source, op = arch.get(dim_name(cell, node, "input", slot)), arch.get(dim_name(cell, node, "op", slot))
                if op not in spec.ops:
                    raise ArchError(f"NAS-Bench-301 has no op {op!r} (ops: {', '.join(spec.ops)}); "
                                    "search space darts with --set space.none_op=false")
                if not (isinstance(source, int) and 0 <= source < node) or source in sources:
                    raise ArchError(f"not a darts arch: {cell} node {node} inputs must be two distinct states < {node}")
                sources.append(source)
                values[f"{COLUMN_PREFIX}edge_{cell}_{edge_index(node, source)}"] = op
            if node > NODES[0]:
                low, high = sorted(sources)
                values[f"{COLUMN_PREFIX}inputs_node_{cell}_{node}"] = f"{low}_{high}"
    return np.array([spec.codes[column][values[column]] for column in spec.columns], dtype=np.int32)


def new_session(threads: int = DEFAULT_THREADS) -> Any:
    """An onnxruntime session of the shipped model on the CPU (``UserError`` when onnxruntime is missing)."""
    try:
        import onnxruntime
    except ImportError:
        raise UserError(f"estimator nb301 needs onnxruntime: {INSTALL_HINT}") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return onnxruntime.InferenceSession(_read_data(MODEL_FILE), sess_options=options,
                                        providers=["CPUExecutionProvider"])


class NB301Estimator(Estimator):
    """``NB301Estimator(fidelity=98)``: the surrogate's validation accuracy of a ``darts`` arch, simulated cost.

    ``fidelity`` is the number of epochs (1..98, default 98); ``threads`` the onnxruntime threads."""

    name = "nb301"
    uses_threads = False  # onnxruntime on its own ``threads`` (1)

    def __init__(self, fidelity: float | None = None, dataset: str = DATASET, space: SearchSpace | None = None,
                 threads: int = DEFAULT_THREADS) -> None:
        if importlib.util.find_spec("onnxruntime") is None:
            raise UserError(f"estimator nb301 needs onnxruntime: {INSTALL_HINT}")
        if dataset != DATASET:
            raise UserError(f"estimator nb301 predicts {DATASET} only (NAS-Bench-301), got dataset {dataset!r}")
        if space is not None and getattr(space, "name", None) != "darts":
            raise UserError(f"estimator nb301 scores archs of space 'darts' (NAS-Bench-301's DARTS cells), "
                            f"not {getattr(space, 'name', space)!r}")
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise UserError(f"estimator nb301: threads must be an integer >= 1, got {threads!r}")
        self.spec = surrogate_spec()
        self.fidelity = self.spec.max_epoch if fidelity is None else self.check_epochs(fidelity)
        self.dataset = dataset
        self.threads = threads
        self._session: Any = None

    def check_epochs(self, fidelity: Any) -> int:
        """``fidelity`` as a whole number of epochs in the surrogate's range, or a ``UserError``."""
        low, high = self.spec.min_epoch, self.spec.max_epoch
        if (isinstance(fidelity, bool) or not isinstance(fidelity, (int, float)) or not math.isfinite(fidelity)
                or fidelity != int(fidelity) or not low <= fidelity <= high):
            raise UserError(f"estimator nb301: fidelity must be a whole number of epochs in {low}..{high}, "
                            f"got {fidelity!r}")
        return int(fidelity)

    def predict(self, rows: np.ndarray, epochs: np.ndarray | float) -> np.ndarray:
        """The raw surrogate outputs (n, 4) ``OUTPUTS`` for ``x_cat`` rows (n, 34) at ``epochs`` (scalar or (n,))."""
        if self._session is None:
            self._session = new_session(self.threads)
        rows = np.asarray(rows, dtype=np.int32).reshape(-1, len(self.spec.columns))
        x_cont = np.broadcast_to(np.asarray(epochs, dtype=np.float32).reshape(-1, 1), (len(rows), 1))
        return self._session.run(None, {"x_cat": rows, "x_cont": np.ascontiguousarray(x_cont)})[0]

    def evaluate(self, arch: Arch, fidelity: float | None = None) -> Result:
        epochs = self.fidelity if fidelity is None else self.check_epochs(fidelity)
        try:
            row = encode(arch)
        except ArchError as exc:
            return Result(arch, {}, cost_seconds=0.0, fidelity=epochs, status="failed", error=str(exc))
        at = [epochs] if epochs == self.spec.max_epoch else [epochs, self.spec.max_epoch]
        outputs = self.predict(np.repeat(row[None], len(at), axis=0), np.array(at))
        now, final = dict(zip(OUTPUTS, map(float, outputs[0]))), float(outputs[-1][0])
        seconds = max(now["runtime"], 0.0)
        metrics = {"valid_acc": 100.0 * now["val_accuracy"], "valid_loss": now["val_cross_entropy"],
                   "final_valid_acc": 100.0 * final, "train_seconds": seconds}
        return Result(arch, metrics, cost_seconds=seconds, fidelity=epochs, status="ok")

    def fidelities(self) -> tuple[float, ...]:
        top = self.spec.max_epoch
        return tuple(sorted({max(self.spec.min_epoch, round(top / LADDER_ETA ** k)) for k in range(LADDER_RUNGS)}))

    def metrics(self) -> tuple[str, ...]:
        return METRICS

    def describe(self) -> dict[str, Any]:
        return {"estimator": self.name, "surrogate": f"YAHPO Gym nb301 {MODEL_FILE}", "dataset": self.dataset,
                "fidelity": self.fidelity, "fidelities": list(self.fidelities()), "metrics": list(METRICS),
                "threads": self.threads}

    def __reduce__(self) -> tuple:
        """Pickles by settings: a worker makes its own onnxruntime session on first use."""
        return (NB301Estimator, (self.fidelity, self.dataset, None, self.threads))
