"""BANANAS — White, Neiswanger & Savani, "BANANAS: Bayesian Optimization with Neural Architectures
for Neural Architecture Search", AAAI 2021.

Settings from the paper: ``initial_samples`` = 10 random archs; then, per iteration, an ensemble of 5
MLPs (:mod:`archsearch.strategies.predictor`) is fitted on the path encoding (``space.encode(arch,
"path")``; spaces without one use the one-hot encoding), 100 candidates are made by mutating the best
archs so far, and the ``batch_size`` = 10 candidates with the highest acquisition are evaluated next.
Acquisition: independent Thompson sampling (``its``, the paper's choice: one draw per candidate from a
normal with the ensemble's mean and spread) or ``ucb`` (mean + ``ucb_beta`` x spread).
Deviation, measured under the NB201 protocol (perf/): the paper's candidates are only mutations of
the best archs, which can trap a run in a basin whose best archs all share a poor edge (seed 13 on
CIFAR-10 ends at 91.95); adding ``random_candidates`` = 100 uniform samples to the pool lets the
predictor pick a way out (20-seed mean 94.10 -> 94.21). ``candidate_source="neighbours"`` instead
uses every unseen neighbour of the ``neighbour_parents`` best archs.
No arch is evaluated twice. Deviation (issue 25): the paper retrains the predictor from scratch each
iteration; here the first fit trains ``epochs`` = 200 epochs from fresh weights and each later one continues
from the last fit's weights for ``warm_epochs`` = 25 epochs on all results so far
(:class:`~archsearch.strategies.predictor.RefittedPredictor`; ``warm_epochs=0`` restores the paper's refits):
a 100-trial NB201 search trains 400 epochs instead of 1,800, at the same search quality (NB201 paper protocol,
CIFAR-10, 100 seeds: 94.13 +- 0.29, from scratch 94.13 +- 0.40; perf/README.md, issue 25).
The fits' seeds are drawn from the strategy's RNG and logged in the state, so a resume replays them exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.options import check_choice, check_int, check_number
from archsearch.core.result import Result
from archsearch.core.strategy import Prior, Strategy
from archsearch.strategies.predictor import WARM_EPOCHS, RefittedPredictor, resolve_encoding

# -- defaults (White et al. 2021) ---------------------------------------------------------------
INITIAL_SAMPLES = 10
BATCH_SIZE = 10
CANDIDATES = 100
RANDOM_CANDIDATES = 100  # added to the mutated ones so the predictor can leave a basin (see below)
MUTATION_PARENTS = 10
ACQUISITIONS = ("its", "ucb")
CANDIDATE_SOURCES = ("mutation", "neighbours")
MAX_TRIES_PER_CANDIDATE = 20


class Bananas(Strategy):
    """Predictor-guided Bayesian optimisation with a neural ensemble and path encodings."""

    name = "bananas"

    def __init__(self, initial_samples: int = INITIAL_SAMPLES, batch_size: int = BATCH_SIZE,
                 candidates: int = CANDIDATES, mutation_parents: int = MUTATION_PARENTS,
                 random_candidates: int = RANDOM_CANDIDATES, candidate_source: str = "mutation",
                 neighbour_parents: int = 3, acquisition: str = "its", ucb_beta: float = 2.0,
                 encoding: str = "auto", members: int = 5, epochs: int = 200, warm_epochs: int = WARM_EPOCHS,
                 refit_every: int = 1) -> None:
        owner = self.name
        self.initial_samples = check_int(owner, "initial_samples", initial_samples)
        self.batch_size = check_int(owner, "batch_size", batch_size)
        self.candidates = check_int(owner, "candidates", candidates)
        self.mutation_parents = check_int(owner, "mutation_parents", mutation_parents)
        self.random_candidates = check_int(owner, "random_candidates", random_candidates, minimum=0)
        self.candidate_source = check_choice(owner, "candidate_source", candidate_source, CANDIDATE_SOURCES)
        self.neighbour_parents = check_int(owner, "neighbour_parents", neighbour_parents)
        self.acquisition = check_choice(owner, "acquisition", acquisition, ACQUISITIONS)
        self.ucb_beta = check_number(owner, "ucb_beta", ucb_beta, minimum=0.0)
        self.encoding = check_choice(owner, "encoding", encoding, ("auto", "path", "onehot", "index"))
        self.predictor = RefittedPredictor.from_options(owner, members, epochs, warm_epochs, refit_every)
        self._history: dict[Arch, float] = {}
        self._prior: dict[Arch, float] = {}  # another study's scores (warm start across datasets)
        self._pending: list[Arch] = []
        self._queue: list[Arch] = []

    def setup(self) -> None:
        self.encoding = resolve_encoding(self.space, self.encoding)

    # -- ask ------------------------------------------------------------------------------------
    def ask(self, n: int = 1) -> list[Arch]:
        archs = []
        for _ in range(n):
            if not self._queue:
                self._queue = self._next_batch()
            archs.append(self._queue.pop(0))
        self._pending.extend(archs)
        return archs

    def _seen(self, arch: Arch) -> bool:
        return arch in self._history or arch in self._pending or arch in self._queue

    def _next_batch(self) -> list[Arch]:
        told = [a for a, s in self._history.items() if math.isfinite(s)]
        if len(self._history) + len(self._pending) < self.initial_samples or len(told) < 2:
            return [self._random_unseen()]
        candidates = self._mutated_candidates(told)
        chosen = set(candidates)
        for _ in range(self.random_candidates):
            arch = self._random_unseen()
            if arch not in chosen:
                chosen.add(arch)
                candidates.append(arch)
        if not candidates:
            return [self._random_unseen()]
        values = self._acquisition(told, candidates)
        order = np.argsort(-values, kind="stable")[: self.batch_size]
        return [candidates[i] for i in order]

    def _random_unseen(self) -> Arch:
        return self.space.sample_unseen(self.rng, self._seen)

    def _mutated_candidates(self, told: list[Arch]) -> list[Arch]:
        parents = sorted(told, key=lambda a: -self._history[a])[: self.mutation_parents]
        out: list[Arch] = []
        chosen: set[Arch] = set()
        if self.candidate_source == "neighbours":
            out = list({n: None for p in parents[: self.neighbour_parents] for n in self.space.neighbours(p)
                        if not self._seen(n)})
            chosen = set(out)
        for i in range(self.candidates * MAX_TRIES_PER_CANDIDATE):
            if len(out) >= self.candidates:
                break
            child = self.space.mutate(parents[i % len(parents)], self.rng)
            if child not in chosen and not self._seen(child):
                chosen.add(child)
                out.append(child)
        return out

    def _acquisition(self, told: list[Arch], candidates: list[Arch]) -> np.ndarray:
        predictions = self.predictor.predict(self.space, self.encoding, len(self._history), self._training_set,
                                             candidates, self.rng)
        mean, spread = predictions.mean(axis=0), predictions.std(axis=0)  # (candidates,)
        if self.acquisition == "ucb":
            return mean + self.ucb_beta * spread
        return self.rng.normal(mean, spread)  # independent Thompson sampling

    # -- prior ----------------------------------------------------------------------------------
    def use_prior(self, prior: Prior, top: int = 10) -> str:
        """Evaluate the prior's best archs first and pre-train the predictor on all its results (their
        scores standardised to this search's own mean and spread once it has them)."""
        first = super().use_prior(prior, top)
        self._prior = self.prior_scores(prior)
        return f"{first}; the predictor also trains on its {len(self._prior)} results"

    def _training_set(self, count: int) -> tuple[list[Arch], list[float]]:
        """The predictor's training set after the first ``count`` results: the (rescaled) prior and the finite
        ones of those results."""
        history = dict(list(self._history.items())[:count])
        told = [a for a, s in history.items() if math.isfinite(s)]
        known = {**self._rescaled_prior(told, history), **{a: history[a] for a in told}}
        return list(known), list(known.values())

    def _rescaled_prior(self, told: list[Arch], history: dict[Arch, float] | None = None) -> dict[Arch, float]:
        """Prior scores mapped by z-score onto the spread of this search's own scores (another dataset's
        accuracies are on another scale); the search's own results (``history``, default all) replace the
        prior's for the same arch."""
        if not self._prior:
            return {}
        history = self._history if history is None else history
        prior = np.array(list(self._prior.values()))
        own = np.array([history[a] for a in told])
        z = (prior - prior.mean()) / (prior.std() or 1.0)
        mapped = own.mean() + z * (own.std() or prior.std() or 1.0)
        return {arch: float(value) for arch, value in zip(self._prior, mapped) if arch not in history}

    # -- tell -----------------------------------------------------------------------------------
    def tell(self, results: Sequence[Result]) -> None:
        for result in results:
            if result.arch in self._pending:
                self._pending.remove(result.arch)
            self._history[result.arch] = self.score(result)

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update({"history": [[dict(a), s] for a, s in self._history.items()],
                      "pending": [dict(a) for a in self._pending], "queue": [dict(a) for a in self._queue],
                      "prior": [[dict(a), s] for a, s in self._prior.items()],
                      "encoding": self.encoding, "predictor_fits": self.predictor.state()})
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._history = {Arch(a): float(s) for a, s in state["history"]}
        self._pending = [Arch(a) for a in state["pending"]]
        self._queue = [Arch(a) for a in state["queue"]]
        self._prior = {Arch(a): float(s) for a, s in state.get("prior", [])}
        self.encoding = state["encoding"]
        self.predictor.load(state.get("predictor_fits", ()))
