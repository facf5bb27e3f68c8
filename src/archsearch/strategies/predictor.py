"""An ensemble of small MLPs that predicts an architecture's objective from its encoding.

The "meta neural network" of BANANAS (White, Neiswanger & Savani, AAAI 2021): an ensemble of
feed-forward networks trained from different random initialisations; the spread of the members'
predictions is the uncertainty that Thompson sampling / UCB use. The members are trained together as
one batched network (weights ``(members, in, out)``, full-batch Adam), so a refit on a few hundred
architectures takes a fraction of a second on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.options import check_int
from archsearch.core.space import SearchSpace
from archsearch.core.threads import one_thread


WARM_EPOCHS = 25  # epochs of each warm-started refit after the first fit (issue 25; 0: from scratch, the paper's)


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
    Issue 25 made a fit ~3x faster with the same arithmetic: every weight lives in one flat float32 buffer
    (``_flat``; each layer's weights are views of it), so Adam updates all of them in a few in-place passes
    (it was 8 arrays x ~10 temporaries, in float64 through a numpy scalar: 60 % of a fit); and the first layer,
    whose input is the same for every member, is one 2-D matmul ``x (n, d) @ W0 (d, members * width)``
    instead of a batched one over a broadcast copy of x. The initial weights are drawn as before.
    """

    def __init__(self, settings: PredictorSettings = PredictorSettings()) -> None:
        self.settings = settings
        self._flat = np.empty(0, dtype=np.float32)
        self._params: list[np.ndarray] = []  # W0 (in, members, out), b0, W1, b1, ...: W (members, in, out), b (members, 1, out)
        self._y_mean, self._y_std = 0.0, 1.0

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int, epochs: int | None = None,
            warm: bool = False) -> "MLPEnsemble":
        """Train every member on all of ``(x, y)``: x (n, d), y (n,); full-batch Adam on the squared error,
        ``epochs`` (default: the settings') from fresh weights drawn with ``seed``, or with ``warm`` from the
        weights of the last fit (fresh Adam moments; ``seed`` is then unused).

        BLAS runs single-threaded here: for matrices this small, threads only add contention
        (measured 10-30x slower with two busy cores). ``one_thread`` keeps one threadpoolctl controller (a fresh
        ``threadpool_limits`` scans the loaded libraries: ~2 ms, 12 % of a guided local search).
        """
        with one_thread():
            return self._fit(x, y, seed, self.settings.epochs if epochs is None else epochs, warm)

    def _shapes(self, inputs: int) -> list[tuple[int, ...]]:
        s = self.settings
        sizes = [inputs] + [s.width] * s.hidden_layers + [1]
        shapes: list[tuple[int, ...]] = []
        for layer, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
            weight = (fan_in, s.members, fan_out) if layer == 0 else (s.members, fan_in, fan_out)
            shapes += [weight, (s.members, 1, fan_out)]
        return shapes

    def _views(self, flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
        out, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            out.append(flat[start:start + size].reshape(shape))
            start += size
        return out

    def _init(self, inputs: int, rng: np.random.Generator) -> None:
        """Each layer ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (torch.nn.Linear's default), drawn member-major."""
        shapes = self._shapes(inputs)
        self._flat = np.empty(sum(int(np.prod(shape)) for shape in shapes), dtype=np.float32)
        self._params = self._views(self._flat, shapes)
        for i, param in enumerate(self._params):
            fan_in = self._params[i - (i % 2)].shape[0 if i < 2 else 1]
            bound = 1.0 / np.sqrt(fan_in)
            shape = (param.shape[1], param.shape[0], param.shape[2]) if i == 0 else param.shape
            values = rng.uniform(-bound, bound, shape).astype(np.float32)
            param[...] = values.transpose(1, 0, 2) if i == 0 else values

    def _fit(self, x: np.ndarray, y: np.ndarray, seed: int, epochs: int, warm: bool) -> "MLPEnsemble":
        s = self.settings
        self._y_mean, self._y_std = float(y.mean()), float(y.std()) or 1.0
        inputs = np.asarray(x, dtype=np.float32)  # (n, d)
        targets = (np.asarray(y, dtype=np.float32) - self._y_mean) / self._y_std  # (n,)
        if not (warm and self._params and self._params[0].shape[0] == inputs.shape[1]):
            self._init(inputs.shape[1], np.random.default_rng(seed))
        grad_flat = np.empty_like(self._flat)
        grads = self._views(grad_flat, self._shapes(inputs.shape[1]))
        adam = _Adam(self._flat, s.learning_rate, s.weight_decay)
        for _ in range(epochs):
            activations = self._forward(inputs)
            error = activations[-1][..., 0] - targets  # (members, n)
            self._backward(activations, 2.0 * error[..., None] / error.shape[1], grads)
            adam.step(grad_flat)
        return self

    def _forward(self, inputs: np.ndarray) -> list[np.ndarray]:
        """Every layer's output, the input first: [(n, d), (members, n, width), ..., (members, n, 1)]."""
        members = self.settings.members
        first = self._params[0]  # (d, members, width)
        h = (inputs @ first.reshape(first.shape[0], -1)).reshape(len(inputs), members, -1).transpose(1, 0, 2)
        h = h + self._params[1]
        outputs = [inputs]
        last = len(self._params) - 2
        for i in range(0, len(self._params), 2):
            if i > 0:
                h = outputs[-1] @ self._params[i] + self._params[i + 1]
            if i < last:
                h = np.maximum(h, 0.0)
            outputs.append(h)
        return outputs

    def _backward(self, activations: list[np.ndarray], grad_out: np.ndarray, grads: list[np.ndarray]) -> None:
        """The gradients of every weight into ``grads`` (views of one flat buffer)."""
        grad = grad_out  # (members, n, out)
        for layer in reversed(range(len(self._params) // 2)):
            below = activations[layer]
            grads[2 * layer + 1][...] = grad.sum(axis=1, keepdims=True)
            if layer == 0:  # below: the shared input (n, d); grads[0]: (d, members, width)
                flat_grad = grad.transpose(1, 0, 2).reshape(below.shape[0], -1)  # (n, members * width)
                np.matmul(below.T, flat_grad, out=grads[0].reshape(below.shape[1], -1))
            else:
                np.matmul(below.transpose(0, 2, 1), grad, out=grads[2 * layer])
                grad = (grad @ self._params[2 * layer].transpose(0, 2, 1)) * (below > 0)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Each member's prediction: (members, n)."""
        with one_thread():
            out = self._forward(np.asarray(x, dtype=np.float32))[-1][..., 0]
        return out * self._y_std + self._y_mean


class _Adam:
    """Adam (Kingma & Ba 2015) over one flat float32 array, updated in place (a few passes, no temporaries)."""

    def __init__(self, params: np.ndarray, lr: float, weight_decay: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.params, self.lr, self.weight_decay, self.betas, self.eps = params, lr, weight_decay, betas, eps
        self.m, self.v, self._scratch = np.zeros_like(params), np.zeros_like(params), np.empty_like(params)
        self.t = 0

    def step(self, grads: np.ndarray) -> None:
        self.t += 1
        b1, b2 = self.betas
        correction = float(np.sqrt(1 - b2**self.t) / (1 - b1**self.t))
        scratch = self._scratch
        if self.weight_decay:
            grads += self.weight_decay * self.params
        self.m *= b1
        np.multiply(grads, 1 - b1, out=scratch)
        self.m += scratch
        self.v *= b2
        np.multiply(grads, grads, out=scratch)
        scratch *= 1 - b2
        self.v += scratch
        np.sqrt(self.v, out=scratch)
        scratch += self.eps
        np.divide(self.m, scratch, out=scratch)
        scratch *= self.lr * correction
        self.params -= scratch


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


class RefittedPredictor:
    """A search's predictor, refitted as its results arrive: fitted afresh once, then warm-started (issue 25).

    The first fit trains ``settings.epochs`` epochs from fresh weights; each later one continues from the last
    fit's weights for ``warm_epochs`` epochs on all results so far (``warm_epochs=0``: every fit from fresh
    weights, as BANANAS's paper refits its meta network). A refit happens when at least ``refit_every`` results
    arrived since the last fit; until then (and always when no new result arrived) the last model predicts.
    Warm-starting a network on a grown training set is the standard incremental use of a neural surrogate
    (e.g. Springenberg et al., "Bayesian Optimization with Robust Bayesian Neural Networks", NeurIPS 2016);
    BANANAS itself retrains from scratch each iteration, which on 100-trial NB201 searches cost ~90 % of
    the strategy's time. The search quality under the NB201 paper protocol is in perf/README.md (issue 25).

    ``fits`` ([results, seed] per fit, oldest first) is the whole state: after ``load_state_dict`` the model
    is rebuilt by replaying the fits on the same prefixes of the strategy's results (``data(k)``: the training
    archs and values from its first k results), so a resumed search predicts exactly as an uninterrupted one.
    """

    def __init__(self, settings: PredictorSettings, warm_epochs: int = 0, refit_every: int = 1) -> None:
        self.settings, self.warm_epochs, self.refit_every = settings, warm_epochs, refit_every
        self.fits: list[list[int]] = []
        self._model: MLPEnsemble | None = None
        self._replayed = 0  # how many of ``fits`` the model reflects
        self._codes: dict[tuple[Arch, str], np.ndarray] = {}

    @classmethod
    def from_options(cls, owner: str, members: int, epochs: int, warm_epochs: int, refit_every: int
                     ) -> "RefittedPredictor":
        """A strategy's predictor from its (checked) options ``members``, ``epochs``, ``warm_epochs``, ``refit_every``."""
        settings = PredictorSettings(members=check_int(owner, "members", members),
                                     epochs=check_int(owner, "epochs", epochs))
        return cls(settings, check_int(owner, "warm_epochs", warm_epochs, minimum=0),
                   check_int(owner, "refit_every", refit_every))

    def predict(self, space: SearchSpace, encoding: str, results: int,
                data: Callable[[int], tuple[list[Arch], list[float]]], queries: Sequence[Arch],
                rng: np.random.Generator) -> np.ndarray:
        """Predictions (members, len(queries)) of the model fitted on ``data(results)`` (refitted when due)."""
        if not self.fits or results - self.fits[-1][0] >= self.refit_every:
            self.fits.append([results, int(rng.integers(2**63 - 1))])
        self._catch_up(space, encoding, data)
        assert self._model is not None
        return self._model.predict(self._encode(space, encoding, queries))

    def _catch_up(self, space: SearchSpace, encoding: str,
                  data: Callable[[int], tuple[list[Arch], list[float]]]) -> None:
        while self._replayed < len(self.fits):
            results, seed = self.fits[self._replayed]
            archs, values = data(results)
            finite = [i for i, value in enumerate(values) if np.isfinite(value)]
            x = self._encode(space, encoding, [archs[i] for i in finite])
            y = np.array([values[i] for i in finite])
            warm = self._model is not None and self.warm_epochs > 0
            model = self._model if warm else MLPEnsemble(self.settings)
            assert model is not None
            self._model = model.fit(x, y, seed, self.warm_epochs if warm else None, warm=warm)
            self._replayed += 1

    def _encode(self, space: SearchSpace, encoding: str, archs: Sequence[Arch]) -> np.ndarray:
        """The encodings of ``archs`` (n, d), each computed once per search."""
        rows = []
        for arch in archs:
            code = self._codes.get((arch, encoding))
            if code is None:
                code = self._codes[(arch, encoding)] = space.encode(arch, encoding)
            rows.append(code)
        return np.stack(rows)

    def state(self) -> list[list[int]]:
        return [list(fit) for fit in self.fits]

    def load(self, fits: Sequence[Sequence[int]]) -> None:
        self.fits = [[int(results), int(seed)] for results, seed in fits]
        self._model, self._replayed = None, 0
