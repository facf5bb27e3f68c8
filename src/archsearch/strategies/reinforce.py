"""REINFORCE with a learned controller — Zoph & Le, "Neural Architecture Search with Reinforcement
Learning", ICLR 2017 (the controller also used by NASNet, Zoph et al., CVPR 2018), trained with the
likelihood-ratio policy gradient of Williams, "Simple Statistical Gradient-Following Algorithms for
Connectionist Reinforcement Learning", Machine Learning 8, 1992.

Two policies over the space's dims (in ``dims()`` order; an Integer dim is a categorical over its values):

- ``policy="lstm"`` (default), Zoph & Le's controller: an LSTM cell emits one choice per dim; the input at
  step t is a learned embedding of the choice made at step t-1 (a learned start vector at t=0), and each
  dim has its own linear softmax head (dims have different option counts). Weights start uniform in
  [-0.08, 0.08] (Zoph & Le). Optional ENAS logit shaping (Pham et al., ICML 2018):
  ``logits / temperature`` then ``tanh_constant * tanh(logits)`` (ENAS used 5.0 and 2.5; off by default).
- ``policy="factorized"``: one independent logit vector per dim, initialised 1e-3 * N(0, 1) — the
  REINFORCE baseline of NAS-Bench-201 (Dong & Yang, ICLR 2020; reference code AutoDL-Projects ``reinforce.py``, run with lr 0.01).

Training (both policies): the reward is the first objective's score; failed trials are skipped. The
baseline is an exponential moving average of rewards, ``b <- decay * b + (1 - decay) * reward`` with
decay 0.9 (NB201's EMA momentum; Zoph & Le also use a moving average of previous accuracies); the
first reward initialises it. The advantage uses the baseline *before* the current reward is folded
in, so the baseline does not depend on the action it judges. Loss per arch
``-(reward - b) * log_prob(arch) - entropy_weight * entropy``, averaged over ``batch_size`` results per
Adam step. ``log_prob`` is recomputed at ``tell`` time by teacher-forcing the controller on the told
arch, so no autograd graph is held between ask and tell (asks may run ahead of tells).

Learning rates: Zoph & Le used 0.0006 over 12,800 architectures; NB201 used 0.01 with the factorized
policy and ~100 architectures per run (12,000 simulated seconds), where it barely beats random
search (93.85 vs 93.70 on CIFAR-10). Adam moves each weight by at most ~lr per step, so with ~100
steps a logit moves by ~100 * lr at best: the defaults below (0.05 factorized, 0.005 LSTM, whose
many weights each move every logit) let both learn visibly within ~100 trials (see
``tests/strategies/test_reinforce.py``); ``--set strategy.learning_rate=0.01`` reproduces NB201.

The controller is tiny and always runs on the CPU. All its randomness (init and sampling) comes from a
``torch.Generator`` seeded from the strategy's numpy generator; ``state_dict`` holds the weights, the
Adam moments, the baseline, the pending batch and both generators, as JSON (float32 values round-trip exactly through Python floats).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from archsearch.core.arch import Arch
from archsearch.core.dims import Dim, Integer
from archsearch.core.errors import UserError
from archsearch.core.result import Result
from archsearch.core.strategy import Strategy

# -- defaults ---------------------------------------------------------------------------------
POLICIES = ("lstm", "factorized")
HIDDEN_SIZE = 32               # LSTM units (Zoph & Le: 35; NASNet: 100 for a far larger space)
LEARNING_RATE = {"lstm": 0.005, "factorized": 0.05}   # Adam; see the module docstring
BASELINE_DECAY = 0.9           # NB201's EMA momentum
ENTROPY_WEIGHT = 0.0           # ENAS used 1e-4 (with rewards in [0, 1]); NB201 and Zoph & Le none
BATCH_SIZE = 1                 # results per update (NB201: 1)
INIT_RANGE = 0.08              # LSTM weights ~ U(-0.08, 0.08) (Zoph & Le)
FACTORIZED_INIT_STD = 1e-3     # factorized logits ~ 1e-3 * N(0, 1) (NB201)
MAX_INTEGER_VALUES = 1024      # an Integer dim with more values is refused
MAX_RESAMPLES = 100            # invalid samples redrawn before falling back to space.sample
# Tiny tensors, but some ATen kernels still open an OpenMP region for them, which stalls for
# milliseconds when the CPU is busy: a K=1 matmul (the weight gradient of a batch of one) and
# log_softmax over two or more rows. So one arch is teacher-forced as a batch of 2 (the copy's
# gradient is exactly zero) and log_softmax is written as logits - logsumexp (serial reductions).
MIN_TEACHER_BATCH = 2


class Policy(nn.Module):
    """A distribution over index vectors (one index per dim), sampled and scored step by step."""

    def __init__(self, sizes: Sequence[int], temperature: float | None, tanh_constant: float | None) -> None:
        super().__init__()
        self.sizes = tuple(sizes)
        self.offsets = [0, *itertools.accumulate(self.sizes)]  # dim t's options are rows offsets[t]:offsets[t+1]
        self.temperature, self.tanh_constant = temperature, tanh_constant

    def begin(self, batch: int) -> Any:
        """The recurrent state before the first step."""
        return batch

    def step(self, t: int, previous: torch.Tensor | None, state: Any) -> tuple[torch.Tensor, Any]:
        """Logits (B, sizes[t]) of dim t given the previous choices (B,) and the state."""
        raise NotImplementedError

    def reset_parameters(self, generator: torch.Generator) -> None:
        raise NotImplementedError

    def log_softmax(self, logits: torch.Tensor) -> torch.Tensor:
        """Shaped log-probabilities (B, S) of logits (B, S)."""
        if self.temperature is not None:
            logits = logits / self.temperature
        if self.tanh_constant is not None:
            logits = self.tanh_constant * torch.tanh(logits)
        return logits - torch.logsumexp(logits, dim=-1, keepdim=True)  # log_softmax, see MIN_TEACHER_BATCH

    @torch.no_grad()
    def sample(self, generator: torch.Generator, count: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """``count`` index vectors (count, D) and the log-probability of each choice (count, D)."""
        state, previous = self.begin(count), None
        choices, chosen = [], []
        for t in range(len(self.sizes)):
            logits, state = self.step(t, previous, state)
            log_probs = self.log_softmax(logits)                                      # (count, S_t)
            previous = torch.multinomial(log_probs.exp(), 1, generator=generator)[:, 0]  # (count,)
            choices.append(previous)
            chosen.append(log_probs.gather(1, previous[:, None])[:, 0])
        return torch.stack(choices, 1), torch.stack(chosen, 1)

    def evaluate(self, choices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing on index vectors (B, D): log-probability (B,) and summed step entropy (B,)."""
        count = choices.shape[0]
        if count == 1:  # see MIN_TEACHER_BATCH: an extra row whose gradient is exactly zero
            choices = choices.expand(MIN_TEACHER_BATCH, -1)
        state, previous = self.begin(choices.shape[0]), None
        log_prob = entropy = choices.new_zeros(choices.shape[0], dtype=torch.float32)
        for t in range(len(self.sizes)):
            logits, state = self.step(t, previous, state)
            log_probs = self.log_softmax(logits)                                      # (B, S_t)
            previous = choices[:, t]
            log_prob = log_prob + log_probs.gather(1, previous[:, None])[:, 0]
            entropy = entropy - (log_probs.exp() * log_probs).sum(1)
        return log_prob[:count], entropy[:count]


class LSTMPolicy(Policy):
    """Zoph & Le's controller: an LSTM cell, per-dim choice embeddings and per-dim softmax heads.

    The per-dim embedding tables and heads are row blocks of one ``nn.Embedding`` and one ``nn.Linear``
    (dim t owns rows ``offsets[t]:offsets[t+1]``): the same model with fewer tensors for Adam to step.
    """

    def __init__(self, sizes: Sequence[int], hidden_size: int, temperature: float | None = None,
                 tanh_constant: float | None = None) -> None:
        super().__init__(sizes, temperature, tanh_constant)
        meta = {"device": "meta"}  # built without touching torch's global RNG; see reset_parameters
        self.hidden_size = hidden_size
        self.start = nn.Parameter(torch.empty(1, hidden_size, **meta))                        # (1, H)
        self.embedding = nn.Embedding(self.offsets[-2], hidden_size, **meta)  # (sum S_t for t < D-1, H)
        self.cell = nn.LSTMCell(hidden_size, hidden_size, **meta)
        self.heads = nn.Linear(hidden_size, self.offsets[-1], **meta)          # (sum S_t, H), (sum S_t,)

    def reset_parameters(self, generator: torch.Generator) -> None:
        self.to_empty(device="cpu")
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.uniform_(-INIT_RANGE, INIT_RANGE, generator=generator)

    def begin(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = self.start.new_zeros(batch, self.hidden_size)                                 # (B, H)
        return zeros, zeros

    def step(self, t: int, previous: torch.Tensor | None,
             state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        if previous is None:
            inputs = self.start.expand(state[0].shape[0], -1)                                # (B, H)
        else:
            inputs = self.embedding(previous + self.offsets[t - 1])                          # (B, H)
        hidden, cell = self.cell(inputs, state)                                              # (B, H) each
        rows = slice(self.offsets[t], self.offsets[t + 1])
        return nn.functional.linear(hidden, self.heads.weight[rows], self.heads.bias[rows]), (hidden, cell)


class FactorizedPolicy(Policy):
    """One independent logit vector per dim (NAS-Bench-201's REINFORCE baseline), packed in one tensor."""

    def __init__(self, sizes: Sequence[int], temperature: float | None = None,
                 tanh_constant: float | None = None) -> None:
        super().__init__(sizes, temperature, tanh_constant)
        self.logits = nn.Parameter(torch.empty(self.offsets[-1], device="meta"))  # (sum S_t,); dim t's at offsets[t]

    def reset_parameters(self, generator: torch.Generator) -> None:
        self.to_empty(device="cpu")
        with torch.no_grad():
            self.logits.normal_(0.0, FACTORIZED_INIT_STD, generator=generator)

    def step(self, t: int, previous: torch.Tensor | None, state: int) -> tuple[torch.Tensor, int]:
        return self.logits[self.offsets[t]:self.offsets[t + 1]].expand(state, -1), state     # (B, S_t)


def _check_number(option: str, value: Any, low: float, *, integer: bool = False, low_open: bool = False,
                  high: float | None = None) -> None:
    kinds = (int,) if integer else (int, float)
    ok = isinstance(value, kinds) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and (high is None or value < high)
    if not ok:
        bound = f"> {low}" if low_open else f">= {low}"
        limit = f" and < {high}" if high is not None else ""
        raise UserError(f"reinforce: {option} must be {'an integer' if integer else 'a number'} {bound}{limit}, "
                        f"got {value!r}")


class Reinforce(Strategy):
    """REINFORCE over an LSTM (Zoph & Le 2017) or factorized (NB201) policy with an EMA baseline."""

    name = "reinforce"

    def __init__(self, policy: str = "lstm", hidden_size: int = HIDDEN_SIZE, learning_rate: float | None = None,
                 baseline_decay: float = BASELINE_DECAY, entropy_weight: float = ENTROPY_WEIGHT,
                 batch_size: int = BATCH_SIZE, temperature: float | None = None,
                 tanh_constant: float | None = None) -> None:
        if policy not in POLICIES:
            raise UserError(f"reinforce: policy must be one of {', '.join(POLICIES)}, got {policy!r}")
        learning_rate = LEARNING_RATE[policy] if learning_rate is None else learning_rate
        _check_number("hidden_size", hidden_size, 1, integer=True)
        _check_number("learning_rate", learning_rate, 0, low_open=True)
        _check_number("baseline_decay", baseline_decay, 0, high=1)
        _check_number("entropy_weight", entropy_weight, 0)
        _check_number("batch_size", batch_size, 1, integer=True)
        for option, value in (("temperature", temperature), ("tanh_constant", tanh_constant)):
            if value is not None:
                _check_number(option, value, 0, low_open=True)
        self.policy_kind, self.hidden_size, self.learning_rate = policy, hidden_size, float(learning_rate)
        self.baseline_decay, self.entropy_weight = float(baseline_decay), float(entropy_weight)
        self.batch_size, self.temperature, self.tanh_constant = batch_size, temperature, tanh_constant

    def setup(self) -> None:
        self._dims: list[tuple[str, Dim]] = list(self.space.dims().items())
        for name, dim in self._dims:
            if isinstance(dim, Integer) and dim.size > MAX_INTEGER_VALUES:
                raise UserError(f"reinforce: Integer dim {name!r} of space {self.space.name!r} has {dim.size:,} "
                                f"values; the controller handles at most {MAX_INTEGER_VALUES}")
        self.generator = torch.Generator().manual_seed(int(self.rng.integers(2**63)))
        sizes = [dim.size for _, dim in self._dims]
        shaping = {"temperature": self.temperature, "tanh_constant": self.tanh_constant}
        self.policy: Policy = (LSTMPolicy(sizes, self.hidden_size, **shaping) if self.policy_kind == "lstm"
                               else FactorizedPolicy(sizes, **shaping))
        self.policy.reset_parameters(self.generator)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.learning_rate, foreach=True)
        self.baseline: float | None = None
        self._pending: list[tuple[list[int], float]] = []  # (choice indices, advantage) awaiting an update

    # -- ask / tell -------------------------------------------------------------------------
    def ask(self, n: int = 1) -> list[Arch]:
        return [self._next() for _ in range(n)]

    def _next(self) -> Arch:
        for _ in range(MAX_RESAMPLES):
            choices, _ = self.policy.sample(self.generator)
            arch = self.arch_of(choices[0].tolist())
            if self.space.is_valid(arch):
                return arch
        return self.space.sample(self.rng)

    def arch_of(self, indices: Sequence[int]) -> Arch:
        return Arch({name: dim.value_at(i) for (name, dim), i in zip(self._dims, indices)})

    def indices_of(self, arch: Arch) -> list[int]:
        return [dim.index(arch[name]) for name, dim in self._dims]

    def tell(self, results: Sequence[Result]) -> None:
        for result in results:
            reward = self.score(result)
            if not math.isfinite(reward):
                continue  # failed or pruned: nothing to learn from
            advantage = 0.0 if self.baseline is None else reward - self.baseline
            self.baseline = reward if self.baseline is None else (
                self.baseline_decay * self.baseline + (1.0 - self.baseline_decay) * reward)
            self._pending.append((self.indices_of(result.arch), advantage))
            if len(self._pending) >= self.batch_size:
                self._update()

    def _update(self) -> None:
        choices = torch.tensor([c for c, _ in self._pending], dtype=torch.long)          # (B, D)
        advantages = torch.tensor([a for _, a in self._pending], dtype=torch.float32)    # (B,)
        log_prob, entropy = self.policy.evaluate(choices)                                # (B,), (B,)
        loss = -(advantages * log_prob).mean() - self.entropy_weight * entropy.mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self._pending = []

    # -- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["policy"] = {name: tensor.tolist() for name, tensor in self.policy.state_dict().items()}
        moments = {}
        for name, parameter in self.policy.named_parameters():
            if parameter in self.optimizer.state:
                adam = self.optimizer.state[parameter]
                moments[name] = {"step": float(adam["step"]), "exp_avg": adam["exp_avg"].tolist(),
                                 "exp_avg_sq": adam["exp_avg_sq"].tolist()}
        state["adam"] = moments
        state["baseline"] = self.baseline
        state["pending"] = [[choices, advantage] for choices, advantage in self._pending]
        state["torch_generator"] = self.generator.get_state().tolist()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        weights = {name: torch.tensor(value, dtype=torch.float32) for name, value in state["policy"].items()}
        try:
            self.policy.load_state_dict(weights)
        except RuntimeError as exc:
            raise UserError(f"reinforce: the stored controller does not fit this space and policy ({exc})") from exc
        super().load_state_dict(state)
        names = [name for name, _ in self.policy.named_parameters()]
        optimizer_state = self.optimizer.state_dict()
        optimizer_state["state"] = {
            i: {"step": torch.tensor(state["adam"][name]["step"], dtype=torch.float32),
                "exp_avg": torch.tensor(state["adam"][name]["exp_avg"], dtype=torch.float32),
                "exp_avg_sq": torch.tensor(state["adam"][name]["exp_avg_sq"], dtype=torch.float32)}
            for i, name in enumerate(names) if name in state["adam"]}
        self.optimizer.load_state_dict(optimizer_state)
        self.baseline = None if state["baseline"] is None else float(state["baseline"])
        self._pending = [([int(i) for i in choices], float(advantage)) for choices, advantage in state["pending"]]
        self.generator.set_state(torch.tensor(state["torch_generator"], dtype=torch.uint8))
