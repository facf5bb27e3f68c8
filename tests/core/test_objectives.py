"""Constraints, the MnasNet reward and the goal of a search."""

from __future__ import annotations

import math

import numpy as np
import pytest

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.objectives import Constraint, Goal, MnasNetReward, Objective
from archsearch.core.registry import SPACES, STRATEGIES
from archsearch.core.result import Result


def result(**metrics: float) -> Result:
    return Result(Arch({"a": 1}), dict(metrics))


def test_mnasnet_reward_values() -> None:
    """Tan et al. 2019, Eq. 2 with T = 80 ms: soft w = -0.07, hard alpha = 0, beta = -1."""
    soft = MnasNetReward.parse("mnasnet:latency_ms<=80")
    assert soft.value(0.75, 80.0) == pytest.approx(0.75)
    assert soft.value(0.75, 160.0) == pytest.approx(0.75 * 2 ** -0.07)  # 0.7145: 2x slower costs ~5%
    assert soft.value(0.75, 40.0) == pytest.approx(0.75 * 0.5 ** -0.07)  # faster than T is rewarded
    hard = MnasNetReward.parse("mnasnet-hard:latency_ms<=80")
    assert hard.value(0.75, 40.0) == pytest.approx(0.75) and hard.value(0.75, 160.0) == pytest.approx(0.375)
    assert MnasNetReward.parse("mnasnet:latency_ms<=80:-0.15").value(1.0, 160.0) == pytest.approx(2 ** -0.15)
    assert soft.value(math.nan, 10.0) == -math.inf
    assert str(soft) == "mnasnet:latency_ms<=80" and str(hard) == "mnasnet-hard:latency_ms<=80"


@pytest.mark.parametrize("text", ["mnasnet", "mnas:latency_ms<=5", "mnasnet:latency_ms>=5", "mnasnet:latency_ms<=0",
                                  "mnasnet:latency_ms<=x", "mnasnet-hard:latency_ms<=5:-0.1", "mnasnet:lat<=5:w"])
def test_malformed_rewards(text: str) -> None:
    with pytest.raises(UserError):
        MnasNetReward.parse(text)


def test_constraints() -> None:
    params = Constraint.parse("params<=2e6")
    assert (params.metric, params.operator, params.bound) == ("params", "<=", 2e6)
    assert params.violation(result(params=1e6)) == 0.0
    assert params.violation(result(params=3e6)) == pytest.approx(0.5)
    assert params.violation(result()) == math.inf
    assert Constraint.parse("valid_acc>=90").violation(result(valid_acc=81)) == pytest.approx(0.1)
    for bad in ("params", "params<2e6", "<=3", "params<=abc", "params<=inf"):
        with pytest.raises(UserError):
            Constraint.parse(bad)


def test_goal_scores_losses_and_feasibility() -> None:
    goal = Goal((Objective("valid_acc", "max"), Objective("flops", "min")), (Constraint.parse("params<=10"),))
    assert goal.multi and goal.metrics() == ("valid_acc", "flops", "params")
    good = result(valid_acc=90.0, flops=5.0, params=3.0)
    assert goal.losses(good) == [-90.0, 5.0] and goal.feasible(good) and goal.score(good) == 90.0
    heavy = result(valid_acc=95.0, flops=5.0, params=30.0)
    assert not goal.feasible(heavy) and goal.score(heavy) == -math.inf
    failed = Result(Arch({"a": 1}), {}, status="failed")
    assert goal.losses(failed) == [math.inf, math.inf] and goal.violation(failed) == math.inf
    reward = Goal((Objective("valid_acc"),), (), MnasNetReward.parse("mnasnet:flops<=10"))
    assert not reward.multi and reward.score(good) == pytest.approx(90.0 * 0.5 ** -0.07)
    with pytest.raises(UserError):
        Goal((Objective("flops", "min"),), (), MnasNetReward.parse("mnasnet:flops<=10"))


def test_single_objective_strategies_refuse_several_objectives() -> None:
    goal = Goal((Objective("valid_acc", "max"), Objective("flops", "min")))
    space = SPACES.create("nb201")
    with pytest.raises(UserError, match="optimises one objective"):
        STRATEGIES.create("regularized-evolution").bind(space, goal, np.random.default_rng(0))
    for name in ("nsga2", "mo-regularized-evolution", "random"):
        STRATEGIES.create(name).bind(space, goal, np.random.default_rng(0))
    scalarised = Goal(goal.objectives, (), MnasNetReward.parse("mnasnet:flops<=100"))
    STRATEGIES.create("regularized-evolution").bind(space, scalarised, np.random.default_rng(0))


def test_constraint_lists_refuse_empty_parts() -> None:
    from archsearch.core.objectives import parse_constraints

    assert parse_constraints(None) == ()
    assert parse_constraints("params<=2e6, valid_acc>=90") == (Constraint("params", "<=", 2e6),
                                                               Constraint("valid_acc", ">=", 90.0))
    for text in (",", "", "params<=2e6,", ",params<=2e6", "params<=2e6,,valid_acc>=90"):
        with pytest.raises(UserError, match="has an empty part"):
            parse_constraints(text)
    assert parse_constraints("params<=2e6,", strict=False) == (Constraint("params", "<=", 2e6),)
