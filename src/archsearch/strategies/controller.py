"""The REINFORCE controller's arithmetic in numpy: sampling, the policy gradient and Adam (issue 25).

The controller of :mod:`archsearch.strategies.reinforce` has a few thousand weights and acts on a batch of one
arch, so each torch op costs far more than its flops: a 100-trial NB201 search spent ~10 ms per trial in ask and
tell, most of it in autograd's engine and the optimizer's wrappers, and it stalled in OpenMP on a busy CPU.
:class:`ControllerMath` computes the same functions with numpy on views of the torch policy's parameters (the
torch module stays the container: its ``state_dict``, its initialisation, and the reference that
``tests/strategies/test_controller.py`` checks these gradients against):

- ``sample``: the policy's ancestral sampling (the same inverse-CDF draw from the same uniforms);
- ``gradients``: log-probabilities and entropies of teacher-forced choices and the gradient of the REINFORCE loss
  ``-mean(advantage * log_prob) - entropy_weight * mean(entropy)``, backpropagated by hand through the optional
  logit shaping, the per-dim heads and the LSTM cell (torch's gate order i, f, g, o) or the factorized logits.

:class:`Adam` is ``torch.optim.Adam`` (Kingma & Ba 2015, torch's arithmetic: moments lerped, the bias corrections
applied to the step and to the root of the second moment), updating the parameters in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PAD_LOGIT = -1e9


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class ControllerMath:
    """Numpy views of a ``Policy``'s parameters and the functions above on them (``policy``: an ``LSTMPolicy``
    or a ``FactorizedPolicy`` of :mod:`archsearch.strategies.reinforce`)."""

    def __init__(self, policy: Any) -> None:
        self.params = {name: p.detach().numpy() for name, p in policy.named_parameters()}  # shared memory
        self.lstm = "cell.weight_ih" in self.params
        self.sizes, self.offsets = list(policy.sizes), list(policy.offsets)
        self.option_index = policy.option_index.numpy()  # (D, W)
        self.padding = policy.padding.numpy()  # (D, W)
        self.last_option = policy.last_option.numpy()  # (D,)
        self.temperature, self.tanh_constant = policy.temperature, policy.tanh_constant

    # -- shaping and log-softmax --------------------------------------------------------------------------------
    def _log_softmax(self, logits: np.ndarray, padding: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shaped log-probabilities (..., W) and d(shaped)/d(logits) for the backward pass."""
        slope = np.ones_like(logits)
        if self.temperature is not None:
            logits = logits / np.float32(self.temperature)
            slope = slope / np.float32(self.temperature)
        if self.tanh_constant is not None:
            tanh = np.tanh(logits)
            logits = np.float32(self.tanh_constant) * tanh
            slope = slope * np.float32(self.tanh_constant) * (1 - tanh * tanh)
        shifted = np.where(padding, np.float32(PAD_LOGIT), logits)
        shifted = shifted - shifted.max(-1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True)), slope

    def _draw(self, log_probs: np.ndarray, uniform: np.ndarray, last_option: Any) -> np.ndarray:
        below = (np.exp(log_probs).cumsum(-1) <= uniform).sum(-1)
        return np.minimum(below, last_option)

    # -- sampling -----------------------------------------------------------------------------------------------
    def sample(self, uniform: np.ndarray) -> np.ndarray:
        """Index vectors (count, D) drawn with the uniforms (count, D, 1)."""
        if not self.lstm:
            log_probs, _ = self._log_softmax(self.params["logits"][self.option_index], self.padding)  # (D, W)
            return self._draw(log_probs, uniform, self.last_option)
        p = self.params
        count = uniform.shape[0]
        x = np.broadcast_to(p["start"], (count, p["start"].shape[1]))
        h = c = np.zeros_like(x)
        choices = []
        for t in range(len(self.sizes)):
            h, c, _ = self._cell(x, h, c)
            logits = (h @ p["heads.weight"].T + p["heads.bias"])[:, self.option_index[t]]  # (count, W)
            log_probs, _ = self._log_softmax(logits, self.padding[t])
            choices.append(self._draw(log_probs, uniform[:, t], self.last_option[t]))
            if t < len(self.sizes) - 1:
                x = p["embedding.weight"][choices[-1] + self.offsets[t]]
        return np.stack(choices, 1)

    def _cell(self, x: np.ndarray, h: np.ndarray, c: np.ndarray,
              projected: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
        """One ``nn.LSTMCell`` step: (h', c', the gates and tanh(c') for the backward pass)."""
        p = self.params
        if projected is None:
            projected = x @ p["cell.weight_ih"].T
        gates = projected + h @ p["cell.weight_hh"].T + (p["cell.bias_ih"] + p["cell.bias_hh"])
        size = h.shape[1]
        squashed = _sigmoid(gates)  # i, f and o; g is a tanh
        i, f, o = squashed[:, :size], squashed[:, size:2 * size], squashed[:, 3 * size:]
        g = np.tanh(gates[:, 2 * size:3 * size])
        c_new = f * c + i * g
        tanh_c = np.tanh(c_new)
        return o * tanh_c, c_new, (i, f, g, o, tanh_c)

    # -- the policy gradient ------------------------------------------------------------------------------------
    def gradients(self, choices: np.ndarray, advantages: np.ndarray,
                  entropy_weight: float) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Log-probabilities (B,) and summed entropies (B,) of ``choices`` (B, D), and the gradient of the
        REINFORCE loss (per parameter name)."""
        if self.lstm:
            hidden, caches = self._teacher_force(choices)  # (B, D, H)
            logits = (hidden @ self.params["heads.weight"].T + self.params["heads.bias"])  # (B, D, S)
            logits = np.take_along_axis(logits, np.broadcast_to(self.option_index, (len(choices),
                                                                                     *self.option_index.shape)), 2)
        else:
            logits = np.broadcast_to(self.params["logits"][self.option_index], (len(choices), *self.option_index.shape))
        log_probs, slope = self._log_softmax(logits, self.padding)  # (B, D, W)
        probs = np.exp(log_probs)
        log_prob = np.take_along_axis(log_probs, choices[:, :, None], 2)[:, :, 0].sum(1)  # (B,)
        step_entropy = -(probs * log_probs).sum(2, keepdims=True)  # (B, D, 1)
        count = len(choices)
        onehot = np.zeros_like(log_probs)
        np.put_along_axis(onehot, choices[:, :, None], 1.0, 2)
        grad = (-advantages[:, None, None] / count) * (onehot - probs)
        grad = grad + (entropy_weight / count) * probs * (log_probs + step_entropy)
        grad = np.where(self.padding, np.float32(0.0), grad * slope).astype(np.float32)  # d loss / d logits
        per_row = self._per_row(grad)  # (B, D, S): the head/logit rows of each dim
        if not self.lstm:
            return log_prob, step_entropy[:, :, 0].sum(1), {"logits": per_row.sum((0, 1))}
        return log_prob, step_entropy[:, :, 0].sum(1), self._lstm_backward(choices, per_row, hidden, caches)

    def _per_row(self, grad: np.ndarray) -> np.ndarray:
        """(B, D, W) gradients of the padded logits scattered onto each dim's own rows (B, D, S)."""
        out = np.zeros((*grad.shape[:2], self.offsets[-1]), dtype=np.float32)
        for t, size in enumerate(self.sizes):
            out[:, t, self.offsets[t]:self.offsets[t + 1]] = grad[:, t, :size]
        return out

    def _teacher_force(self, choices: np.ndarray) -> tuple[np.ndarray, list[Any]]:
        p = self.params
        count, hidden_size = len(choices), p["start"].shape[1]
        rows = choices[:, :-1] + np.asarray(self.offsets[:-2], dtype=choices.dtype)  # (B, D-1): embedding rows
        inputs = np.concatenate([np.broadcast_to(p["start"], (count, 1, hidden_size)),
                                 p["embedding.weight"][rows]], 1)  # (B, D, H)
        projected = inputs @ p["cell.weight_ih"].T  # (B, D, 4H)
        h = c = np.zeros((count, hidden_size), dtype=np.float32)
        hidden, caches = [], []
        for t in range(len(self.sizes)):
            h_new, c_new, gates = self._cell(inputs[:, t], h, c, projected[:, t])
            caches.append((inputs[:, t], h, c, gates))
            h, c = h_new, c_new
            hidden.append(h)
        return np.stack(hidden, 1), [caches, rows]

    def _lstm_backward(self, choices: np.ndarray, per_row: np.ndarray, hidden: np.ndarray,
                       caches: list[Any]) -> dict[str, np.ndarray]:
        p = self.params
        steps, rows = caches
        grads = {"heads.weight": np.einsum("bds,bdh->sh", per_row, hidden), "heads.bias": per_row.sum((0, 1))}
        grad_hidden = per_row @ p["heads.weight"]  # (B, D, H)
        dh = np.zeros_like(grad_hidden[:, 0])
        dc = np.zeros_like(dh)
        d_gates, d_inputs = [], []
        for t in reversed(range(len(self.sizes))):
            x, h_prev, c_prev, (i, f, g, o, tanh_c) = steps[t]
            dh = dh + grad_hidden[:, t]
            dc = dc + dh * o * (1 - tanh_c * tanh_c)
            gate = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
                                   dh * tanh_c * o * (1 - o)], 1)  # (B, 4H): i, f, g, o
            d_gates.append((gate, x, h_prev))
            d_inputs.append(gate @ p["cell.weight_ih"])
            dh, dc = gate @ p["cell.weight_hh"], dc * f
        gates = np.stack([g for g, _, _ in reversed(d_gates)], 1)  # (B, D, 4H)
        grads["cell.weight_ih"] = np.einsum("bdk,bdh->kh", gates, np.stack([x for _, x, _ in reversed(d_gates)], 1))
        grads["cell.weight_hh"] = np.einsum("bdk,bdh->kh", gates, np.stack([h for _, _, h in reversed(d_gates)], 1))
        grads["cell.bias_ih"] = grads["cell.bias_hh"] = gates.sum((0, 1))
        d_input = np.stack(d_inputs[::-1], 1)  # (B, D, H)
        grads["start"] = d_input[:, :1].sum(0)
        embedding = np.zeros_like(p["embedding.weight"])
        np.add.at(embedding, rows, d_input[:, 1:])
        grads["embedding.weight"] = embedding
        return grads


class Adam:
    """``torch.optim.Adam`` (no weight decay, no AMSGrad) over named numpy arrays, updated in place; the moments
    of a parameter start at its first step, as torch's do."""

    def __init__(self, params: dict[str, np.ndarray], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.state: dict[str, dict[str, Any]] = {}  # name -> {"step": int, "exp_avg": array, "exp_avg_sq": array}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        b1, b2 = self.betas
        for name, grad in grads.items():
            param = self.params[name]
            state = self.state.setdefault(name, {"step": 0, "exp_avg": np.zeros_like(param),
                                                 "exp_avg_sq": np.zeros_like(param)})
            state["step"] += 1
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m += (grad - m) * np.float32(1 - b1)  # torch: exp_avg.lerp_(grad, 1 - beta1)
            v *= np.float32(b2)
            v += grad * grad * np.float32(1 - b2)
            step_size = self.lr / (1 - b1 ** state["step"])
            denom = np.sqrt(v) / np.float32((1 - b2 ** state["step"]) ** 0.5) + np.float32(self.eps)
            param -= np.float32(step_size) * (m / denom)
