"""An ensemble of small MLPs that predicts an architecture's objective from its encoding.

The "meta neural network" of BANANAS (White, Neiswanger & Savani, AAAI 2021): an ensemble of
feed-forward networks trained from different random initialisations; the spread of the members'
predictions is the uncertainty that Thompson sampling / UCB use. The members are trained together as
one batched network (weights ``(members, in, out)``, full-batch Adam), so a refit on a few hundred
architectures takes a fraction of a second on a CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.space import SearchSpace


@dataclass(frozen=True)
class PredictorSettings:
    members: int = 5  # BANANAS: ensemble of 5
    hidden_layers: int = 3
    width: int = 64
    epochs: int = 200  # BANANAS: 200 epochs of Adam
    learning_rate: float = 0.01  # BANANAS: Adam, lr 0.01
    weight_decay: float = 0.0


class MLPEnsemble:
    """``fit(x, y, seed)`` then ``predict(x) -> (members, n)`` in the units of ``y``.

    Plain numpy (batched matmuls, hand-written backward pass, Adam): for networks this small the
    per-operation overhead of an autograd framework dominates, and numpy fits ~10x faster on a CPU.
    """

    def __init__(self, settings: PredictorSettings = PredictorSettings()) -> None:
        self.settings = settings
        self._params: list[np.ndarray] = []  # W0, b0, W1, b1, ...: W (members, in, out), b (members, 1, out)
        self._y_mean, self._y_std = 0.0, 1.0

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> "MLPEnsemble":
        """Train every member on all of ``(x, y)``: x (n, d), y (n,); full-batch Adam on the squared error.

        BLAS runs single-threaded here: for matrices this small, threads only add contention
        (measured 10-30x slower with two busy cores).
        """
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit(x, y, seed)

    def _fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> "MLPEnsemble":
        s = self.settings
        rng = np.random.default_rng(seed)
        self._y_mean, self._y_std = float(y.mean()), float(y.std()) or 1.0
        inputs = np.asarray(x, dtype=np.float32)  # (n, d)
        targets = (np.asarray(y, dtype=np.float32) - self._y_mean) / self._y_std  # (n,)
        sizes = [inputs.shape[1]] + [s.width] * s.hidden_layers + [1]
        self._params = []
        for fan_in, fan_out in zip(sizes, sizes[1:]):
            bound = 1.0 / np.sqrt(fan_in)  # torch.nn.Linear's default initialisation range
            self._params += [rng.uniform(-bound, bound, (s.members, fan_in, fan_out)).astype(np.float32),
                             rng.uniform(-bound, bound, (s.members, 1, fan_out)).astype(np.float32)]
        adam = _Adam(self._params, s.learning_rate, s.weight_decay)
        for _ in range(s.epochs):
            activations = self._forward(inputs)
            error = activations[-1][..., 0] - targets  # (members, n)
            adam.step(self._backward(activations, 2.0 * error[..., None] / error.shape[1]))
        return self

    def _forward(self, inputs: np.ndarray) -> list[np.ndarray]:
        """Every layer's output, the input first: [(members, n, d), ..., (members, n, 1)]."""
        h = np.broadcast_to(inputs, (self.settings.members, *inputs.shape))
        outputs = [h]
        last = len(self._params) - 2
        for i in range(0, len(self._params), 2):
            h = h @ self._params[i] + self._params[i + 1]
            if i < last:
                h = np.maximum(h, 0.0)
            outputs.append(h)
        return outputs

    def _backward(self, activations: list[np.ndarray], grad_out: np.ndarray) -> list[np.ndarray]:
        grads: list[np.ndarray] = [np.empty(0)] * len(self._params)
        grad = grad_out  # (members, n, out)
        for layer in reversed(range(len(self._params) // 2)):
            below = activations[layer]  # (members, n, in)
            grads[2 * layer] = below.transpose(0, 2, 1) @ grad
            grads[2 * layer + 1] = grad.sum(axis=1, keepdims=True)
            if layer > 0:
                grad = (grad @ self._params[2 * layer].transpose(0, 2, 1)) * (below > 0)
        return grads

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Each member's prediction: (members, n)."""
        out = self._forward(np.asarray(x, dtype=np.float32))[-1][..., 0]
        return out * self._y_std + self._y_mean


class _Adam:
    """Adam (Kingma & Ba 2015) over a list of arrays, updated in place."""

    def __init__(self, params: list[np.ndarray], lr: float, weight_decay: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.params, self.lr, self.weight_decay, self.betas, self.eps = params, lr, weight_decay, betas, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.betas
        correction = np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            if self.weight_decay:
                g = g + self.weight_decay * p
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= self.lr * correction * m / (np.sqrt(v) + self.eps)


def resolve_encoding(space: SearchSpace, encoding: str = "auto") -> str:
    """``auto``: the space's path encoding where it has one (BANANAS), else one-hot."""
    probe = space.sample(np.random.default_rng(0))
    for kind in (("path", "onehot") if encoding == "auto" else (encoding,)):
        try:
            space.encode(probe, kind)
            return kind
        except ValueError as exc:
            if encoding != "auto":
                raise UserError(f"space {space.name!r}: {exc}") from None
    return "onehot"


def predict_scores(space: SearchSpace, encoding: str, known: dict[Arch, float], queries: Sequence[Arch],
                   settings: PredictorSettings, seed: int) -> np.ndarray:
    """Fit an ensemble on the finite ``known`` scores and predict ``queries``: (members, len(queries))."""
    told = [a for a, score in known.items() if np.isfinite(score)]
    x = np.stack([space.encode(a, encoding) for a in told])
    y = np.array([known[a] for a in told])
    model = MLPEnsemble(settings).fit(x, y, seed)
    return model.predict(np.stack([space.encode(a, encoding) for a in queries]))
