"""Text of stored experiments for people: arch strings, metrics, the best trial, the Pareto front; the goal
and objectives a stored config names. Shared by the HTML reports and the command line (``show``, ``search``)."""

from __future__ import annotations

import math
from typing import Any

from archsearch.config import StudyConfig
from archsearch.core.objectives import Goal, Objective
from archsearch.core.registry import SPACES
from archsearch.store.base import TrialRecord, stored_result


def format_arch(space_name: str, arch: dict[str, Any]) -> str:
    """The space's native string for a stored arch (the JSON key if the space is unknown, or needs options
    to be made, as a declared space, whose native string is the JSON key)."""
    from archsearch.core.arch import Arch
    from archsearch.core.errors import UserError
    from archsearch.spaces import create_space

    if space_name not in SPACES:
        return Arch(arch).key()
    try:
        space = create_space(space_name)
    except UserError:
        return Arch(arch).key()
    return space.format(Arch(arch))


def format_metrics(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) and math.isfinite(v) else f"{k}={v}"
                     for k, v in metrics.items())


def stored_goal(config: dict[str, Any]) -> Goal:
    """The goal (objectives, constraints, reward) of a stored experiment's config."""
    return StudyConfig.from_mapping({key: value for key, value in config.items()
                                     if key in ("objective", "constraint", "reward")}).goal()


def stored_objectives(config: dict[str, Any]) -> tuple[Objective, Objective]:
    """The (first) search objective and the report metric of a stored experiment's config."""
    return Objective.parse(config["objective"].split(",")[0]), Objective.parse(config["report"])


def describe_best(space_name: str, best: TrialRecord | None, objective: Objective, report: Objective,
                  goal: Goal | None = None) -> list[str]:
    if best is None:
        return ["no successful trial yet" if goal is None or not goal.constraints
                else "no successful trial satisfies the constraints yet"]
    lines = [f"best arch:   {format_arch(space_name, best.arch)}  (trial {best.number})",
             f"objective:   {objective.metric} = {best.metrics.get(objective.metric, math.nan):.4f}"]
    if goal is not None and goal.reward is not None:

        lines.append(f"reward:      {goal.reward} = {goal.score(stored_result(best)):.4f}")
    return lines + [f"reported:    {report.metric} = {best.metrics.get(report.metric, math.nan):.4f}",
                    f"all metrics: {format_metrics(best.metrics)}"]


def front_summary(trials: list[TrialRecord], goal: Goal, reference: list[float] | None) -> dict[str, Any]:
    """The Pareto front of stored trials: its trials (best first objective first), hypervolume and the
    reference point used (given, or the worst value of each objective over the feasible trials)."""
    from archsearch.report.pareto import front_hypervolume, front_indices, worst_reference

    results = [stored_result(t) for t in trials]
    chosen = "given" if reference is not None else "worst value of each objective over the feasible trials"
    reference = reference if reference is not None else worst_reference(results, goal)
    volume = front_hypervolume(results, goal, reference) if reference is not None else math.nan
    return {"trials": [trials[i] for i in front_indices(results, goal)], "hypervolume": volume,
            "reference_point": reference, "reference_choice": chosen}


def reference_text(reference: list[float] | None) -> str:
    """A hypervolume reference point as people read it: ``(0, 2.2e+08)`` (``(none)`` without one)."""
    return "(" + (", ".join(f"{v:.6g}" for v in reference) if reference is not None else "none") + ")"


def describe_front(space_name: str, summary: dict[str, Any], goal: Goal) -> list[str]:
    front = summary["trials"]
    if not front:
        return ["Pareto front: no feasible successful trial yet"]
    reference = ", ".join(f"{v:.6g}" for v in summary["reference_point"])
    names = [o.metric for o in goal.objectives]
    lines = [f"Pareto front of {', '.join(map(str, goal.objectives))}: {len(front)} archs; hypervolume "
             f"{summary['hypervolume']:.6g} (reference point {reference}: {summary['reference_choice']})",
             f"  {'#':>6}  " + " ".join(f"{name:>14}" for name in names) + "  arch"]
    for t in front:
        values = " ".join(f"{t.metrics.get(name, math.nan):>14.6g}" for name in names)
        lines.append(f"  {t.number:>6}  {values}  {format_arch(space_name, t.arch)}")
    return lines
