"""The contract every registered strategy satisfies on every space (Optuna-style contract suite)."""

from __future__ import annotations

import numpy as np
import pytest

from archsearch.core.arch import Arch
from archsearch.core.objectives import Objective
from archsearch.core.registry import STRATEGIES
from archsearch.core.result import Result
from archsearch.core.space import SearchSpace
from archsearch.core.strategy import Prior, Strategy
from tests.conftest import FAST_OPTIONS, ask_tell_strategies, json_round_trip, synthetic_result

OBJECTIVES = [Objective("valid_acc", "max")]
FIDELITIES = (1.0, 3.0, 9.0)  # a ladder for multi-fidelity strategies; single-fidelity ones ignore it


def make(name: str, space: SearchSpace, seed: int) -> Strategy:
    strategy = STRATEGIES.create(name, **FAST_OPTIONS.get(name, {}))
    strategy.bind(space, OBJECTIVES, np.random.default_rng(seed), FIDELITIES)
    return strategy


def drive(strategy: Strategy, space: SearchSpace, steps: int) -> list[tuple[Arch, float | None]]:
    asked = []
    for _ in range(steps):
        requests = strategy.ask_trials(1)
        asked.extend((r.arch, r.fidelity) for r in requests)
        strategy.tell([synthetic_result(space, r.arch, r.fidelity) for r in requests])
    return asked


ASK_TELL = ask_tell_strategies()  # one-shot strategies have their own suite: tests/strategies/oneshot/


@pytest.fixture(params=ASK_TELL)
def strategy_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_a_strategy_that_chooses_fidelities_says_so(name: str) -> None:
    from archsearch.core.strategy import Strategy

    cls = STRATEGIES.load(name)
    assert cls.multi_fidelity == (cls.ask_trials is not Strategy.ask_trials)


def test_asks_are_valid_archs(strategy_name: str, space: SearchSpace) -> None:
    asked = drive(make(strategy_name, space, 0), space, 40)
    assert len(asked) == 40
    assert all(space.is_valid(a) for a, _ in asked)
    assert all(f is None or f in FIDELITIES for _, f in asked)


def test_same_seed_same_asks(strategy_name: str, space: SearchSpace) -> None:
    assert drive(make(strategy_name, space, 3), space, 30) == drive(make(strategy_name, space, 3), space, 30)
    assert drive(make(strategy_name, space, 3), space, 30) != drive(make(strategy_name, space, 4), space, 30)


def test_state_dict_resumes_the_same_sequence(strategy_name: str, space: SearchSpace) -> None:
    original = make(strategy_name, space, 5)
    drive(original, space, 17)
    state = json_round_trip(original.state_dict())
    restored = make(strategy_name, space, 999)  # a different seed: the state must carry the RNG
    restored.load_state_dict(state)
    assert drive(restored, space, 25) == drive(original, space, 25)


def test_batch_asks_and_failed_results(strategy_name: str, space: SearchSpace) -> None:
    strategy = make(strategy_name, space, 1)
    archs = strategy.ask(7)
    assert len(archs) == 7 and all(space.is_valid(a) for a in archs)
    strategy.tell([Result(a, {}, 1.0, None, "failed", "boom") for a in archs[:3]])
    strategy.tell([synthetic_result(space, a) for a in archs[3:]])
    assert all(space.is_valid(a) for a, _ in drive(strategy, space, 10))


WARM = [name for name in ASK_TELL if STRATEGIES.load(name).supports_warm_start]


@pytest.mark.parametrize("strategy_name", WARM)
def test_warm_start_archs_are_asked_first_and_survive_a_checkpoint(strategy_name: str, space: SearchSpace) -> None:
    warm = [space.sample(np.random.default_rng(100 + i)) for i in range(3)]
    strategy = make(strategy_name, space, 0)
    strategy.warm_start(warm)
    first = strategy.ask_trials(1)[0].arch
    state = json_round_trip(strategy.state_dict())
    resumed = make(strategy_name, space, 0)
    resumed.load_state_dict(state)
    for strategy_now in (strategy, resumed):
        strategy_now.tell([synthetic_result(space, first)])
    rest = [r.arch for r in strategy.ask_trials(2)]
    assert [first, *rest] == warm
    assert [r.arch for r in resumed.ask_trials(2)] == rest


@pytest.mark.parametrize("strategy_name", WARM)  # the others refuse priors (tests/study/test_warm_start.py)
def test_a_prior_from_another_study_is_used_and_survives_a_checkpoint(strategy_name: str, space: SearchSpace) -> None:
    """``use_prior``: its best archs come first, and the state round-trips."""
    rng = np.random.default_rng(7)
    archs = list({a.key(): a for a in (space.sample(rng) for _ in range(12))}.values())
    prior = Prior(tuple(synthetic_result(space, a) for a in archs), "other")
    strategy = make(strategy_name, space, 0)
    message = strategy.use_prior(prior, top=2)
    assert message
    best = sorted(archs, key=lambda a: -synthetic_result(space, a).metric("valid_acc"))[:2]
    first = [r.arch for r in strategy.ask_trials(2)]
    assert first == best
    resumed = make(strategy_name, space, 0)
    resumed.load_state_dict(json_round_trip(strategy.state_dict()))
    for strategy_now in (strategy, resumed):
        strategy_now.tell([synthetic_result(space, a) for a in first])
    assert drive(strategy, space, 5) == drive(resumed, space, 5)
