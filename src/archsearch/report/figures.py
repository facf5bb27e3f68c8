"""Figures of one stored search, drawn from the Store's records only: the anytime curve (best-so-far vs
trials and vs cost), the distribution of evaluated architectures (objective histogram, choice frequencies
overall and among the best decile), learning curves, and the epochs of a one-shot or meta-architecture search.

Every function returns a bare matplotlib ``Figure`` on the Agg canvas (pyplot's global state is never
touched); :func:`svg_markup` turns one into SVG markup that can be inlined in an HTML page with no external
reference. The anytime curve is the per-run version of NAS-Bench-201's Fig. 7 (Dong & Yang, ICLR 2020); the
collapse diagnostics of one-shot epochs (share of parameter-free ops, dominant eigenvalue of the architecture
Hessian) follow Zela et al., ICLR 2020 ("Understanding and Robustifying DARTS") and Chu et al., ECCV 2020
("Fair DARTS").
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from archsearch.core.objectives import Goal, Objective
from archsearch.store.base import EpochRecord, TrialRecord, stored_result

MAX_CHOICES = 12  # categorical dims with more options are left out of the frequency map
TOP_FRACTION = 0.1  # "best decile" in the choice-frequency map
MIN_DECILE_TRIALS = 3  # a best decile of fewer trials (under 21 ok trials) gets no frequency map
MAX_CURVES = 10  # learning curves drawn in colour (the rest grey)
MARKER_POINTS = 10  # learning curves of at most this many epochs get a marker on each point (1 epoch: a dot)
READABLE_FONT = 9  # points (12 px on the page): the smallest text of a figure meant to be read
UNIFORM_TOLERANCE = 0.002  # nats: a mean logit entropy this close to ln(n) is the uniform maximum
ARCH_BREAKS = re.compile(r"(?<=[|+,; ])")  # an arch string may be broken after these characters
ONESHOT_PANELS = (("accuracy (%)", ("train_acc", "arch_acc", "derived_valid_acc", "best_shared_acc")),
                  ("loss", ("train_loss", "arch_loss", "valid_loss")),
                  ("collapse signs", ("entropy", "param_free_share", "temperature")),
                  ("Hessian eigenvalue", ("hessian_eigenvalue",)))


def new_figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def svg_markup(figure: Any, title: str = "") -> str:
    """The figure as inline SVG: no XML prologue, DOCTYPE, metadata or namespace URLs (HTML5 needs none),
    so the page references nothing outside itself."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    text = re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", text)
    text = re.sub(r"<svg ", '<svg role="img" class="figure" ', text, count=1)
    if title:
        text = text.replace(">", f"><title>{_escape(title)}</title>", 1)
    return text


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def arch_pieces(text: str) -> list[str]:
    """``text`` cut after each character of ARCH_BREAKS: the places where an arch string may wrap."""
    return [piece for piece in ARCH_BREAKS.split(text) if piece]


def wrap_arch(text: str, width: int) -> str:
    """``text`` on lines of at most ``width`` characters, broken only after ARCH_BREAKS' characters (a longer
    piece gets a line of its own)."""
    lines = [""]
    for piece in arch_pieces(text):
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines.append("")
        lines[-1] += piece
    return "\n".join(lines)


# -- the anytime curve ---------------------------------------------------------------------------------
def best_so_far(trials: Sequence[TrialRecord], goal: Goal, report: Objective) -> dict[str, np.ndarray]:
    """Per trial (in order): cumulative cost, the best score so far, the reported metric of the best-so-far
    arch, and the trial's own score (nan when failed)."""

    cost, best, reported, own = [], [], [], []
    spent, best_score, best_report = 0.0, -math.inf, math.nan
    for trial in trials:
        spent += trial.cost
        score = goal.score(stored_result(trial))
        if score > best_score:
            best_score, best_report = score, trial.metrics.get(report.metric, math.nan)
        cost.append(spent)
        best.append(best_score if math.isfinite(best_score) else math.nan)
        reported.append(best_report)
        own.append(score if math.isfinite(score) else math.nan)
    sign = 1.0 if goal.reward is not None or goal.objectives[0].direction == "max" else -1.0
    return {"cost": np.asarray(cost), "best": sign * np.asarray(best), "reported": np.asarray(reported),
            "own": sign * np.asarray(own)}


def anytime_figure(trials: Sequence[TrialRecord], goal: Goal, report: Objective) -> Any:
    """Best-so-far objective (and the reported metric of that arch) vs trials and vs cost; each trial a dot."""
    series = best_so_far(trials, goal, report)
    label = str(goal.reward) if goal.reward is not None else goal.objectives[0].metric
    figure = new_figure(11, 4)
    for panel, (x, xlabel) in enumerate(((np.arange(1, len(trials) + 1), "trials"),
                                         (series["cost"], "cost (simulated or real seconds)")), start=1):
        axes = figure.add_subplot(1, 2, panel)
        axes.plot(x, series["own"], ".", color="0.65", markersize=4, label=f"each trial's {label}")
        axes.plot(x, series["best"], drawstyle="steps-post", color="C0", linewidth=2, label=f"best-so-far {label}")
        if report.metric != label and np.isfinite(series["reported"]).any():
            axes.plot(x, series["reported"], drawstyle="steps-post", color="C3", linestyle="--",
                      label=f"{report.metric} of the best-so-far arch")
        axes.set_xlabel(xlabel)
        axes.grid(alpha=0.3)
        if panel == 1:
            axes.legend(loc="lower right", fontsize="small")
    return figure


# -- the distribution of evaluated architectures -------------------------------------------------------
def distribution_figure(trials: Sequence[TrialRecord], goal: Goal, dims: dict[str, Any]) -> Any | None:
    """A histogram of the first objective over the ok trials, and per categorical dim the share of each
    choice among all evaluated archs and among the best decile, when that decile holds at least
    MIN_DECILE_TRIALS trials (None without an ok trial)."""
    metric = goal.objectives[0].metric
    ok = ok_trials(trials, metric)
    if not ok:
        return None
    shown = {name: dim for name, dim in dims.items() if hasattr(dim, "options") and 1 < len(dim.options) <= MAX_CHOICES}
    top = sorted(ok, key=lambda t: _loss(goal, t))[:best_decile(len(ok))] if shown else []
    panels = 1 + bool(shown) + (len(top) >= MIN_DECILE_TRIALS)
    figure = new_figure(11, 4 if not shown else 4 + 0.12 * len(shown))
    grid = figure.add_gridspec(1, panels)
    axes = figure.add_subplot(grid[0, 0])
    values = np.asarray([t.metrics[metric] for t in ok], dtype=float)
    axes.hist(values, bins=min(40, max(5, len(values) // 3)), color="C0", alpha=0.8)
    axes.set_xlabel(metric)
    axes.set_ylabel("evaluated archs")
    axes.set_title(f"{len(ok)} ok trials, {len(trials) - len(ok)} failed or without {metric}", fontsize="small")
    if shown:
        _choice_map(figure.add_subplot(grid[0, 1]), ok, shown, "share of each choice: all ok trials")
    if panels == 3:
        _choice_map(figure.add_subplot(grid[0, 2]), top, shown,
                    f"best decile: the top {len(top)} of {len(ok)} ok trials by {metric}")
    return figure


def ok_trials(trials: Sequence[TrialRecord], metric: str) -> list[TrialRecord]:
    """The ok trials with a finite ``metric`` (those the distribution figure counts)."""
    return [t for t in trials if t.status == "ok" and math.isfinite(t.metrics.get(metric, math.nan))]


def best_decile(count: int) -> int:
    """How many of ``count`` ok trials make the best decile (a map of it is drawn from MIN_DECILE_TRIALS)."""
    return int(math.ceil(TOP_FRACTION * count))


def _loss(goal: Goal, trial: TrialRecord) -> float:
    objective = goal.objectives[0]
    value = trial.metrics[objective.metric]
    return -value if objective.direction == "max" else value


def _choice_map(axes: Any, trials: Sequence[TrialRecord], dims: dict[str, Any], title: str) -> None:
    options = list(dict.fromkeys(str(o) for dim in dims.values() for o in dim.options))
    if len(options) > 2 * MAX_CHOICES:  # dims with unrelated options: index the choices instead
        options = [f"choice {k}" for k in range(max(len(d.options) for d in dims.values()))]
        key = lambda dim, value: f"choice {list(dim.options).index(value)}"  # noqa: E731
    else:
        key = lambda dim, value: str(value)  # noqa: E731
    matrix = np.zeros((len(dims), len(options)))
    for row, (name, dim) in enumerate(dims.items()):
        for trial in trials:
            if name in trial.arch and trial.arch[name] in dim.options:
                matrix[row, options.index(key(dim, trial.arch[name]))] += 1
    matrix /= max(1, len(trials))
    image = axes.imshow(matrix, aspect="auto", cmap="viridis", vmin=0, vmax=1)
    axes.set_yticks(range(len(dims)), labels=list(dims), fontsize=READABLE_FONT)
    axes.set_xticks(range(len(options)), labels=options, rotation=60, ha="right", fontsize=READABLE_FONT)
    axes.set_title(title, fontsize="small")
    axes.figure.colorbar(image, ax=axes, shrink=0.8)


# -- learning curves -----------------------------------------------------------------------------------
def curves_figure(trials: Sequence[TrialRecord], goal: Goal) -> Any | None:
    """One panel per recorded curve (e.g. valid_acc, train_loss per epoch); the best trials in colour; curves
    of at most MARKER_POINTS epochs with a marker on each point."""
    with_curves = [t for t in trials if t.curves]
    if not with_curves:
        return None
    names = sorted({name for t in with_curves for name in t.curves})
    ranked = sorted(with_curves, key=lambda t: -_score(goal, t))
    highlighted = {t.number for t in ranked[:MAX_CURVES]}
    figure = new_figure(min(4 * len(names), 16), 3.6)
    for panel, name in enumerate(names, start=1):
        axes = figure.add_subplot(1, len(names), panel)
        for trial in with_curves:
            values = trial.curves.get(name)
            if not values:
                continue
            epochs = np.arange(1, len(values) + 1)
            marker = "o" if len(values) <= MARKER_POINTS else None  # one point drawn as a line is invisible
            if trial.number in highlighted:
                axes.plot(epochs, values, linewidth=1.4, marker=marker, markersize=4, label=f"trial {trial.number}")
            else:
                axes.plot(epochs, values, color="0.8", linewidth=0.7, marker=marker, markersize=2.5)
        axes.set_title(name, fontsize="small")
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
    figure.axes[0].legend(fontsize="x-small", loc="best")
    return figure


def _score(goal: Goal, trial: TrialRecord) -> float:

    score = goal.score(stored_result(trial))
    return score if math.isfinite(score) else -math.inf


# -- one-shot and meta-architecture search epochs ------------------------------------------------------
def epochs_figure(epochs: Sequence[EpochRecord]) -> Any | None:
    """Per one-shot epoch: accuracies, losses, the collapse signs (logit entropy, share of parameter-free
    ops, temperature) and the Hessian's dominant eigenvalue; per meta step: loss and meta-validation accuracy."""
    rows = [e for e in epochs if e.kind in ("epoch", "meta")]
    if not rows:
        return None
    x = np.asarray([e.epoch + 1 for e in rows])
    panels = [(title, [k for k in keys if any(k in e.metrics for e in rows)]) for title, keys in ONESHOT_PANELS]
    meta_keys = [k for k in ("loss", "val_acc") if any(k in e.metrics for e in rows)]
    panels = [(title, keys) for title, keys in panels if keys] + ([("meta-training", meta_keys)] if meta_keys else [])
    if not panels:
        return None
    figure = new_figure(min(4 * len(panels), 16), 3.4)
    for index, (title, keys) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), index)
        for key in keys:
            axes.plot(x, [e.metrics.get(key, math.nan) for e in rows], marker="o", markersize=3, label=key)
        axes.set_title(title, fontsize="small")
        axes.set_xlabel("step" if rows[0].kind == "meta" else "epoch")
        axes.grid(alpha=0.3)
        axes.legend(fontsize="x-small")
    return figure


def collapse_notes(epochs: Sequence[EpochRecord]) -> list[str]:
    """Plain-language collapse diagnostics of a one-shot search's epochs (empty when nothing to say). When the
    logits never left the uniform distribution, that is said instead of a collapse: the derived arch is then an
    arbitrary argmax of near-equal weights."""
    rows = [e for e in epochs if e.kind == "epoch"]
    notes = []
    still = still_logits(rows)
    entropy = [e.metrics["entropy"] for e in rows if "entropy" in e.metrics]
    if still is not None:
        notes.append(f"logits did not move: derived cell not meaningful - the mean entropy of the architecture "
                     f"logits stayed at its uniform maximum ln {still} = {math.log(still):.3f} in all {len(entropy)} "
                     "epoch(s), so the derived cell is an arbitrary argmax of near-equal weights, not a collapse "
                     "(more search epochs or a larger arch learning rate let the logits learn)")
    free = [e.metrics["param_free_share"] for e in rows if "param_free_share" in e.metrics]
    if len(free) >= 2:
        trend = "rose" if free[-1] > free[0] else "fell" if free[-1] < free[0] else "stayed"
        warn = " - skip-connection/pooling collapse (Zela et al. 2020)" if free[-1] >= 0.5 and free[-1] > free[0] else ""
        warn = " (says nothing while the logits did not move)" if still is not None else warn
        notes.append(f"share of parameter-free ops in the derived arch {trend} from {free[0]:.2f} to {free[-1]:.2f}{warn}")
    if len(entropy) >= 2 and still is None:
        change = (entropy[-1] - entropy[0]) / max(abs(entropy[0]), 1e-12)
        trend = "about unchanged" if abs(change) < 0.01 else "sharpening" if change < 0 else "flattening"
        notes.append(f"mean entropy of the architecture logits went from {entropy[0]:.3f} to {entropy[-1]:.3f} "
                     f"({trend})")
    eigen = [e.metrics["hessian_eigenvalue"] for e in rows if math.isfinite(e.metrics.get("hessian_eigenvalue", math.nan))]
    if len(eigen) >= 2 and eigen[0] > 0:
        ratio = eigen[-1] / eigen[0]
        warn = " - a sign of poor generalisation of the derived arch (RobustDARTS's early-stop rule fires at 1.3x)" \
            if ratio > 1.3 else ""
        notes.append(f"dominant Hessian eigenvalue went from {eigen[0]:.4g} to {eigen[-1]:.4g} ({ratio:.2f}x){warn}")
    return notes


def still_logits(epochs: Sequence[EpochRecord]) -> int | None:
    """``n`` when the logits' mean entropy stayed at the uniform maximum ln(n) in every one-shot epoch (within
    UNIFORM_TOLERANCE; every edge chooses among n ops, as in NB201 and DARTS): the logits did not move. Else None."""
    entropy = [e.metrics["entropy"] for e in epochs if e.kind == "epoch" and "entropy" in e.metrics]
    if not entropy or not all(math.isfinite(h) for h in entropy) or not 0 < entropy[0] < 20:
        return None
    count = round(math.exp(entropy[0]))
    if count < 2 or any(abs(h - math.log(count)) > UNIFORM_TOLERANCE for h in entropy):
        return None
    return count
