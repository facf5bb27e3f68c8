"""The HTML report of a multi-seed strategy comparison (``archsearch compare --report out.html``).

Sections: the protocol and the exact command; anytime curves (mean best-so-far with 95% t-bands over seeds,
against cost and against trials; NAS-Bench-201's Fig. 7, Dong & Yang, ICLR 2020); the final values per
strategy (mean +- std, median, range, a box plot of the seeds); pairwise two-sided Mann-Whitney U tests
(Mann & Whitney 1947) with Holm's correction for the number of pairs (Holm 1979) and the Vargha-Delaney A
effect size (the probability that a run of the first strategy beats one of the second); for multi-objective
comparisons, the hypervolume of each run's front and the pooled fronts. Best practice as in Lindauer & Hutter,
JMLR 2020: many seeds, the same protocol, and a test rather than a ranking of means.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from archsearch.config import StudyConfig
from archsearch.core.stats import holm
from archsearch.report.figures import new_figure
from archsearch.report.html import Section, code_block, figure_block, key_values, page, paragraph, table

SIGNIFICANCE = 0.05


def compare_report(config: StudyConfig, results: dict[str, Any], seeds: int, command: str,
                   optimum: float | None = None, wall_seconds: float = math.nan) -> str:
    """The whole HTML document of a ``compare_strategies`` result (trajectories included)."""
    sections = [_protocol(config, results, seeds, command, wall_seconds),
                _anytime(config, results, seeds, optimum), _finals(config, results, "final_test"),
                _significance(results, "final_test", config.report)]
    if config.goal().multi and all("hypervolume" in s for s in results.values()):
        sections += [_fronts(config, results),
                     _significance(results, "hypervolume", _hypervolume_label(config, results))]
    title = f"archsearch comparison: {', '.join(results)}"
    subtitle = (f"{config.benchmark or config.space} {config.dataset}, {seeds} seeds per strategy, "
                f"objective {config.objective}, reported {config.report}")
    return page(title, subtitle, sections)


def _protocol(config: StudyConfig, results: dict[str, Any], seeds: int, command: str, wall: float) -> Section:
    facts = [("strategies", ", ".join(results)), ("seeds", f"0..{seeds - 1}"), ("space", config.space),
             ("estimator", config.estimator), ("benchmark", config.benchmark or "-"), ("dataset", config.dataset),
             ("fidelity", config.fidelity), ("budget (s)", config.budget_seconds), ("max trials", config.max_trials),
             ("objective", config.objective), ("constraints", config.constraint or "-"),
             ("reward", config.reward or "-"), ("reported metric", config.report), ("wall clock (s)", wall)]
    body = key_values(facts) + paragraph("Command:") + code_block(command)
    return Section("protocol", "Protocol", body)


def _anytime(config: StudyConfig, results: dict[str, Any], seeds: int, optimum: float | None) -> Section:
    from archsearch.report.curves import anytime_figure

    objective = config.objectives()[0]
    blocks = []
    for x in ("cost", "trials"):
        figure = anytime_figure(results, x=x, optimum=optimum,
                                ylabel=f"{config.report} of the best-so-far arch (by {objective})",
                                title=f"mean and 95% band over {seeds} seeds, against {x}")
        blocks.append(figure_block(figure, f"Anytime performance against {x}: the mean over seeds of each run's "
                                           f"best-so-far {config.report}; the band is a 95% t-interval of the mean."))
    return Section("anytime", "Anytime curves", "".join(blocks))


def _finals(config: StudyConfig, results: dict[str, Any], key: str) -> Section:
    rows = []
    for name, summary in results.items():
        values = _finite(summary[key])
        rows.append([name, len(values), _mean_std(values), float(np.median(values)) if values.size else math.nan,
                     float(values.min()) if values.size else math.nan, float(values.max()) if values.size else math.nan,
                     summary.get("trials", math.nan), summary.get("wall_seconds", math.nan)])
    best = int(np.nanargmax([_safe_mean(_finite(s[key])) for s in results.values()])) if rows else None
    figure = new_figure(max(5.0, 1.4 * len(results) + 2), 3.8)
    axes = figure.add_subplot()
    data = [_finite(s[key]) for s in results.values()]
    axes.boxplot([d if d.size else [math.nan] for d in data], tick_labels=list(results), showmeans=True)
    for k, values in enumerate(data, start=1):
        jitter = np.random.default_rng(k).uniform(-0.12, 0.12, size=values.size)
        axes.plot(k + jitter, values, ".", color="0.4", alpha=0.5, markersize=4)
    axes.set_ylabel(config.report)
    axes.grid(alpha=0.3, axis="y")
    body = table(["strategy", "runs", "mean +- std", "median", "min", "max", "trials/run", "wall s"], rows,
                 highlight=best)
    caption = f"{config.report} of each run's best arch (by {config.objective}): one dot per seed."
    return Section("finals", "Final values", body + figure_block(figure, caption))


def _finite(values: Sequence[float | None]) -> np.ndarray:
    array = np.asarray([math.nan if v is None else v for v in values], dtype=float)
    return array[np.isfinite(array)]


def _safe_mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else -math.inf


def _mean_std(values: np.ndarray) -> str:
    if not values.size:
        return "-"
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return f"{values.mean():.3f} +- {std:.3f}"


def pairwise_tests(results: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """Two-sided Mann-Whitney U for every pair of strategies, Holm-adjusted p, Vargha-Delaney A."""
    from scipy.stats import mannwhitneyu

    tests = []
    for a, b in itertools.combinations(results, 2):
        x, y = _finite(results[a][key]), _finite(results[b][key])
        if x.size < 2 or y.size < 2:
            tests.append({"a": a, "b": b, "u": math.nan, "p": math.nan, "effect": math.nan})
            continue
        if np.ptp(np.concatenate([x, y])) == 0:  # all equal: no evidence either way
            tests.append({"a": a, "b": b, "u": x.size * y.size / 2, "p": 1.0, "effect": 0.5})
            continue
        u, p = mannwhitneyu(x, y, alternative="two-sided")
        tests.append({"a": a, "b": b, "u": float(u), "p": float(p), "effect": float(u) / (x.size * y.size)})
    for test, adjusted in zip(tests, holm([t["p"] for t in tests])):
        test["p_holm"] = adjusted
    return tests


def _significance(results: dict[str, Any], key: str, label: str) -> Section:
    anchor = "significance" if key == "final_test" else f"significance-{key}"
    if len(results) < 2:
        return Section(anchor, f"Significance ({label})", paragraph("One strategy: nothing to test."))
    rows = []
    for t in pairwise_tests(results, key):
        verdict = "-" if not math.isfinite(t["p_holm"]) else (
            (f"{t['a']} better" if t["effect"] > 0.5 else f"{t['b']} better") if t["p_holm"] < SIGNIFICANCE
            else "no significant difference")
        rows.append([t["a"], t["b"], t["u"], t["p"], t["p_holm"], t["effect"], verdict])
    body = table(["A", "B", "U", "p (two-sided)", "p (Holm)", "A-effect P(A > B)", f"at alpha = {SIGNIFICANCE}"], rows)
    note = paragraph(f"Mann-Whitney U on the per-seed {label}; Holm's correction over {len(rows)} pair(s). "
                     "A-effect 0.5 means no difference; above 0.5, runs of A tend to be better.", "note")
    return Section(anchor, f"Significance ({label})", body + note)


def _fronts(config: StudyConfig, results: dict[str, Any]) -> Section:
    from archsearch.report.pareto import fronts_figure

    goal = config.goal()
    pooled = {name: np.asarray([p for front in s.get("fronts", []) for p in front], dtype=float).reshape(-1, len(goal.objectives))
              for name, s in results.items()}
    rows = [[name, _mean_std(_finite(s["hypervolume"])), float(np.mean([len(f) for f in s["fronts"]]))]
            for name, s in results.items()]
    body = [figure_block(fronts_figure(pooled, goal), "The fronts of all seeds pooled, per strategy."),
            table(["strategy", f"{_hypervolume_label(config, results)}: mean +- std", "mean front size"], rows)]
    return Section("fronts", "Pareto fronts and hypervolume", "".join(body))


def _hypervolume_label(config: StudyConfig, results: dict[str, Any]) -> str:
    """"hypervolume w.r.t. (0, 2.2e+08), given" (or "..., the worst values over all runs")."""
    from archsearch.report.formatting import reference_text

    reference = next(iter(results.values())).get("reference_point")
    source = "given" if config.reference_point is not None else "the worst values over all runs"
    return f"hypervolume w.r.t. {reference_text(reference)}, {source}"
