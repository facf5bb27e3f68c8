"""BOHB — Falkner, Klein & Hutter, "BOHB: Robust and Efficient Hyperparameter Optimization at Scale",
ICML 2018: Hyperband's brackets (``archsearch.strategies.hyperband``, unchanged), but each new arch at
the start of a bracket comes from a TPE-style model (Bergstra, Bardenet, Bengio & Kegl, "Algorithms for
Hyper-Parameter Optimization", NeurIPS 2011) instead of uniform sampling.

The paper's Algorithm 2 with its defaults (``random_fraction`` 1/3, ``top_n_percent`` 15,
``num_samples`` 64, ``bandwidth_factor`` 3, ``min_bandwidth`` 1e-3, ``min_points_in_model`` = dims + 1):

- with probability ``random_fraction`` the arch is uniform (as Hyperband draws it);
- otherwise the model is fit on the *highest* rung with at least ``N_min + 2`` observations
  (``N_min = min_points_in_model``; uniform when no rung has that many): the best
  ``n_good = max(N_min, floor(top_n_percent / 100 * N))`` observations by the first objective make the
  good density ``l(x)``, the worst ``n_bad = max(N_min, N - n_good)`` the bad density ``g(x)`` (the
  paper's rule, so the two sets overlap while ``N < 2 N_min``; failed trials score -inf and rank worst);
- ``num_samples`` candidates are drawn from ``l`` with every bandwidth multiplied by ``bandwidth_factor``
  and the valid one (``space.is_valid``; new to the bracket) maximising ``l(x) / g(x)`` is proposed.

Each density is a product-kernel KDE, ``p(x) = 1/n sum_i prod_d k_d(x_d, X_id)`` (statsmodels'
``KDEMultivariate``, which BOHB's reference code uses):

- Categorical dims: the Aitchison-Aitken kernel (statsmodels' ``'u'`` type), ``1 - h`` on the point's own
  option and ``h / (c - 1)`` on each of the other ``c - 1``; it sums to 1 over the options. statsmodels'
  normal-reference bandwidth uses the standard deviation of the option *codes*, which depends on the
  arbitrary option order and often exceeds the kernel's range; here the spread is the order-free
  ``sqrt(1 - sum_k p_k**2)`` (the one-hot indicator's standard deviation), ``h = 1.06 spread n**(-1/(4+D))``
  clipped to ``[min_bandwidth, (c - 1) / c]`` (``(c - 1) / c`` is the uniform kernel). Widening also
  clips at ``(c - 1) / c``.
- Integer dims: a Gaussian on the normalised index ``u = (index + 0.5) / size`` in ``(0, 1)``, as
  BOHB/ConfigSpace treat integer hyperparameters, bandwidth ``1.06 std(u) n**(-1/(4+D))``, at least
  ``min_bandwidth``; candidates are drawn from the normal truncated to ``[0, 1]`` and rounded down to a
  cell; densities are not renormalised for the truncation (as in statsmodels).

Everything is numpy; densities are evaluated in log space. All randomness comes from ``self.rng``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.dims import Integer
from archsearch.core.errors import UserError
from archsearch.strategies.hyperband import DEFAULT_ETA, Hyperband, _score_from_json, _score_to_json

# -- defaults in one visible block (the BOHB paper's) -------------------------------------------
DEFAULT_RANDOM_FRACTION = 1 / 3
DEFAULT_TOP_N_PERCENT = 15
DEFAULT_NUM_SAMPLES = 64
DEFAULT_BANDWIDTH_FACTOR = 3.0
DEFAULT_MIN_BANDWIDTH = 1e-3
NORMAL_REFERENCE = 1.06  # Silverman / statsmodels' normal-reference constant
PROPOSAL_ROUNDS = 10  # batches of num_samples candidates before falling back to a uniform arch
TRUNCATION_ROUNDS = 100  # redraws of a Gaussian sample outside [0, 1] before clipping it


def aitchison_aitken(x: np.ndarray, data: np.ndarray, h: float, levels: int) -> np.ndarray:
    """The Aitchison-Aitken kernel ``k(x, data)`` for codes of an unordered dim with ``levels`` options."""
    return np.where(x == data, 1.0 - h, h / max(levels - 1, 1))


@dataclass
class ProductKDE:
    """A KDE over index-coded archs: Aitchison-Aitken for categorical dims, Gaussian for Integer dims."""

    data: np.ndarray  # (n, D) option indices
    sizes: np.ndarray  # (D,) options per dim
    ordered: np.ndarray  # (D,) True for Integer dims
    bandwidths: np.ndarray  # (D,)

    @classmethod
    def fit(cls, data: np.ndarray, sizes: np.ndarray, ordered: np.ndarray, min_bandwidth: float) -> "ProductKDE":
        n, width = data.shape
        factor = NORMAL_REFERENCE * n ** (-1.0 / (4 + width))
        bandwidths = np.empty(width)
        for d in range(width):
            if ordered[d]:
                spread = float(np.std((data[:, d] + 0.5) / sizes[d]))
                bandwidths[d] = max(factor * spread, min_bandwidth)
            else:
                shares = np.bincount(data[:, d], minlength=sizes[d]) / n
                spread = math.sqrt(max(1.0 - float(np.sum(shares ** 2)), 0.0))
                bandwidths[d] = min(max(factor * spread, min_bandwidth), (sizes[d] - 1) / sizes[d])
        return cls(data, sizes, ordered, bandwidths)

    def log_pdf(self, points: np.ndarray) -> np.ndarray:
        """``log p(x)`` for each row of ``points`` (M, D)."""
        log_kernels = np.zeros((len(points), len(self.data)))
        for d in range(self.data.shape[1]):
            x, xi, h = points[:, d, None], self.data[None, :, d], self.bandwidths[d]
            if self.ordered[d]:
                z = ((x - xi) / self.sizes[d]) / h  # the difference of normalised indices, in bandwidths
                log_kernels += -0.5 * z ** 2 - math.log(h) - 0.5 * math.log(2 * math.pi)
            else:
                with np.errstate(divide="ignore"):
                    log_kernels += np.log(aitchison_aitken(x, xi, h, int(self.sizes[d])))
        peak = log_kernels.max(axis=1, keepdims=True)
        peak = np.where(np.isfinite(peak), peak, 0.0)
        return peak[:, 0] + np.log(np.exp(log_kernels - peak).mean(axis=1))

    def sample(self, count: int, rng: np.random.Generator, bandwidth_factor: float) -> np.ndarray:
        """``count`` codes drawn from the KDE with every bandwidth times ``bandwidth_factor``."""
        out = self.data[rng.integers(len(self.data), size=count)].copy()
        for d in range(out.shape[1]):
            size = int(self.sizes[d])
            if size == 1:
                continue
            if self.ordered[d]:
                out[:, d] = self._sample_ordered(out[:, d], size, self.bandwidths[d] * bandwidth_factor, rng)
            else:
                h = min(self.bandwidths[d] * bandwidth_factor, (size - 1) / size)
                move = rng.random(count) < h  # leave the point's option with probability h ...
                shift = rng.integers(1, size, size=count)  # ... for one of the others, uniformly
                out[:, d] = np.where(move, (out[:, d] + shift) % size, out[:, d])
        return out

    @staticmethod
    def _sample_ordered(codes: np.ndarray, size: int, h: float, rng: np.random.Generator) -> np.ndarray:
        centres = (codes + 0.5) / size
        u = rng.normal(centres, h)
        for _ in range(TRUNCATION_ROUNDS):  # the normal truncated to [0, 1], by rejection
            outside = (u < 0) | (u > 1)
            if not outside.any():
                break
            u[outside] = rng.normal(centres[outside], h)
        return np.clip(np.floor(np.clip(u, 0.0, 1.0) * size), 0, size - 1).astype(codes.dtype)


class BOHB(Hyperband):
    """Hyperband whose new archs come from a TPE-style model of the highest well-observed rung."""

    name = "bohb"

    def __init__(self, eta: float = DEFAULT_ETA, min_fidelity: float | None = None,
                 max_fidelity: float | None = None, random_fraction: float = DEFAULT_RANDOM_FRACTION,
                 top_n_percent: float = DEFAULT_TOP_N_PERCENT, num_samples: int = DEFAULT_NUM_SAMPLES,
                 bandwidth_factor: float = DEFAULT_BANDWIDTH_FACTOR, min_bandwidth: float = DEFAULT_MIN_BANDWIDTH,
                 min_points_in_model: int | None = None) -> None:
        super().__init__(eta, min_fidelity, max_fidelity)
        _check_number("random_fraction", random_fraction, 0.0, 1.0)
        _check_number("top_n_percent", top_n_percent, 0.0, 100.0, low_open=True)
        _check_number("bandwidth_factor", bandwidth_factor, 0.0, math.inf, low_open=True)
        _check_number("min_bandwidth", min_bandwidth, 0.0, math.inf, low_open=True)
        _check_count("num_samples", num_samples)
        if min_points_in_model is not None:
            _check_count("min_points_in_model", min_points_in_model)
        self.random_fraction, self.top_n_percent, self.num_samples = random_fraction, top_n_percent, num_samples
        self.bandwidth_factor, self.min_bandwidth = bandwidth_factor, min_bandwidth
        self.min_points_in_model = min_points_in_model
        self._observations: list[list[tuple[list[int], float]]] = []

    def setup(self) -> None:
        super().setup()
        dims = self.space.dims()
        self._dims = dims
        self._sizes = np.array([dim.size for dim in dims.values()], dtype=np.int64)
        self._ordered = np.array([isinstance(dim, Integer) for dim in dims.values()])
        self._observations = [[] for _ in self.ladder]

    @property
    def n_min(self) -> int:
        return len(self._dims) + 1 if self.min_points_in_model is None else self.min_points_in_model

    # -- model ----------------------------------------------------------------------------------
    def _observe(self, rung: int, arch: Arch, score: float) -> None:
        codes = [dim.index(arch[name]) for name, dim in self._dims.items()]
        self._observations[rung].append((codes, score))

    def fit_model(self) -> tuple[ProductKDE, ProductKDE] | None:
        """Good and bad KDEs on the highest rung with ``N_min + 2`` observations, or ``None``."""
        for observations in reversed(self._observations):
            if len(observations) >= self.n_min + 2:
                break
        else:
            return None
        codes = np.array([c for c, _ in observations], dtype=np.int64).reshape(len(observations), -1)
        order = np.argsort([-score for _, score in observations], kind="stable")  # best first
        n_good = max(self.n_min, math.floor(self.top_n_percent * len(order) / 100))
        n_bad = max(self.n_min, len(order) - n_good)
        fit = [ProductKDE.fit(codes[rows], self._sizes, self._ordered, self.min_bandwidth)
               for rows in (order[:n_good], order[-n_bad:])]
        return fit[0], fit[1]

    def _sample_new(self, taken: set[str]) -> Arch:
        if self.rng.random() < self.random_fraction:
            return super()._sample_new(taken)
        model = self.fit_model()
        arch = self.propose(model, taken) if model is not None else None
        return arch if arch is not None else super()._sample_new(taken)

    def propose(self, model: tuple[ProductKDE, ProductKDE], taken: set[str]) -> Arch | None:
        """The valid candidate from the widened good KDE with the largest ``l(x) / g(x)``."""
        good, bad = model
        for _ in range(PROPOSAL_ROUNDS):
            codes = good.sample(self.num_samples, self.rng, self.bandwidth_factor)
            archs = [self._decode(row) for row in codes]
            keep = [i for i, arch in enumerate(archs) if arch.key() not in taken and self.space.is_valid(arch)]
            if keep:
                ratio = good.log_pdf(codes[keep]) - bad.log_pdf(codes[keep])
                return archs[keep[int(np.argmax(ratio))]]
        return None

    def _decode(self, codes: np.ndarray) -> Arch:
        return Arch({name: dim.value_at(int(c)) for (name, dim), c in zip(self._dims.items(), codes)})

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["observations"] = [[[codes, _score_to_json(score)] for codes, score in rung]
                                 for rung in self._observations]
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._observations = [[([int(c) for c in codes], _score_from_json(score)) for codes, score in rung]
                              for rung in state["observations"]]


def _check_number(option: str, value: Any, low: float, high: float, low_open: bool = False) -> None:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and not math.isnan(value)
    if not ok or value < low or value > high or (low_open and value == low):
        bounds = f"{'(' if low_open else '['}{low}, {high}]"
        raise UserError(f"bohb: {option} must be a number in {bounds}, got {value!r}")


def _check_count(option: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"bohb: {option} must be a positive integer, got {value!r}")
