"""Any Optuna sampler as an archsearch strategy, through Optuna's own ask-and-tell interface.

Optuna (Akiba et al., "Optuna: A Next-generation Hyperparameter Optimization Framework", KDD 2019) holds an
in-memory study; each of the space's dims is one parameter (a categorical over its options, an integer range
for an ``Integer`` dim). ``sampler``: ``tpe`` (the tree-structured Parzen estimator, Bergstra et al. 2011;
Optuna's default), ``cmaes`` (CMA-ES, Hansen 2016; Optuna samples categorical parameters independently),
``nsgaii`` (Deb et al. 2002), ``qmc`` (quasi-Monte Carlo, Sobol'), ``gp`` (Gaussian-process Bayesian
optimisation) or ``random``; ``sampler_options`` go to the sampler's constructor (e.g. ``{n_startup_trials:
20}`` for TPE). The seed of the sampler is drawn from the strategy's generator.

Several objectives (without a reward) make a multi-objective Optuna study, one direction per objective, with the
raw metric values; otherwise the study maximises the goal's score (the reward or the first objective). A failed
or infeasible result is a failed Optuna trial. An arch the space rejects (e.g. an NB101 cell without a path) is
told as failed and asked again (up to :data:`MAX_INVALID`), then drawn uniformly.

Resume: the state is the sampler's seed and the log of asks and tells; loading it rebuilds the sampler from its
seed and replays the log, asking again (the samplers are deterministic for a seed and a history, so the replayed
asks are the stored ones and the continuation is the uninterrupted run's).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical
from archsearch.core.errors import UserError
from archsearch.core.options import check_choice
from archsearch.core.result import Result
from archsearch.core.strategy import Strategy

SAMPLERS = ("tpe", "cmaes", "nsgaii", "qmc", "gp", "random")
SINGLE_OBJECTIVE = ("cmaes",)  # samplers Optuna runs with one objective only
MAX_INVALID = 20  # asks of an arch the space rejects before a uniform draw
INSTALL = "pip install 'archsearch[optuna]'"


def import_optuna() -> Any:
    """The optuna module, or a one-line UserError saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise UserError(f"strategy optuna needs the optuna package: {INSTALL}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def make_sampler(optuna: Any, name: str, seed: int, options: dict[str, Any]) -> Any:
    classes = {"tpe": optuna.samplers.TPESampler, "cmaes": optuna.samplers.CmaEsSampler,
               "nsgaii": optuna.samplers.NSGAIISampler, "qmc": optuna.samplers.QMCSampler,
               "gp": optuna.samplers.GPSampler, "random": optuna.samplers.RandomSampler}
    try:
        with warnings.catch_warnings():  # QMC and GP are marked experimental; archsearch chose them knowingly
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return classes[name](seed=seed, **options)
    except TypeError as exc:
        raise UserError(f"strategy optuna: sampler {name!r} rejects sampler_options {options}: {exc}") from None


class OptunaStrategy(Strategy):
    """``OptunaStrategy(sampler="tpe", sampler_options={})``: Optuna's sampler proposes, archsearch evaluates."""

    name = "optuna"
    multi_objective = True  # several objectives make a multi-objective Optuna study

    def __init__(self, sampler: str = "tpe", sampler_options: dict[str, Any] | None = None) -> None:
        self.sampler_name = check_choice(self.name, "sampler", sampler, SAMPLERS)
        if sampler_options is not None and not isinstance(sampler_options, dict):
            raise UserError(f"strategy optuna: sampler_options must be a mapping, got {sampler_options!r}")
        self.sampler_options = dict(sampler_options or {})

    def setup(self) -> None:
        if self.goal.multi and self.sampler_name in SINGLE_OBJECTIVE:
            raise UserError(f"strategy optuna: sampler {self.sampler_name!r} optimises one objective; "
                            f"{len(self.goal.objectives)} were given (use tpe, nsgaii, gp or random)")
        self.optuna = import_optuna()
        self.distributions = {name: self._distribution(dim) for name, dim in self.space.dims().items()}
        self._start(int(self.rng.integers(2**31 - 1)))

    def _distribution(self, dim: Any) -> Any:
        dists = self.optuna.distributions
        if isinstance(dim, Categorical):
            return dists.CategoricalDistribution(list(dim.options))
        return dists.IntDistribution(int(dim.low), int(dim.high))

    def _start(self, seed: int) -> None:
        """A fresh Optuna study whose sampler has ``seed``; an empty log."""
        self.seed = seed
        sampler = make_sampler(self.optuna, self.sampler_name, seed, self.sampler_options)
        directions = ([o.direction.replace("max", "maximize").replace("min", "minimize") for o in self.objectives]
                      if self.goal.multi else ["maximize"])
        self.study = self.optuna.create_study(sampler=sampler, directions=directions)
        self.log: list[list[Any]] = []  # ["ask", number, params] / ["tell", number, values or None]
        self.pending: dict[str, list[Any]] = {}  # arch key -> Optuna trials asked for it, oldest first

    # -- ask and tell -------------------------------------------------------------------------------
    def ask(self, n: int = 1) -> list[Arch]:
        return [self._ask_one() for _ in range(n)]

    def _ask_one(self) -> Arch:
        for _ in range(MAX_INVALID):
            trial = self._optuna_ask()
            arch = Arch(dict(trial.params))
            if self.space.is_valid(arch):
                self.pending.setdefault(arch.key(), []).append(trial)
                return arch
            self._optuna_tell(trial, None)  # the space rejects it: a failed trial the sampler learns from
        arch = self.space.sample(self.rng)
        trial = self._optuna_ask(fixed=dict(arch))
        self.pending.setdefault(arch.key(), []).append(trial)
        return arch

    def _optuna_ask(self, fixed: dict[str, Any] | None = None) -> Any:
        if fixed is not None:
            self.study.enqueue_trial(fixed)
        trial = self.study.ask(self.distributions)
        self.log.append(["ask", trial.number, dict(trial.params), fixed is not None])
        return trial

    def _optuna_tell(self, trial: Any, values: list[float] | None) -> None:
        if values is None:
            self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, values)
        self.log.append(["tell", trial.number, values])

    def tell(self, results: Sequence[Result]) -> None:
        for result in results:
            waiting = self.pending.get(result.arch.key())
            if not waiting:  # a warm-start or prior arch Optuna did not ask: add it to its history
                self._record_foreign(result)
                continue
            self._optuna_tell(waiting.pop(0), self._values(result))
            if not waiting:
                del self.pending[result.arch.key()]

    def _record_foreign(self, result: Result) -> None:
        trial = self._optuna_ask(fixed=dict(result.arch))
        self._optuna_tell(trial, self._values(result))

    def _values(self, result: Result) -> list[float] | None:
        """The values Optuna is told (None: a failed trial)."""
        if result.status != "ok" or not self.goal.feasible(result):
            return None
        if self.goal.multi:
            values = [result.metric(o.metric) for o in self.objectives]
        else:
            values = [self.score(result)]
        return values if all(math.isfinite(v) for v in values) else None

    # -- state ----------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "seed": self.seed, "log": self.log,
                "pending": [[key, [t.number for t in trials]] for key, trials in self.pending.items()]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._start(int(state["seed"]))
        trials: dict[int, Any] = {}
        for event in state["log"]:
            if event[0] == "ask":
                trials[event[1]] = self._replay_ask(event[2], bool(event[3]))
            else:
                self._optuna_tell(trials[event[1]], event[2])
        self.pending = {key: [trials[number] for number in numbers] for key, numbers in state["pending"]}

    def _replay_ask(self, params: dict[str, Any], fixed: bool) -> Any:
        """Ask again as the stored run did; the sampler gives the stored params (a sampler that would not, is
        given them, so the history stays true)."""
        trial = self._optuna_ask(fixed=params if fixed else None)
        if dict(trial.params) != params:
            self._optuna_tell(trial, None)
            trial = self._optuna_ask(fixed=params)
        return trial
