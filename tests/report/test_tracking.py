"""``--log-to mlflow`` and ``--log-to tensorboard``: what a search logs is read back with each library's own reader
(MLflow's client on its SQLite store, TensorBoard's event accumulator): the config as parameters, one step per
trial, learning curves, the best arch, the HTML report; bad specs and missing packages are one line."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest

from archsearch.cli.main import main
from archsearch.core.errors import UserError
from archsearch.report.tracking import flatten, make_tracker
from archsearch.store.sqlite import SQLiteStore

TRIALS = 6


def searched(tmp_path: Path, *log_to: str) -> list:  # type: ignore[type-arg]
    store = tmp_path / "runs.db"
    argv = ["search", "--max-trials", str(TRIALS), "--store", str(store), "--name", "tracked", "--quiet"]
    for spec in log_to:
        argv += ["--log-to", spec]
    assert main(argv) == 0
    opened = SQLiteStore(str(store), create=False, write=False)
    try:
        return opened.trials(opened.get_experiment("tracked").id)
    finally:
        opened.close()


def test_mlflow_gets_the_config_every_trial_and_the_report(tmp_path: Path) -> None:
    pytest.importorskip("mlflow", reason="the mlflow extra")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    trials = searched(tmp_path, f"mlflow:{uri}")
    assert (tmp_path / "mlruns").is_dir()  # the artifacts beside the store, not in the working directory
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("archsearch").experiment_id])
    assert len(runs) == 1 and runs[0].info.run_name == "tracked" and runs[0].info.status == "FINISHED"
    run = runs[0]
    assert run.data.params["strategy"] == "regularized-evolution" and run.data.params["max_trials"] == str(TRIALS)
    history = client.get_metric_history(run.info.run_id, "valid_acc")
    assert [m.step for m in history] == [t.number for t in trials]
    assert [m.value for m in history] == pytest.approx([t.metrics["valid_acc"] for t in trials])
    best = client.get_metric_history(run.info.run_id, "best_so_far")
    assert best[-1].value == pytest.approx(max(t.metrics["valid_acc"] for t in trials))
    assert run.data.tags["best_arch"].startswith("|")  # an NB201 arch string
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["report.html"]


def test_tensorboard_event_files_hold_every_trial(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="the tensorboard extra")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    trials = searched(tmp_path, f"tensorboard:{tmp_path / 'tb'}")
    events = EventAccumulator(str(tmp_path / "tb" / "tracked"), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    scalars = events.Scalars("trial/valid_acc")
    assert [e.step for e in scalars] == [t.number for t in trials]
    assert [e.value for e in scalars] == pytest.approx([t.metrics["valid_acc"] for t in trials], rel=1e-6)
    texts = {tag: events.Tensors(tag)[0].tensor_proto.string_val[0].decode() for tag in events.Tags()["tensors"]}
    assert "best_arch/text_summary" in texts and texts["status/text_summary"] == "finished"
    assert (tmp_path / "tb" / "tracked" / "report.html").stat().st_size > 1000


def test_curves_are_logged_per_trial(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="the tensorboard extra")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from archsearch.report.tracking import TensorBoardTracker
    from archsearch.store.base import TrialRecord

    tracker = TensorBoardTracker(str(tmp_path))
    tracker.start("c", {"a": {"b": 1}})
    tracker.trial(TrialRecord(0, {"x": 1}, 2.0, "ok", {"valid_acc": 50.0}, 1.0, curves={"valid_acc": [40.0, 50.0]}), 50.0)
    tracker.finish("x", None, completed=False)
    events = EventAccumulator(str(tmp_path / "c"))
    events.Reload()
    assert [e.value for e in events.Scalars("curves/trial_0000/valid_acc")] == [40.0, 50.0]


def test_specs_and_missing_packages_are_user_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture) -> None:
    assert main(["search", "--max-trials", "2", "--store", str(tmp_path / "r.db"), "--log-to", "wandb"]) == 2
    err = capsys.readouterr().err
    assert "choose mlflow[:URI] or tensorboard[:DIR]" in err and err.count("\n") == 1
    assert not (tmp_path / "r.db").exists()  # refused before the store is created
    real_import = builtins.__import__

    def without(name: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if name.startswith("mlflow"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without)
    with pytest.raises(UserError, match=r"archsearch\[mlflow\]"):
        make_tracker("mlflow")


def test_flatten_nests_keys_and_keeps_values_short() -> None:
    assert flatten({"a": {"b": {"c": 1}, "d": [1, 2]}, "e": "x", "f": {}}) == {"a.b.c": "1", "a.d": "[1, 2]",
                                                                                "e": "x", "f": "{}"}
    assert len(flatten({"long": "y" * 2000})["long"]) == 500


def test_without_log_to_nothing_is_tracked_and_no_report_is_built(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain search must not pay for an HTML report (thousands of trials take seconds to plot)."""
    import archsearch.report.study_report as study_report

    def refuse(*args: object, **kwargs: object) -> str:
        raise AssertionError("a report was built for a search that logs nowhere")

    monkeypatch.setattr(study_report, "study_report", refuse)
    assert len(searched(tmp_path)) == TRIALS


def test_a_resumed_search_logs_its_further_trials(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="the tensorboard extra")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    trials = searched(tmp_path)
    store = str(tmp_path / "runs.db")
    assert main(["resume", "tracked", "--store", store, "--max-trials", str(TRIALS + 3), "--quiet",
                 "--log-to", f"tensorboard:{tmp_path / 'tb'}"]) == 0
    events = EventAccumulator(str(tmp_path / "tb" / "tracked"), size_guidance={"scalars": 0})
    events.Reload()
    assert [e.step for e in events.Scalars("trial/valid_acc")] == [TRIALS, TRIALS + 1, TRIALS + 2]
    assert len(trials) == TRIALS
    assert main(["resume", "tracked", "--store", store, "--max-trials", "20", "--log-to", "wandb"]) == 2
