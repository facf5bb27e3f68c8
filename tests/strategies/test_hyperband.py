"""Hyperband's own rules: the paper's bracket sizes, successive halving by score, failures, the ladder."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.objectives import Objective
from archsearch.core.result import Result
from archsearch.core.strategy import TrialRequest
from archsearch.spaces.nb201 import NB201Space
from archsearch.strategies.hyperband import Hyperband, bracket_schedule, geometric_ladder
from tests.conftest import json_round_trip, synthetic_result

LADDER = (1.0, 3.0, 9.0)


def bound(fidelities: tuple[float, ...] = LADDER, seed: int = 0, **options: float) -> Hyperband:
    strategy = Hyperband(**options)
    strategy.bind(NB201Space(), [Objective("valid_acc")], np.random.default_rng(seed), fidelities)
    return strategy


def scored(request: TrialRequest, score: float) -> Result:
    return Result(request.arch, {"valid_acc": score}, request.fidelity or 1.0, request.fidelity)


def failed(request: TrialRequest) -> Result:
    return Result(request.arch, {}, 1.0, request.fidelity, "failed", "boom")


def test_bracket_sizes_match_the_paper() -> None:
    assert bracket_schedule(3, 3) == [[9, 3, 1], [5, 1], [3]]
    # Li et al. (2018), Table 1: R = 81, eta = 3 (five rungs)
    assert bracket_schedule(5, 3) == [[81, 27, 9, 3, 1], [34, 11, 3, 1], [15, 5, 1], [8, 2], [5]]


def test_sequential_run_follows_the_schedule() -> None:
    strategy, space = bound(), NB201Space()
    fidelities = []
    for _ in range(2 * (13 + 6 + 3)):
        (request,) = strategy.ask_trials(1)
        fidelities.append(request.fidelity)
        strategy.tell([synthetic_result(space, request.arch, request.fidelity)])
    one_cycle = [1.0] * 9 + [3.0] * 3 + [9.0] + [3.0] * 5 + [9.0] + [9.0] * 3
    assert fidelities == one_cycle * 2


def test_promotes_exactly_the_top_third_by_score() -> None:
    strategy = bound(seed=1)
    first = strategy.ask_trials(9)
    assert [r.fidelity for r in first] == [1.0] * 9
    assert len({r.arch for r in first}) == 9  # no duplicates within a bracket
    scores = [0.3, 0.9, 0.1, 0.5, 0.8, 0.2, 0.7, 0.4, 0.6]
    strategy.tell([scored(r, s) for r, s in zip(first, scores)])
    second = strategy.ask_trials(3)
    assert [r.fidelity for r in second] == [3.0] * 3
    assert [r.arch for r in second] == [first[1].arch, first[4].arch, first[6].arch]  # 0.9, 0.8, 0.7
    strategy.tell([scored(r, s) for r, s in zip(second, [0.5, 0.4, 0.95])])
    (top,) = strategy.ask_trials(1)
    assert top == TrialRequest(first[6].arch, 9.0)


def test_failed_trials_are_never_promoted() -> None:
    strategy = bound(seed=2)
    first = strategy.ask_trials(9)
    strategy.tell([failed(r) for r in first[:7]] + [scored(r, 0.5) for r in first[7:]])
    json.dumps(strategy.state_dict(), allow_nan=False)  # -inf scores are stored as null
    second = strategy.ask_trials(2)
    assert {r.arch for r in second} == {first[7].arch, first[8].arch}
    assert all(r.fidelity == 3.0 for r in second)
    strategy.tell([failed(r) for r in second])  # every trial of the rung failed: the bracket ends
    (after,) = strategy.ask_trials(1)
    assert after.fidelity == 3.0 and after.arch not in {r.arch for r in first}  # bracket s = 1 starts


def test_asks_ahead_of_tells_start_the_next_bracket() -> None:
    strategy = bound(seed=3)
    requests = strategy.ask_trials(16)
    assert [r.fidelity for r in requests] == [1.0] * 9 + [3.0] * 5 + [9.0] * 2
    assert len({r.arch for r in requests[:9]}) == 9
    scores = [(7 * i % 16) / 16 for i in range(16)]  # distinct
    strategy.tell([scored(r, s) for r, s in reversed(list(zip(requests, scores)))])  # any order
    best_three = sorted(range(9), key=lambda i: -scores[i])[:3]
    nxt = strategy.ask_trials(5)
    assert [r.arch for r in nxt[:3]] == [requests[i].arch for i in best_three]
    assert [r.fidelity for r in nxt[:3]] == [3.0] * 3
    assert nxt[3] == TrialRequest(requests[9 + int(np.argmax(scores[9:14]))].arch, 9.0)  # bracket s = 1's best
    assert len(strategy.ask(4)) == 4


def test_restore_mid_bracket_with_pending_asks() -> None:
    space = NB201Space()
    original = bound(seed=4)
    pending = original.ask_trials(11)
    original.tell([synthetic_result(space, r.arch, r.fidelity) for r in pending[:6]])
    restored = bound(seed=99)
    restored.load_state_dict(json_round_trip(original.state_dict()))
    for strategy in (original, restored):
        strategy.tell([synthetic_result(space, r.arch, r.fidelity) for r in pending[6:]])
    assert restored.ask_trials(20) == original.ask_trials(20)


def test_ladder_restricted_to_min_and_max() -> None:
    assert bound((12.0, 200.0)).ladder == (12.0, 200.0)
    assert bound((12.0, 200.0), max_fidelity=12).ladder == (12.0,)
    assert bound((12.0, 200.0), min_fidelity=100).ladder == (200.0,)
    with pytest.raises(UserError, match="no fidelity of the study's ladder"):
        bound((12.0, 200.0), min_fidelity=13, max_fidelity=199)


def test_single_rung_is_random_search_at_that_fidelity() -> None:
    strategy, space = bound((12.0, 200.0), max_fidelity=12), NB201Space()
    for _ in range(20):
        (request,) = strategy.ask_trials(1)
        assert request.fidelity == 12.0
        strategy.tell([synthetic_result(space, request.arch, request.fidelity)])
    assert len(strategy.ask_trials(5)) == 5


def test_geometric_ladder() -> None:
    assert geometric_ladder(1, 27, 3) == (1.0, 3.0, 9.0, 27.0)
    assert geometric_ladder(1, 26, 3) == (26 / 9, 26 / 3, 26.0)  # the top rung is max_fidelity exactly
    assert geometric_ladder(4, 4, 3) == (4.0,)
    assert geometric_ladder(1, 16, 2) == (1.0, 2.0, 4.0, 8.0, 16.0)
    assert bound((), min_fidelity=1, max_fidelity=9).ladder == (1.0, 3.0, 9.0)


def test_no_ladder_is_a_clear_user_error() -> None:
    with pytest.raises(UserError, match="min_fidelity and strategy.max_fidelity"):
        bound(())
    with pytest.raises(UserError, match="offers no fidelity ladder"):
        bound((), min_fidelity=1)


@pytest.mark.parametrize("options", [{"eta": 1}, {"eta": "3"}, {"eta": math.inf}, {"min_fidelity": 0},
                                     {"max_fidelity": -1}, {"min_fidelity": 9, "max_fidelity": 3}])
def test_bad_options_are_user_errors(options: dict) -> None:
    with pytest.raises(UserError):
        Hyperband(**options)


def test_results_it_did_not_ask_for_are_ignored() -> None:
    strategy = bound(seed=5)
    stranger = Arch(dict(NB201Space().sample(np.random.default_rng(123))))
    strategy.tell([Result(stranger, {"valid_acc": 1.0}, 1.0, 1.0)])
    assert len(strategy.ask_trials(9)) == 9
