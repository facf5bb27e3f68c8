"""Local search — iterated first-improvement hill climbing over ``space.neighbours()`` with random
restarts, as in White, Nolen, Loni, ..., "Local Search is State of the Art for Neural Architecture
Search Benchmarks" (AutoML workshop 2020 / NASLib's LS).

Start: evaluate ``initial_samples`` random archs and climb from the best. Climb: evaluate the current
arch's neighbours in random order and move to the first one that is better (first improvement); a
neighbour already evaluated is judged from its stored score at no cost. When every neighbour is
evaluated and none is better, the current arch is a local optimum: restart from
``restart_samples`` new random archs. No arch is evaluated twice. ``guided=True`` orders neighbours by
a predictor and ``restart_pool`` > 0 picks restarts by Thompson sampling (see ``GuidedLocalSearch``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.options import check_bool, check_int
from archsearch.core.result import Result
from archsearch.core.strategy import Strategy
from archsearch.strategies.predictor import WARM_EPOCHS, RefittedPredictor, resolve_encoding

# -- defaults ---------------------------------------------------------------------------------
INITIAL_SAMPLES = 10  # random archs before the first climb (NASLib LS: num_init)
RESTART_SAMPLES = 10  # random archs before each climb after a local optimum
GUIDE_MIN_POINTS = 5  # guided: scores needed before the predictor orders neighbours


class LocalSearch(Strategy):
    """First-improvement hill climbing with random restarts."""

    name = "local-search"

    def __init__(self, initial_samples: int = INITIAL_SAMPLES, restart_samples: int = RESTART_SAMPLES,
                 guided: bool = False, restart_pool: int = 0, members: int = 5, epochs: int = 200,
                 warm_epochs: int = WARM_EPOCHS, refit_every: int = 1) -> None:
        self.initial_samples = check_int(self.name, "initial_samples", initial_samples)
        self.restart_samples = check_int(self.name, "restart_samples", restart_samples)
        self.guided = check_bool(self.name, "guided", guided)
        self.restart_pool = check_int(self.name, "restart_pool", restart_pool, minimum=0)
        self.predictor = RefittedPredictor.from_options(self.name, members, epochs, warm_epochs, refit_every)
        self._restart_queue: list[Arch] = []
        self._scores: dict[Arch, float] = {}  # evaluated (told) archs
        self._pending: list[Arch] = []  # asked, not yet told
        self._current: Arch | None = None
        self._queue: list[Arch] = []  # unevaluated neighbours of the current arch, in visiting order
        self._seeding: list[Arch] = []  # random archs of the current (re)start
        self._to_seed = initial_samples

    # -- ask ------------------------------------------------------------------------------------
    def ask(self, n: int = 1) -> list[Arch]:
        archs = [self._next() for _ in range(n)]
        self._pending.extend(archs)
        return archs

    def _next(self) -> Arch:
        if self._to_seed > 0 or self._current is None:
            self._to_seed = max(0, self._to_seed - 1)
            arch = self._restart_queue.pop(0) if self._restart_queue else self._unseen_sample()
            self._seeding.append(arch)
            return arch
        while self._queue:
            arch = self._queue.pop(0)
            if arch not in self._scores and arch not in self._pending:
                return arch
        # neighbours exhausted while some are still being evaluated: explore at random meanwhile
        return self._unseen_sample()

    def _unseen_sample(self) -> Arch:
        return self.space.sample_unseen(self.rng, lambda arch: arch in self._scores or arch in self._pending)

    def warm_start(self, archs: Sequence[Arch]) -> None:
        """Warm-start archs seed the first climb (its start is the best of them and the random seeds)."""
        self._restart_queue = [*archs, *self._restart_queue]
        self._to_seed = max(self._to_seed, len(self._restart_queue))

    # -- tell -----------------------------------------------------------------------------------
    def tell(self, results: Sequence[Result]) -> None:
        for result in results:
            if result.arch in self._pending:
                self._pending.remove(result.arch)
            self._scores[result.arch] = self.score(result)
            if self._current is not None and self._scores[result.arch] > self._scores[self._current]:
                self._move_to(result.arch)  # first improvement
        if self._current is None and self._to_seed == 0 and not any(a in self._pending for a in self._seeding):
            self._move_to(max(self._seeding, key=lambda a: self._scores.get(a, -math.inf)))
        if self._current is not None and not self._queue and not self._pending:
            self._restart()  # a local optimum: every neighbour is evaluated and none is better

    def _move_to(self, arch: Arch) -> None:
        while True:
            self._current, self._seeding = arch, []
            neighbours = self.space.neighbours(arch)
            order = self.rng.permutation(len(neighbours))
            self._queue = self._ordered([neighbours[i] for i in order if neighbours[i] not in self._scores])
            known = [n for n in neighbours if n in self._scores and self._scores[n] > self._scores.get(arch, -math.inf)]
            if not known:
                return
            arch = known[0]  # an already-evaluated better neighbour: move on at no cost

    def _ordered(self, queue: list[Arch]) -> list[Arch]:
        """Guided: most promising neighbours first, by an MLP ensemble fitted on the scores so far."""
        finite = sum(math.isfinite(s) for s in self._scores.values())
        if not self.guided or len(queue) < 2 or finite < GUIDE_MIN_POINTS:
            return queue
        mean = self._predict(queue).mean(axis=0)
        return [queue[i] for i in np.argsort(-mean, kind="stable")]

    def _predict(self, queries: list[Arch]) -> np.ndarray:
        """The predictor's (members, len(queries)) predictions, fitted on the scores so far (refitted when due:
        ``RefittedPredictor``; the climb asks it again at every move, and no new score means no refit)."""
        def data(count: int) -> tuple[list[Arch], list[float]]:
            told = list(self._scores.items())[:count]
            return [a for a, _ in told], [s for _, s in told]

        return self.predictor.predict(self.space, resolve_encoding(self.space), len(self._scores), data, queries,
                                      self.rng)

    def _restart(self) -> None:
        self._current, self._queue, self._seeding = None, [], []
        self._to_seed = self.restart_samples
        if self.guided and self.restart_pool > 0:
            pool = list({self._unseen_sample(): None for _ in range(self.restart_pool)})
            predictions = self._predict(pool)
            draws = self.rng.normal(predictions.mean(axis=0), predictions.std(axis=0))  # Thompson sampling
            self._restart_queue = [pool[i] for i in np.argsort(-draws)[: self.restart_samples]]

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update({
            "scores": [[dict(a), s] for a, s in self._scores.items()],
            "pending": [dict(a) for a in self._pending],
            "current": None if self._current is None else dict(self._current),
            "queue": [dict(a) for a in self._queue],
            "seeding": [dict(a) for a in self._seeding],
            "to_seed": self._to_seed,
            "restart_queue": [dict(a) for a in self._restart_queue],
            "predictor_fits": self.predictor.state(),
        })
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._scores = {Arch(a): float(s) for a, s in state["scores"]}
        self._pending = [Arch(a) for a in state["pending"]]
        self._current = None if state["current"] is None else Arch(state["current"])
        self._queue = [Arch(a) for a in state["queue"]]
        self._seeding = [Arch(a) for a in state["seeding"]]
        self._to_seed = int(state["to_seed"])
        self._restart_queue = [Arch(a) for a in state.get("restart_queue", ())]
        self.predictor.load(state.get("predictor_fits", ()))


class GuidedLocalSearch(LocalSearch):
    """Local search whose neighbour order and restarts follow a BANANAS-style predictor.

    The climb is White et al.'s first-improvement local search, but (i) the unevaluated neighbours of
    the current arch are visited in the order of an MLP ensemble's predicted score (fitted on every
    score so far, path encoding where the space has one), so an improvement is usually found in a
    few evaluations; and (ii) after a local optimum, the next climb starts from ``restart_samples``
    archs chosen by Thompson sampling among ``restart_pool`` unseen random archs instead of uniform
    samples. Defaults were tuned on NB201 CIFAR-10 only (perf/nb201_protocol.py).

    The predictor (:class:`~archsearch.strategies.predictor.RefittedPredictor`, issue 25) is fitted afresh
    (``epochs``) once, then warm-started from its last weights for ``warm_epochs`` = 25 epochs whenever new
    scores arrived (``refit_every``); the climb asks it at every move, and a move without a new score (an
    evaluated better neighbour, a restart) reuses it. It was refitted from scratch at each of those (~32 fits
    of 200 epochs per 100-trial NB201 search; now ~19, 200 + 18 x 25 epochs), at the same search quality (NB201
    paper protocol, CIFAR-10, 100 seeds: 94.24 +- 0.25, before 94.25 +- 0.24).
    """

    name = "guided-local-search"

    def __init__(self, initial_samples: int = INITIAL_SAMPLES, restart_samples: int = 3,
                 restart_pool: int = 200, members: int = 5, epochs: int = 200, warm_epochs: int = WARM_EPOCHS,
                 refit_every: int = 1) -> None:
        super().__init__(initial_samples=initial_samples, restart_samples=restart_samples, guided=True,
                         restart_pool=restart_pool, members=members, epochs=epochs, warm_epochs=warm_epochs,
                         refit_every=refit_every)
