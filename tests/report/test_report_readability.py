"""What a reader of ``archsearch report`` can see (issue 21, item 8): markers on short learning curves, arch
strings that wrap or fold into a <details> element, each arch once in the rankings with its evaluation count,
readable labels and a named best decile, front plots clipped to the non-degenerate region with a stated
reference point, and one-shot diagnostics that say when the logits never moved."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from archsearch.cli.main import main
from archsearch.config import StudyConfig
from archsearch.core.arch import Arch
from archsearch.core.objectives import Goal, Objective
from archsearch.core.registry import SPACES
from archsearch.report import figures
from archsearch.report.html import arch_cell
from archsearch.report.study_report import study_report
from archsearch.store.base import EpochRecord, ExperimentRecord, TrialRecord
from archsearch.store.sqlite import SQLiteStore

NB201 = SPACES.create("nb201")
MIN_POINTS = 8  # no text meant to be read is smaller (points; the page shows figures at about 1.33 px/pt)


def nb201_arch(seed: int) -> dict:
    return dict(NB201.sample(np.random.default_rng(seed)))


def record(number: int, arch: dict, acc: float, curves: dict | None = None, **metrics: float) -> TrialRecord:
    return TrialRecord(number, arch, 12.0, "ok", {"valid_acc": acc, "test_acc": acc - 1, **metrics}, 2.0, None,
                       0.0, 1.0, curves or {})


def experiment(**config: object) -> ExperimentRecord:
    base = StudyConfig.from_mapping({"name": "x", "max_trials": 50, **config})
    base.finish_budget()
    return ExperimentRecord(1, "x", base.to_dict(), 0, "finished", 0.0, 1.0, "0.1.0")


def section(document: str, anchor: str) -> str:
    return re.search(rf'<section id="{anchor}">(.*?)</section>', document, re.DOTALL).group(1)


def visible(markup: str) -> str:
    """The text of some markup, as a reader copies it (<wbr> adds nothing)."""
    return re.sub(r"<[^>]+>", "", markup.replace("<wbr>", "")).replace("&#x27;", "'").replace("&quot;", '"')


# -- learning curves -------------------------------------------------------------------------------------
def test_learning_curves_of_few_epochs_get_markers() -> None:
    goal = Goal((Objective("valid_acc"),))
    trials = [record(k, nb201_arch(k), 50.0 + k, curves={"valid_acc": [40.0 + k]}) for k in range(12)]
    trials.append(record(12, nb201_arch(12), 40.0, curves={"valid_acc": list(np.linspace(10, 40, 30))}))
    figure = figures.curves_figure(trials, goal)
    lines = {len(line.get_xdata()): line.get_marker() for line in figure.axes[0].get_lines()}
    assert lines[1] not in (None, "None", "", " ")  # a one-epoch curve is a visible dot
    assert lines[30] in (None, "None", "")  # a long curve stays a plain line


# -- arch strings in tables --------------------------------------------------------------------------------
def test_arch_cells_wrap_short_strings_and_fold_long_ones_into_details() -> None:
    short = NB201.format(Arch(nb201_arch(0)))
    cell = arch_cell(short)
    assert "<details" not in cell and "<wbr>" in cell and visible(cell) == short
    darts = SPACES.create("darts")
    long = darts.format(darts.sample(np.random.default_rng(0)))
    cell = arch_cell(long)
    details = re.fullmatch(r'<details class="arch"><summary>(.*?)</summary>(.*)</details>', cell, re.DOTALL)
    assert details is not None
    assert len(visible(details.group(1))) < 100 and visible(details.group(2)) == long


def test_a_darts_report_folds_its_archs_into_details_rows() -> None:
    darts = SPACES.create("darts")
    trials = [TrialRecord(k, dict(darts.sample(np.random.default_rng(k))), 1.0, "ok", {"valid_acc": 50.0 + k}, 1.0)
              for k in range(4)]
    document = study_report(experiment(space="darts", estimator="train", dataset="digits"), trials, [], "runs.db")
    top = section(document, "top")
    assert top.count('<details class="arch">') == 4 and top.count("<tr") == 5
    assert darts.format(Arch(trials[3].arch)) in visible(top)


# -- each arch once, with its number of evaluations -------------------------------------------------------
def test_the_rankings_list_each_arch_once_with_its_evaluations() -> None:
    twice, other, third = nb201_arch(1), nb201_arch(2), nb201_arch(3)
    trials = [record(k, nb201_arch(100 + k), 40.0 + 0.5 * k) for k in range(66)]
    trials += [record(66, twice, 90.0), record(67, other, 85.0), record(68, third, 80.0),
               record(73, twice, 90.0)]
    document = study_report(experiment(), trials, [], "runs.db", top_k=5)
    top = section(document, "top")
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", top.split("<tbody>")[1], re.DOTALL)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL) for row in rows]
    assert [visible(c[1]) for c in cells[:3]] == ["66 (also 73)", "67", "68"]
    assert [c[2] for c in cells[:3]] == ["2", "1", "1"]  # the 'evals' column
    archs = [visible(c[-1]) for c in cells]
    assert len(archs) == 5 == len(set(archs))
    best = section(document, "best")
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", best)
    assert [c.split(",")[0] for c in captions] == ["#1: trial 66", "#2: trial 67", "#3: trial 68"]
    assert "evaluated 2 times" in captions[0] and "Trial 66 (evaluated 2 times" in best


@pytest.fixture(scope="module")
def evolution_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("readability") / "runs.db"
    assert main(["search", "--max-trials", "40", "--seed", "3", "--store", str(store), "--name", "re",
                 "--quiet"]) == 0
    return store


def test_a_regularized_evolution_report_repeats_no_arch(evolution_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "re.html"
    assert main(["report", "re", "--store", str(evolution_store), "-o", str(out), "--top", "40"]) == 0
    store = SQLiteStore(str(evolution_store), create=False, write=False)
    trials = store.trials(store.get_experiment("re").id)
    store.close()
    counts: dict[str, int] = {}
    for t in trials:
        counts[NB201.format(Arch(t.arch))] = counts.get(NB201.format(Arch(t.arch)), 0) + 1
    assert max(counts.values()) > 1  # the run did ask an arch again
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", section(out.read_text(), "top").split("<tbody>")[1], re.DOTALL)
    shown = {visible(re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)[-1]):
             int(re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)[2]) for row in rows}
    assert len(shown) == len(rows) == len(counts) and shown == counts


# -- readable figures ------------------------------------------------------------------------------------
def test_heatmap_labels_are_readable_and_the_decile_is_named_or_left_out() -> None:
    goal = Goal((Objective("valid_acc"),))
    many = [record(k, nb201_arch(k), float(k)) for k in range(40)]
    figure = figures.distribution_figure(many, goal, NB201.dims())
    maps = [axes for axes in figure.axes if axes.get_images()]
    assert len(maps) == 2 and maps[1].get_title() == "best decile: the top 4 of 40 ok trials by valid_acc"
    for axes in maps:
        sizes = [label.get_fontsize() for label in axes.get_xticklabels() + axes.get_yticklabels()]
        assert sizes and min(sizes) >= MIN_POINTS
    few = figures.distribution_figure(many[:8], goal, NB201.dims())
    assert [axes.get_title() for axes in few.axes if axes.get_images()] == ["share of each choice: all ok trials"]
    document = study_report(experiment(), many[:8], [], "runs.db")
    caption = re.search(r"<figcaption>(.*?)</figcaption>", section(document, "distribution")).group(1)
    assert "no best-decile map" in caption and "best 1 trials" not in document


@pytest.mark.parametrize("name", ["nb201", "nb101", "mobile"])
def test_arch_strings_over_diagrams_are_readable_and_whole(name: str) -> None:
    from archsearch.report.diagrams import arch_diagram

    space = SPACES.create(name)
    arch = space.sample(np.random.default_rng(0))
    title = arch_diagram(space, arch).axes[0].title
    assert title.get_fontsize() >= MIN_POINTS
    assert space.format(arch) in title.get_text().replace("\n", "")


# -- Pareto fronts ---------------------------------------------------------------------------------------
TWO = Goal((Objective("valid_acc", "max"), Objective("params", "min")))


def front_matrix() -> np.ndarray:
    rng = np.random.default_rng(0)
    bulk = np.column_stack([rng.uniform(80, 92, 40), rng.uniform(1e5, 1.5e6, 40)])
    dead = np.asarray([[10.0, 7e4], [10.0, 8e4], [10.0, 9e4]])  # chance accuracy, the fewest parameters
    return np.vstack([bulk, dead])


def test_front_plots_leave_degenerate_archs_off_the_axes_and_say_so() -> None:
    from archsearch.report.pareto import fronts_figure, pareto_front, window_note

    values = front_matrix()
    axes = fronts_figure({"x": values}, TWO).axes[0]
    low, high = axes.get_xlim()
    assert low > 70 and high < 95  # the bulk fills the axis, not 15 % of it
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    front = pareto_front(values * np.asarray([-1.0, 1.0]))
    assert labels == [f"Pareto front ({len(front)} archs)", "3 archs outside the axes (degenerate)"]
    assert window_note(values, TWO).startswith("Left off the axes as degenerate: 3 archs of 43 (valid_acc below")
    assert window_note(values[:40], TWO) == ""
    legend = fronts_figure({"a": values, "b": values[:40]}, TWO).axes[0].get_legend()
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels[0].startswith("a: Pareto front (") and labels[1].startswith("b: Pareto front (")


def multi_objective_trials() -> list[TrialRecord]:
    return [record(k, nb201_arch(k), float(acc), params=float(params))
            for k, (acc, params) in enumerate(front_matrix())]


@pytest.mark.parametrize("given, expected", [
    (None, "w.r.t. the reference point (10, 1."),
    ("0,2e6", "w.r.t. the reference point (0, 2e+06), given by --reference-point"),
])
def test_every_hypervolume_states_its_reference_point(given: str | None, expected: str) -> None:
    config = experiment(objective="valid_acc:max,params:min")
    document = study_report(config, multi_objective_trials(), [], "runs.db", reference_point=given)
    pareto = section(document, "pareto")
    values = re.findall(r"hypervolume [-+.\de]+", pareto)
    assert len(values) == 1 and len(re.findall(r"hypervolume [-+.\de]+ w\.r\.t\. the reference point \(", pareto)) == 1
    assert expected in pareto
    assert "Left off the axes as degenerate: 3 archs of 43" in pareto
    if given is None:
        assert "inflates the hypervolume" in pareto


def test_the_report_command_takes_a_reference_point(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store, out = str(tmp_path / "mo.db"), tmp_path / "mo.html"
    assert main(["search", "--strategy", "random", "--objective", "valid_acc:max", "--objective", "params:min",
                 "--max-trials", "20", "--store", store, "--name", "mo", "--quiet"]) == 0
    assert main(["report", "mo", "--store", store, "-o", str(out), "--reference-point", "0,3e6"]) == 0
    assert "reference point (0, 3e+06), given by --reference-point" in out.read_text()
    capsys.readouterr()
    assert main(["report", "mo", "--store", store, "-o", str(out), "--reference-point", "0"]) == 2
    assert "reference_point needs 2 finite numbers" in capsys.readouterr().err


def test_a_reference_point_for_one_objective_is_a_user_error(evolution_store: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "re.html"
    assert main(["report", "re", "--store", str(evolution_store), "-o", str(out), "--reference-point", "0"]) == 2
    assert "multi-objective" in capsys.readouterr().err and not out.exists()


# -- one-shot diagnostics --------------------------------------------------------------------------------
def epochs_with(entropy: list[float], free: list[float]) -> list[EpochRecord]:
    return [EpochRecord(k, 1.0, {"entropy": h, "param_free_share": f}, nb201_arch(0))
            for k, (h, f) in enumerate(zip(entropy, free))]


def test_logits_that_never_moved_are_no_collapse() -> None:
    still = epochs_with([math.log(5) - 1e-6, math.log(5) - 2e-6, math.log(5) - 1e-5], [0.2, 0.5, 0.75])
    notes = figures.collapse_notes(still)
    assert notes[0].startswith("logits did not move: derived cell not meaningful")
    assert "ln 5 = 1.609" in notes[0] and not any("collapse (Zela" in note for note in notes)
    document = study_report(experiment(strategy="darts"), [], still, "runs.db")
    assert "logits did not move: derived cell not meaningful" in document
    assert "Derived architecture after the last step (not meaningful" in document
    moving = epochs_with([1.6, 1.2, 0.8], [0.2, 0.5, 0.75])
    notes = figures.collapse_notes(moving)
    assert any("collapse (Zela" in note for note in notes) and not any("did not move" in n for n in notes)
    assert figures.still_logits(epochs_with([math.log(8)], [0.1])) == 8  # one epoch: the same verdict
