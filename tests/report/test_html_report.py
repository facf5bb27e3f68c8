"""The HTML reports: structure of a search's report (sections, inline figures, nothing external), the
reproduce command, multi-objective / training / one-shot / failure sections, diagrams of every space,
the comparison report and its statistics, and the user errors of ``archsearch report``."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from archsearch.cli.main import main
from archsearch.cli.reproduce import parsed_config, reproduce_argv
from archsearch.core.registry import SPACES
from archsearch.report.compare_report import holm, pairwise_tests
from archsearch.report.study_report import study_report
from archsearch.store.base import EpochRecord, ExperimentRecord, TrialRecord
from archsearch.store.sqlite import SQLiteStore


class Structure(HTMLParser):
    """Section ids, tags and every URL-bearing attribute of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.tags: dict[str, int] = {}
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        values = dict(attrs)
        if tag == "section":
            self.sections.append(values.get("id") or "")
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action", "data")]


def parse(document: str) -> Structure:
    structure = Structure()
    structure.feed(document)
    return structure


def assert_self_contained(document: str) -> None:
    structure = parse(document)
    assert "http" not in document.lower(), "the report must not reference anything outside itself"
    assert all(url.startswith(("#", "data:image/")) for url in structure.urls), structure.urls[:5]
    assert "script" not in structure.tags and "link" not in structure.tags and "img" not in structure.tags
    assert "@import" not in document
    assert all(ref.strip().startswith("#") for ref in re.findall(r"url\(([^)]*)\)", document))


def run_cli(*argv: str) -> int:
    return main(list(argv))


@pytest.fixture(scope="module")
def tabular_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("report") / "runs.db"
    assert run_cli("search", "--max-trials", "40", "--seed", "3", "--store", str(store), "--name", "re",
                   "--quiet") == 0
    return store


def test_report_of_a_search_has_every_section_and_no_external_reference(tabular_store: Path, tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "re.html"
    assert run_cli("report", "re", "--store", str(tabular_store), "-o", str(out), "--top", "5") == 0
    assert "wrote" in capsys.readouterr().out
    document = out.read_text(encoding="utf-8")
    structure = parse(document)
    assert structure.sections == ["overview", "reproduce", "best", "anytime", "distribution", "top"]
    assert structure.tags["svg"] >= 5  # 3 diagrams, anytime, distribution
    assert document.count("<figcaption>") == structure.tags["svg"]
    assert_self_contained(document)
    store = SQLiteStore(str(tabular_store), create=False, write=False)
    experiment = store.get_experiment("re")
    trials = store.trials(experiment.id)
    store.close()
    best = max((t for t in trials if t.status == "ok"), key=lambda t: t.metrics["valid_acc"])
    top_rows = re.search(r'id="top">.*?<tbody>(.*?)</tbody>', document, re.DOTALL).group(1)
    assert top_rows.count("<tr") == 5 and top_rows.startswith('<tr class="best">')
    assert SPACES.create("nb201").format(best.arch) in document.replace("<wbr>", "")  # the best arch by name
    assert f"Trial {best.number}:" in document


def test_the_reproduce_command_rebuilds_the_config_and_the_history(tabular_store: Path, tmp_path: Path) -> None:
    store = SQLiteStore(str(tabular_store), create=False, write=False)
    experiment = store.get_experiment("re")
    original = [(t.arch, t.metrics) for t in store.trials(experiment.id)]
    store.close()
    copy = tmp_path / "copy.db"
    argv = reproduce_argv(experiment.config, str(copy))
    assert argv[:1] == ["search"] and "--seed" in argv and "--max-trials" in argv
    assert run_cli(*argv, "--quiet") == 0
    again = SQLiteStore(str(copy), create=False, write=False)
    rerun = again.get_experiment("re")
    assert rerun.config == experiment.config
    assert [(t.arch, t.metrics) for t in again.trials(rerun.id)] == original
    again.close()


@pytest.mark.parametrize("config", [
    {"name": "t", "estimator": "train", "dataset": "digits", "max_trials": 3,
     "estimator_options": {"epochs": 1, "net": {"channels": 4, "cells_per_stage": 1}}},
    {"name": "mo", "strategy": "nsga2", "objective": "valid_acc:max,params:min", "constraint": "params<=1e6",
     "reference_point": "0,2e6", "budget_seconds": 5000.0, "strategy_options": {"population_size": 8}},
    {"name": "r", "reward": "mnasnet:flops<=1e8", "dataset": "cifar100", "fidelity": 200, "seed": 7},
])
def test_reproduce_argv_yields_the_stored_config_for_varied_configs(config: dict, tmp_path: Path) -> None:
    from archsearch.config import StudyConfig

    stored = StudyConfig.from_mapping(config)
    stored.finish_budget()
    argv = reproduce_argv(stored.to_dict(), str(tmp_path / "x.db"))
    assert parsed_config(argv).to_dict() == stored.to_dict()


def test_multi_objective_report_has_the_pareto_front(tmp_path: Path) -> None:
    store = str(tmp_path / "mo.db")
    assert run_cli("search", "--strategy", "nsga2", "--objective", "valid_acc:max", "--objective", "params:min",
                   "--max-trials", "30", "--store", store, "--name", "mo", "--quiet") == 0
    out = tmp_path / "mo.html"
    assert run_cli("report", "mo", "--store", store, "-o", str(out)) == 0
    document = out.read_text(encoding="utf-8")
    assert "pareto" in parse(document).sections and "hypervolume" in document
    assert_self_contained(document)


def record(number: int, status: str = "ok", error: str | None = None, acc: float = 50.0,
           curves: dict | None = None) -> TrialRecord:
    arch = {name: "nor_conv_3x3" for name in SPACES.create("nb201").dims()}
    metrics = {} if status != "ok" else {"valid_acc": acc, "test_acc": acc - 1}
    return TrialRecord(number, arch, 1.0, status, metrics, 2.0, error, 0.0, 1.0, curves or {})


def experiment(**config: object) -> ExperimentRecord:
    from archsearch.config import StudyConfig

    base = StudyConfig.from_mapping({"name": "x", "estimator": "train", "dataset": "digits", "max_trials": 5,
                                     **config})
    base.finish_budget()
    return ExperimentRecord(1, "x", base.to_dict(), 0, "finished", 0.0, 1.0, "0.1.0")


def test_learning_curves_one_shot_epochs_and_failures_get_their_sections() -> None:
    trials = [record(0, acc=60.0, curves={"valid_acc": [40.0, 55.0, 60.0], "train_loss": [2.0, 1.0, 0.5]}),
              record(1, acc=70.0, curves={"valid_acc": [50.0, 65.0, 70.0], "train_loss": [1.9, 0.9, 0.4]}),
              record(2, "failed", "RuntimeError: out of memory\ntraceback"), record(3, "failed", "timed out")]
    epochs = [EpochRecord(k, 1.5, {"train_acc": 30.0 + 10 * k, "arch_acc": 25.0 + 10 * k, "entropy": 1.6 - 0.4 * k,
                                   "param_free_share": 0.2 + 0.25 * k, "hessian_eigenvalue": 0.1 * (1 + k)},
                          trials[0].arch) for k in range(3)]
    document = study_report(experiment(strategy="darts"), trials, epochs, "runs.db")
    sections = parse(document).sections
    assert sections == ["overview", "reproduce", "best", "oneshot", "anytime", "distribution", "top", "curves",
                        "failures"]
    assert "rose from 0.20 to 0.70" in document and "collapse" in document
    assert "3.00x" in document  # the eigenvalue ratio 0.3 / 0.1
    failures = re.search(r'id="failures">(.*?)</section>', document, re.DOTALL).group(1)
    assert "RuntimeError: out of memory" in failures and "traceback" not in failures
    assert_self_contained(document)


def test_a_report_without_successful_trials_still_renders() -> None:
    document = study_report(experiment(), [record(0, "failed", "boom")], [], "runs.db")
    assert "No successful" in document and "failures" in parse(document).sections


@pytest.mark.parametrize("name", SPACES.names())
def test_every_registered_space_has_a_diagram(name: str) -> None:
    if name == "declared":  # a declared space needs its definition: the example files
        from archsearch.spaces import create_space
        from archsearch.spaces.declared import load_space_file

        spaces = [create_space(name, load_space_file(str(path)))
                  for path in sorted((Path(__file__).parents[2] / "examples" / "spaces").glob("*.yaml"))]
        assert spaces
    else:
        spaces = [SPACES.create(name)]
    for space in spaces:
        check_diagram(space, name)


def check_diagram(space: object, name: str) -> None:
    from archsearch.report.diagrams import arch_diagram
    from archsearch.report.figures import svg_markup

    arch = space.sample(np.random.default_rng(0))
    markup = svg_markup(arch_diagram(space, arch, title=name))
    assert markup.startswith("<svg") and markup.count("<text") + markup.count("<path") > 5
    assert "http" not in markup


def test_comparison_report_structure_and_statistics(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "cmp.html"
    assert run_cli("compare", "--strategies", "random,local-search", "--seeds", "6", "--max-trials", "40",
                   "--quiet", "--report", str(out)) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    document = out.read_text(encoding="utf-8")
    assert parse(document).sections == ["protocol", "anytime", "finals", "significance"]
    assert parse(document).tags["svg"] == 3
    assert "archsearch compare --strategies random,local-search" in document  # the command as typed
    assert "Mann-Whitney U" in document
    assert_self_contained(document)


def test_pairwise_tests_and_holm() -> None:
    from scipy.stats import mannwhitneyu

    results = {"a": {"final_test": [1.0, 2.0, 3.0, 4.0]}, "b": {"final_test": [5.0, 6.0, 7.0, 8.0]},
               "c": {"final_test": [1.5, 2.5, None, 9.0]}}
    tests = pairwise_tests(results, "final_test")
    assert [(t["a"], t["b"]) for t in tests] == [("a", "b"), ("a", "c"), ("b", "c")]
    first = tests[0]
    assert first["p"] == pytest.approx(mannwhitneyu([1, 2, 3, 4], [5, 6, 7, 8]).pvalue)
    assert first["effect"] == 0.0  # no run of a beats one of b
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, float("nan")])[0] == 0.5


@pytest.mark.parametrize("args, message", [
    (["report", "nope"], "no experiment"),
    (["report", "re", "-o", "out.txt"], "must end in .html"),
    (["report", "re", "-o", "missing/out.html"], "does not exist"),
    (["report", "re", "--top", "0"], "--top"),
])
def test_report_user_errors_are_one_line_and_leave_the_store_alone(
        args: list[str], message: str, tabular_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    before = hashlib.sha256(tabular_store.read_bytes()).hexdigest()
    assert run_cli(*args, "--store", str(tabular_store)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert hashlib.sha256(tabular_store.read_bytes()).hexdigest() == before


def test_report_of_a_missing_store_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert run_cli("report", "x", "--store", str(tmp_path / "none.db"), "-o", str(tmp_path / "x.html")) == 2
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "x.html").exists()
