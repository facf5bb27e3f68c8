"""The HTML report of one stored search (``archsearch report NAME``), read from the Store only.

Sections: overview and the command that reproduces it; the best architecture with diagrams of the top
three; the anytime curve; the distribution of evaluated architectures; the top-k table; the Pareto front
(multi-objective searches); learning curves (when the estimator recorded them); the one-shot or
meta-architecture search's epochs with collapse diagnostics; failed trials grouped by reason. What a report
shows is what the NAS best-practices checklist asks a paper to show (Lindauer & Hutter, JMLR 2020: the
configuration and seed, the anytime performance, the best architecture found).
"""

from __future__ import annotations

import math
import platform
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.objectives import Goal, Objective
from archsearch.report import figures
from archsearch.report.formatting import format_arch, stored_goal, stored_objectives
from archsearch.report.html import (Section, arch_cell, arch_markup, code_block, esc, figure_block, key_values, page,
                                    paragraph, table)
from archsearch.store.base import EpochRecord, ExperimentRecord, TrialRecord, stored_result
from archsearch.study.records import study_cost

TOP_K = 10  # rows of the top-k table
DIAGRAMS = 3  # best archs drawn
MAX_METRIC_COLUMNS = 6  # extra metric columns in the top-k table
MIN_TRIALS_FOR_PLOTS = 3  # fewer trials (a one-shot search's derived arch) get no anytime curve or histogram
LISTED_REPEATS = 6  # other trials of one arch named in its row
WORST_REFERENCE = ("the worst value of each objective over the feasible trials. Dead or degenerate archs set it, "
                   "which inflates the hypervolume: compare it only within this report, or fix a reference point "
                   "with --reference-point")


@dataclass(frozen=True)
class Distinct:
    """One architecture of a ranking (by the space's canonical key): its best trial and every trial of it."""

    trial: TrialRecord
    evaluations: tuple[int, ...]  # trial numbers, in order


def study_report(experiment: ExperimentRecord, trials: Sequence[TrialRecord], epochs: Sequence[EpochRecord],
                 store_path: str, top_k: int = TOP_K, reproduce: str | None = None,
                 reference_point: str | None = None) -> str:
    """The whole HTML document of ``experiment``; ``reproduce``: the command that re-creates it (the CLI's
    ``reproduce_command``), shown beside its config; ``reference_point``: the hypervolume reference of a
    multi-objective experiment, one raw value per objective (default: its config's, else the worst values)."""
    config = experiment.config
    goal = stored_goal(config)
    reference = report_reference(config, reference_point)
    space = _space(config)
    ranked = distinct(_ranked(trials, goal), trials, space)
    sections = [_overview(experiment, trials, epochs, goal), _reproduce(config, reproduce),
                _best(config, space, ranked, goal), _epochs(config, epochs)]  # a one-shot search is its epochs
    if len(trials) >= MIN_TRIALS_FOR_PLOTS:
        sections += [_anytime(trials, goal, config), _distribution(trials, goal, space)]
    sections.append(_top_table(config, ranked[:top_k], goal))
    sections += [_pareto(config, trials, goal, space, reference), _learning_curves(trials, goal), _failures(trials)]
    sections = [s for s in sections if s is not None]
    subtitle = (f"{config['strategy']} on {config['space']} - {config.get('benchmark') or config['estimator']}, "
                f"{config['dataset']}, seed {experiment.seed} - {len(trials)} trials, {experiment.status}")
    return page(f"archsearch report: {experiment.name}", subtitle, sections)


def _space(config: dict[str, Any]) -> Any | None:
    from archsearch.spaces import space_from_config

    try:
        return space_from_config(config)
    except Exception:  # a space this installation lacks: the report still renders, without diagrams
        return None


def _ranked(trials: Sequence[TrialRecord], goal: Goal) -> list[TrialRecord]:
    """Ok, feasible trials, best first (ties: the earlier trial first)."""

    scored = [(goal.score(stored_result(t)), t) for t in trials]
    return [t for s, t in sorted((p for p in scored if math.isfinite(p[0])), key=lambda p: (-p[0], p[1].number))]


def canonical_key(space: Any, arch: dict[str, Any]) -> str:
    """The identity of the network ``arch`` stands for: the space's canonical key (its JSON key when the
    space is unknown here or cannot read the arch)."""
    if space is not None:
        try:
            return space.canonical_key(Arch(arch))
        except Exception:  # noqa: BLE001 - an arch the space rejects still gets a row
            pass
    return Arch(arch).key()


def distinct(ranked: Sequence[TrialRecord], trials: Sequence[TrialRecord], space: Any) -> list[Distinct]:
    """``ranked`` with each architecture once, at its first (best) trial, with every trial of ``trials``
    that evaluated it (a strategy may ask an arch again, as regularized evolution does)."""
    keys = {trial.number: canonical_key(space, trial.arch) for trial in trials}
    evaluations: dict[str, list[int]] = {}
    for trial in trials:
        evaluations.setdefault(keys[trial.number], []).append(trial.number)
    seen: set[str] = set()
    rows = []
    for trial in ranked:
        key = keys.get(trial.number) or canonical_key(space, trial.arch)
        if key not in seen:
            seen.add(key)
            rows.append(Distinct(trial, tuple(evaluations.get(key, [trial.number]))))
    return rows


def _numbers(numbers: Sequence[int]) -> str:
    return ", ".join(map(str, numbers[:LISTED_REPEATS])) + (", ..." if len(numbers) > LISTED_REPEATS else "")


def _trial_cell(row: Distinct) -> str:
    """The trial's number, with the other trials of the same arch: ``66 (also 73)``."""
    others = [n for n in row.evaluations if n != row.trial.number]
    return f"{row.trial.number} (also {_numbers(others)})" if others else str(row.trial.number)


def _evaluated(row: Distinct) -> str:
    count = len(row.evaluations)
    return "" if count == 1 else f" (evaluated {count} times: trials {_numbers(row.evaluations)})"


def report_reference(config: dict[str, Any], text: str | None) -> tuple[list[float] | None, str]:
    """The hypervolume reference point (raw values; None: the worst values) and where it comes from: ``text``
    (``--reference-point``), else the experiment's ``reference_point``. UserError when malformed or when the
    experiment has one objective."""
    from archsearch.config import StudyConfig

    if text is not None and not stored_goal(config).multi:
        raise UserError(f"--reference-point is for multi-objective experiments; {config['name']!r} has the one "
                        f"objective {config['objective']}")
    chosen = text if text is not None else config.get("reference_point")
    if chosen is None or not stored_goal(config).multi:
        return None, WORST_REFERENCE
    reference = StudyConfig.from_mapping({"objective": config["objective"], "reference_point": chosen}).reference()
    return reference, "given by --reference-point" if text is not None else "the experiment's reference_point"


# -- sections ------------------------------------------------------------------------------------------
def _overview(experiment: ExperimentRecord, trials: Sequence[TrialRecord], epochs: Sequence[EpochRecord],
              goal: Goal) -> Section:
    config = experiment.config
    failed = sum(t.status == "failed" for t in trials)
    started = [t.started for t in trials if t.started]
    finished = [t.finished for t in trials if t.finished]
    wall = (max(finished) - min(started)) if started and finished else math.nan
    facts = [("experiment", experiment.name), ("status", experiment.status),
             ("space", config["space"]), ("strategy", config["strategy"]),
             ("strategy options", _options(config.get("strategy_options"))),
             ("estimator", config["estimator"]), ("estimator options", _options(config.get("estimator_options"))),
             ("benchmark", config.get("benchmark") or "-"), ("dataset", config["dataset"]),
             ("fidelity", config.get("fidelity")), ("objective(s)", ", ".join(map(str, goal.objectives))),
             ("constraints", ", ".join(map(str, goal.constraints)) or "-"),
             ("reward", str(goal.reward) if goal.reward else "-"), ("reported metric", config["report"]),
             ("budget", _budget(config)), ("seed", experiment.seed),
             ("executor", f"{config.get('executor', 'serial')} x {config.get('workers', 1)}"),
             ("trials", f"{len(trials)} ({failed} failed)"), ("cost spent (s)", study_cost(trials, epochs)),
             ("wall clock of the trials (s)", wall),
             ("stored by", f"archsearch {experiment.version or '?'}"),
             ("report made with", _versions())]
    return Section("overview", "Overview", key_values(facts))


def _options(options: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (options or {}).items()) or "-"


def _budget(config: dict[str, Any]) -> str:
    parts = []
    if config.get("budget_seconds") is not None:
        parts.append(f"{config['budget_seconds']:,.0f} s")
    if config.get("max_trials") is not None:
        parts.append(f"{config['max_trials']} trials")
    return " or ".join(parts) or "-"


def _versions() -> str:
    from archsearch import __version__

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:  # pragma: no cover - torch is a dependency
        torch_version = "?"
    return f"archsearch {__version__}, Python {platform.python_version()}, torch {torch_version}"


def _reproduce(config: dict[str, Any], command: str | None) -> Section:
    body = [paragraph("This command re-creates the configuration (same seed: the same history on a tabular "
                      "benchmark; training runs may differ in the last digits across machines):"),
            code_block(command),
            paragraph("or, as a config file for 'archsearch search --config FILE':")] if command else [
            paragraph("As a config file for 'archsearch search --config FILE':")]
    body.append(code_block(yaml.safe_dump(config, sort_keys=False)))
    return Section("reproduce", "Reproduce", "".join(body))


def _best(config: dict[str, Any], space: Any, ranked: Sequence[Distinct], goal: Goal) -> Section:
    if not ranked:
        return Section("best", "Best architecture", paragraph("No successful (feasible) trial yet.", "warn"))
    best = ranked[0].trial
    body = [paragraph(f"Trial {best.number}{_evaluated(ranked[0])}: ",
                      markup=arch_markup(format_arch(config["space"], best.arch))),
            table(["metric", "value"], sorted(best.metrics.items()))]
    if space is not None:
        from archsearch.report.diagrams import arch_diagram

        for rank, row in enumerate(ranked[:DIAGRAMS], start=1):
            trial = row.trial
            try:
                figure = arch_diagram(space, Arch(trial.arch))
            except Exception as exc:  # noqa: BLE001 - a diagram must not take the report down
                body.append(paragraph(f"(no diagram of trial {trial.number}: {exc})", "note"))
                continue
            score = goal.objectives[0].metric
            body.append(figure_block(figure, f"#{rank}: trial {trial.number}, {score} = "
                                             f"{trial.metrics.get(score, math.nan):.4g}{_evaluated(row)}"))
    return Section("best", "Best architecture", "".join(body))


def _anytime(trials: Sequence[TrialRecord], goal: Goal, config: dict[str, Any]) -> Section | None:
    if not trials:
        return None
    _, report = stored_objectives(config)
    caption = ("Best-so-far objective (blue) and the reported metric of the best-so-far arch (red, dashed) "
               "against trials and against cost; grey dots are single trials.")
    return Section("anytime", "Anytime performance", figure_block(figures.anytime_figure(trials, goal, report), caption))


def _distribution(trials: Sequence[TrialRecord], goal: Goal, space: Any) -> Section | None:
    dims = space.dims() if space is not None else {}
    figure = figures.distribution_figure(trials, goal, dims)
    if figure is None:
        return None
    metric = goal.objectives[0].metric
    ok = len(figures.ok_trials(trials, metric))
    decile = figures.best_decile(ok)
    caption = f"Left: {metric} over the evaluated architectures."
    if len(figure.axes) > 2:  # the histogram, a frequency map and its colour bar at least
        caption += " Then how often each choice of each categorical dim was evaluated over all ok trials"
        caption += (f" and in the best decile (the top {decile} of {ok} ok trials by {metric})."
                    if decile >= figures.MIN_DECILE_TRIALS else
                    f"; no best-decile map: the best 10% of {ok} ok trials are fewer than {figures.MIN_DECILE_TRIALS}.")
    return Section("distribution", "Evaluated architectures", figure_block(figure, caption))


def _top_table(config: dict[str, Any], top: Sequence[Distinct], goal: Goal) -> Section:
    _, report = stored_objectives(config)
    leading = list(dict.fromkeys([o.metric for o in goal.objectives] + [report.metric]))
    others = sorted({k for row in top for k in row.trial.metrics} - set(leading))[:MAX_METRIC_COLUMNS]
    columns = leading + others
    rows = [[rank, _trial_cell(row), len(row.evaluations), *[row.trial.metrics.get(c, math.nan) for c in columns],
             row.trial.cost, arch_cell(format_arch(config["space"], row.trial.arch))]
            for rank, row in enumerate(top, start=1)]
    if not rows:
        return Section("top", "Top 0", paragraph("No successful trial yet.", "warn"))
    body = table(["rank", "trial", "evals", *columns, "cost (s)", "arch"], rows, highlight=0,
                 raw_columns=(len(columns) + 4,))
    note = paragraph("Each architecture once (the space's canonical key), with its best trial; 'evals' counts the "
                     "trials that evaluated it.", "note")
    return Section("top", f"Top {len(top)}", body + note)


def _pareto(config: dict[str, Any], trials: Sequence[TrialRecord], goal: Goal, space: Any,
            reference: tuple[list[float] | None, str]) -> Section | None:
    if not goal.multi:
        return None
    from archsearch.report.formatting import front_summary, reference_text
    from archsearch.report.pareto import fronts_figure, value_matrix, window_note

    summary = front_summary(list(trials), goal, reference[0])
    front = distinct(summary["trials"], trials, space)
    matrix = value_matrix([stored_result(t) for t in trials], goal)
    names = [o.metric for o in goal.objectives]
    rows = [[_trial_cell(row), len(row.evaluations), *[row.trial.metrics.get(n, math.nan) for n in names],
             arch_cell(format_arch(config["space"], row.trial.arch))] for row in front]
    caption = " ".join(filter(None, ["Every pair of objectives; the non-dominated feasible archs joined and drawn "
                                     "large.", window_note(matrix, goal)]))
    body = [figure_block(fronts_figure({config["name"]: matrix}, goal), caption),
            paragraph(f"{len(rows)} archs on the front; hypervolume {summary['hypervolume']:.6g} w.r.t. the "
                      f"reference point {reference_text(summary['reference_point'])}, {reference[1]}."),
            table(["trial", "evals", *names, "arch"], rows, raw_columns=(len(names) + 2,))]
    return Section("pareto", "Pareto front", "".join(body))


def _learning_curves(trials: Sequence[TrialRecord], goal: Goal) -> Section | None:
    figure = figures.curves_figure(trials, goal)
    if figure is None:
        return None
    caption = f"Per-epoch curves the estimator recorded; the best {figures.MAX_CURVES} trials in colour."
    return Section("curves", "Learning curves", figure_block(figure, caption))


def _epochs(config: dict[str, Any], epochs: Sequence[EpochRecord]) -> Section | None:
    if not epochs:
        return None
    body = []
    for record in (e for e in epochs if e.kind == "prerank"):
        body.append(paragraph(f"Zero-cost pre-ranking: {record.metrics.get('pool', 0):.0f} random archs scored in "
                              f"{record.seconds:.1f} s; the best {record.metrics.get('top', 0):.0f} were asked first."))
    figure = figures.epochs_figure(epochs)
    if figure is not None:
        body.append(figure_block(figure, "Per epoch (one-shot) or outer step (meta-search): accuracies, losses, "
                                         "collapse signs and the Hessian's dominant eigenvalue where recorded."))
    body += [paragraph(note) for note in figures.collapse_notes(epochs)]
    last = next((e for e in reversed(epochs) if e.kind in ("epoch", "meta") and e.arch), None)
    if last is not None:
        caveat = " (not meaningful: the logits did not move)" if figures.still_logits(epochs) is not None else ""
        body.append(paragraph(f"Derived architecture after the last step{caveat}: ",
                              markup=arch_markup(format_arch(config['space'], last.arch))))
    for record in (e for e in epochs if e.kind == "ranking"):
        rows = [[k + 1, accuracy, arch_cell(format_arch(config["space"], arch))] for k, (arch, accuracy) in
                enumerate(record.ranking[:TOP_K])]
        body.append("<h3>Ranking by shared weights</h3>" + table(["rank", "shared-weight acc", "arch"], rows,
                                                                  raw_columns=(2,)))
        agreement = ranking_agreement(config, record)
        if agreement is not None:
            body.append(paragraph(agreement))
    return Section("oneshot", "One-shot search", "".join(body)) if body else None


def _failures(trials: Sequence[TrialRecord]) -> Section | None:
    failed = [t for t in trials if t.status != "ok"]
    if not failed:
        return None
    reasons = Counter((t.error or t.status).splitlines()[0][:200] for t in failed)
    rows = [[count, reason, ", ".join(str(t.number) for t in failed if (t.error or t.status).startswith(reason[:50]))[:80]]
            for reason, count in reasons.most_common()]
    return Section("failures", f"Failed trials ({len(failed)})", table(["count", "reason", "trials"], rows))


def write_report(path: str, document: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(document)


__all__ = ["study_report", "write_report", "esc"]


MIN_RANKED = 5  # archs found in the table below which no rank correlation is stated


def ranking_agreement(config: dict[str, Any], record: EpochRecord) -> str | None:
    """Kendall tau and Spearman rho of a shared-weight ranking against the study's benchmark table (the table's
    objective metric at the study's fidelity), over the ranked archs the table holds; None without a table or
    with fewer than ``MIN_RANKED`` of them."""
    if not config.get("benchmark"):
        return None
    from scipy.stats import kendalltau, spearmanr

    from archsearch.benchmarks import load_benchmark

    table, metric = load_benchmark(config["benchmark"]), Objective.parse(config["objective"].split(",")[0]).metric
    fidelity = config.get("fidelity") or max(table.fidelities(config["dataset"]))
    pairs = []
    for arch, shared in record.ranking:
        try:
            pairs.append((shared, table.query(arch, config["dataset"], fidelity)[metric]))
        except (UserError, KeyError):  # an arch the table lacks (ArchError is a UserError), a metric it lacks
            continue
    if len(pairs) < MIN_RANKED:
        return None
    shared, truth = zip(*pairs)
    return (f"Ranking against the table {config['benchmark']}: Kendall tau {kendalltau(shared, truth)[0]:.3f}, "
            f"Spearman rho {spearmanr(shared, truth)[0]:.3f} over the {len(pairs)} ranked archs it holds "
            f"({metric} at {fidelity:g} epochs, trained stand-alone).")
