"""EfficientNet compound scaling (Tan & Le, ICML 2019, "EfficientNet: Rethinking Model Scaling for
Convolutional Neural Networks", Sec. 3.3, Eq. 3).

Depth, width and resolution grow together with one coefficient phi: depth ``d = alpha^phi``, width
``w = beta^phi``, resolution ``r = gamma^phi``, subject to ``alpha * beta^2 * gamma^2 ~ 2`` and
``alpha, beta, gamma >= 1`` (FLOPs grow ~ 2^phi). Step 1 fixes phi = 1 and grid-searches alpha, beta, gamma
under the constraint, training the base network scaled by each candidate (the paper found 1.2, 1.1, 1.15 for
EfficientNet-B0); step 2 keeps them and scales the base network by phi = 1, 2, ... (B1..B7).

Here the candidates of step 1 are the points of a grid over [1, 2]^3 whose product is within ``tolerance`` of
2 (evenly subsampled to ``max_candidates``); each is trained with the train estimator (the same budget and
seed for all) and the best validation accuracy wins. A space can be scaled when its ``build`` takes
``width_mult``, ``depth_mult`` and ``resolution`` (the ``mobile`` space); the base resolution is the dataset's
image size and the scaled one is applied by resizing the input inside the network.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.space import SearchSpace

# -- defaults (EfficientNet Sec. 3.3) ----------------------------------------------------------------------------
TARGET = 2.0  # alpha * beta^2 * gamma^2: FLOPs double per unit of phi
GRID_LOW, GRID_HIGH = 1.0, 2.0
GRID_STEP = 0.05
TOLERANCE = 0.1
MAX_CANDIDATES = 6
PHI_MAX = 3
SCALING_OPTIONS = ("width_mult", "depth_mult", "resolution")
EFFICIENTNET_B0 = (1.2, 1.1, 1.15)  # the paper's alpha, beta, gamma


@dataclass(frozen=True)
class Coefficients:
    """EfficientNet's alpha (depth), beta (width), gamma (resolution)."""

    alpha: float
    beta: float
    gamma: float

    @property
    def product(self) -> float:
        """``alpha * beta^2 * gamma^2``: the FLOPs factor of phi = 1."""
        return self.alpha * self.beta**2 * self.gamma**2

    def net_options(self, phi: float, base_resolution: int, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The build options of the base network (``base`` multipliers, default 1) scaled by ``phi``;
        ``resolution`` is None when it stays the base one (no resize)."""
        base = dict(base or {})
        resolution = int(round(base_resolution * self.gamma**phi))
        return {**base, "depth_mult": base.get("depth_mult", 1.0) * self.alpha**phi,
                "width_mult": base.get("width_mult", 1.0) * self.beta**phi,
                "resolution": None if resolution == base_resolution else resolution}

    def label(self) -> str:
        return f"a={self.alpha:.2f} b={self.beta:.2f} g={self.gamma:.2f}"


def coefficient_grid(step: float = GRID_STEP, tolerance: float = TOLERANCE, max_candidates: int | None = None,
                     target: float = TARGET) -> list[Coefficients]:
    """Grid points of [1, 2]^3 (spacing ``step``) with ``|alpha beta^2 gamma^2 - target| <= tolerance``, in
    lexicographic order; ``max_candidates`` keeps that many, evenly spaced over the list."""
    if not (isinstance(step, (int, float)) and 0 < step <= GRID_HIGH - GRID_LOW):
        raise UserError(f"grid step must be in (0, {GRID_HIGH - GRID_LOW:g}], got {step!r}")
    if not (isinstance(tolerance, (int, float)) and 0 <= tolerance < target):
        raise UserError(f"tolerance must be in [0, {target:g}), got {tolerance!r}")
    values = [round(GRID_LOW + i * step, 6) for i in range(int(math.floor((GRID_HIGH - GRID_LOW) / step + 1e-9)) + 1)]
    grid = [Coefficients(a, b, g) for a in values for b in values for g in values
            if abs(a * b * b * g * g - target) <= tolerance + 1e-12]
    if not grid:
        raise UserError(f"no (alpha, beta, gamma) on a {step:g} grid has alpha*beta^2*gamma^2 within {tolerance:g} of "
                        f"{target:g}; use a finer --grid-step or a larger --tolerance")
    if max_candidates is not None and max_candidates < len(grid):
        if max_candidates < 1:
            raise UserError(f"max candidates must be >= 1, got {max_candidates}")
        picks = np.unique(np.round(np.linspace(0, len(grid) - 1, max_candidates)).astype(int))
        grid = [grid[i] for i in picks]
    return grid


def check_scalable(space: SearchSpace) -> None:
    """A ``UserError`` unless ``space.build`` takes width_mult, depth_mult and resolution."""
    parameters = inspect.signature(space.build).parameters
    missing = [name for name in SCALING_OPTIONS if name not in parameters]
    if missing:
        raise UserError(f"space {space.name!r} cannot be compound-scaled: its networks take no "
                        f"{', '.join(missing)} (the 'mobile' space does)")


def base_resolution(shape: tuple[int, ...]) -> int:
    """The image size of a dataset of square images ``(C, S, S)``."""
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] < 2:
        raise UserError(f"compound scaling needs square images; the dataset's inputs are {tuple(shape)}")
    return int(shape[1])


@dataclass
class ScaledRun:
    """One network: its coefficients, phi, build options, size and (when trained) metrics."""

    coefficients: Coefficients
    phi: float
    net: dict[str, Any]
    params: float
    flops: float
    metrics: dict[str, float] = field(default_factory=dict)
    status: str = "measured"
    seconds: float = 0.0

    @property
    def valid_acc(self) -> float:
        return float(self.metrics.get("valid_acc", math.nan))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "coefficients": asdict(self.coefficients), "product": self.coefficients.product}


# (build options) -> an estimator whose .build / .model_metrics / .evaluate / .dataset serve that network
EstimatorFactory = Callable[[dict[str, Any]], Any]


def run_network(make_estimator: EstimatorFactory, arch: Arch, coefficients: Coefficients, phi: float,
                net: dict[str, Any], train: bool) -> ScaledRun:
    """Build (params, FLOPs) and, when ``train``, train the network of ``net`` with a fresh estimator."""
    started = time.perf_counter()
    estimator = make_estimator(net)
    model = estimator.build(arch)
    size = estimator.model_metrics(model)
    run = ScaledRun(coefficients, phi, net, size.get("params", math.nan), size.get("flops", math.nan))
    if train:
        result = estimator.evaluate(arch)
        run.metrics, run.status = dict(result.metrics), result.status
        if not result.ok:
            run.metrics["error"] = result.error or "failed"  # type: ignore[assignment]
    run.seconds = time.perf_counter() - started
    return run


def search_coefficients(make_estimator: EstimatorFactory, arch: Arch, candidates: list[Coefficients],
                        resolution: int, base_net: Mapping[str, Any] | None = None,
                        progress: Callable[[ScaledRun], None] | None = None) -> list[ScaledRun]:
    """Step 1: the base network at phi = 1 under each candidate, trained; best validation accuracy first."""
    runs = []
    for coefficients in candidates:
        run = run_network(make_estimator, arch, coefficients, 1.0,
                          coefficients.net_options(1.0, resolution, base_net), train=True)
        runs.append(run)
        if progress is not None:
            progress(run)
    return sorted(runs, key=lambda r: -r.valid_acc if math.isfinite(r.valid_acc) else math.inf)


def scale_family(make_estimator: EstimatorFactory, arch: Arch, best: Coefficients, resolution: int,
                 phi_max: int, base_net: Mapping[str, Any] | None = None, train: bool = False,
                 progress: Callable[[ScaledRun], None] | None = None) -> list[ScaledRun]:
    """Step 2: the base network (phi = 0) and its scalings by ``best`` for phi = 1..phi_max."""
    runs = []
    for phi in range(phi_max + 1):
        run = run_network(make_estimator, arch, best, float(phi), best.net_options(phi, resolution, base_net), train)
        runs.append(run)
        if progress is not None:
            progress(run)
    return runs
