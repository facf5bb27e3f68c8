"""Experiment tracking: a study logged to MLflow or TensorBoard as it runs (``--log-to``).

One tracking run per study: the study's config as parameters (flattened ``a.b`` keys), one step per trial (the
trial number) with its metrics, cost and status, the best-so-far value of the first objective, each trial's
learning curves (``trial_NNNN/<curve>``, one step per epoch), the best arch as a tag, and at the end the study's
HTML report (``archsearch report``) as an artifact. As Optuna's ``MLflowCallback`` does for Optuna studies.

- ``mlflow[:URI]``: an MLflow tracking store (default ``sqlite:///mlflow.db`` in the working directory, artifacts
  in ``mlruns/`` beside a SQLite file; no server: MLflow 3 keeps the plain ``./mlruns`` file store only on request), experiment
  ``archsearch``, run named after the study. Needs ``mlflow-skinny`` (the ``mlflow`` extra).
- ``tensorboard[:DIR]``: event files under ``DIR/<study name>`` (default ``runs/``), read by ``tensorboard
  --logdir DIR``; the report is copied beside them. Needs ``tensorboard`` (the ``tensorboard`` extra).
"""

from __future__ import annotations

import json
import math
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from archsearch.core.errors import UserError
from archsearch.store.base import TrialRecord

DEFAULT_MLFLOW_URI = "sqlite:///mlflow.db"
DEFAULT_TENSORBOARD_DIR = "runs"
MLFLOW_EXPERIMENT = "archsearch"
REPORT_FILE = "report.html"
MAX_PARAM_CHARS = 500


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"estimator_options": {"net": {"channels": 8}}}`` -> ``{"estimator_options.net.channels": "8"}``."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = (json.dumps(value, default=str) if not isinstance(value, str) else value)[:MAX_PARAM_CHARS]
    return out


def trial_values(trial: TrialRecord) -> dict[str, float]:
    """The finite metrics of a trial, its cost and whether it failed (0/1)."""
    values = {k: float(v) for k, v in trial.metrics.items() if isinstance(v, (int, float)) and math.isfinite(v)}
    return {**values, "cost_seconds": float(trial.cost), "failed": float(trial.status != "ok")}


class Tracker(ABC):
    """Receives a study's start, each finished trial and its end."""

    @abstractmethod
    def start(self, name: str, config: Mapping[str, Any]) -> None:
        """A new tracking run for study ``name``."""

    @abstractmethod
    def trial(self, trial: TrialRecord, best: float | None) -> None:
        """A finished trial; ``best``: the best-so-far value of the first objective (None before any)."""

    @abstractmethod
    def finish(self, best_arch: str | None, report_html: str | None, completed: bool) -> None:
        """The end: the best arch, the HTML report (a document), whether the study ran to its budget."""


class MLflowTracker(Tracker):
    """``MLflowTracker("sqlite:///mlflow.db")``: one MLflow run per study."""

    def __init__(self, uri: str | None = None) -> None:
        try:
            import logging

            from mlflow.tracking import MlflowClient
        except ImportError:
            raise UserError("--log-to mlflow needs MLflow: pip install 'archsearch[mlflow]'") from None
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        self.uri = uri or DEFAULT_MLFLOW_URI
        self.client = MlflowClient(tracking_uri=self.uri)
        self.run_id: str | None = None

    def start(self, name: str, config: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        found = self.client.get_experiment_by_name(MLFLOW_EXPERIMENT)
        experiment = found.experiment_id if found else self.client.create_experiment(
            MLFLOW_EXPERIMENT, artifact_location=artifact_location(self.uri))
        self.run_id = self.client.create_run(experiment, run_name=name, tags={"archsearch.study": name}).info.run_id
        params = [Param(k, v) for k, v in flatten(config).items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=params[i:i + 100])

    def trial(self, trial: TrialRecord, best: float | None) -> None:
        from mlflow.entities import Metric

        stamp = int((trial.finished or 0) * 1000)
        values = {**trial_values(trial), **({} if best is None else {"best_so_far": best})}
        metrics = [Metric(k, v, stamp, trial.number) for k, v in values.items()]
        metrics += [Metric(f"trial_{trial.number:04d}/{curve}", float(v), stamp, epoch)
                    for curve, points in trial.curves.items() for epoch, v in enumerate(points) if math.isfinite(v)]
        for i in range(0, len(metrics), 1000):
            self.client.log_batch(self.run_id, metrics=metrics[i:i + 1000])

    def finish(self, best_arch: str | None, report_html: str | None, completed: bool) -> None:
        if best_arch is not None:
            self.client.set_tag(self.run_id, "best_arch", best_arch)
        if report_html is not None:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / REPORT_FILE
                path.write_text(report_html, encoding="utf-8")
                self.client.log_artifact(self.run_id, str(path))
        self.client.set_terminated(self.run_id, "FINISHED" if completed else "KILLED")


def artifact_location(uri: str) -> str | None:
    """For a SQLite store, ``mlruns/`` beside its file (MLflow's default is the working directory's); else
    the server's own choice (None)."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    return (Path(uri[len(prefix):]).resolve().parent / "mlruns").as_uri()


class TensorBoardTracker(Tracker):
    """``TensorBoardTracker("runs")``: event files under ``runs/<study name>``."""

    def __init__(self, folder: str | None = None) -> None:
        import importlib.util

        try:
            if importlib.util.find_spec("tensorboard") is None:  # torch's SummaryWriter needs it
                raise ImportError("tensorboard")
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError("--log-to tensorboard needs TensorBoard: pip install 'archsearch[tensorboard]'") from None
        self.folder, self.writer_class, self.writer = Path(folder or DEFAULT_TENSORBOARD_DIR), SummaryWriter, None

    def start(self, name: str, config: Mapping[str, Any]) -> None:
        self.log_dir = self.folder / name
        self.writer = self.writer_class(log_dir=str(self.log_dir))
        self.writer.add_text("config", "\n".join(f"    {k}: {v}" for k, v in flatten(config).items()))

    def trial(self, trial: TrialRecord, best: float | None) -> None:
        for key, value in trial_values(trial).items():
            self.writer.add_scalar(f"trial/{key}", value, trial.number)
        if best is not None:
            self.writer.add_scalar("best_so_far", best, trial.number)
        for curve, points in trial.curves.items():
            for epoch, value in enumerate(points):
                self.writer.add_scalar(f"curves/trial_{trial.number:04d}/{curve}", float(value), epoch)

    def finish(self, best_arch: str | None, report_html: str | None, completed: bool) -> None:
        if best_arch is not None:
            self.writer.add_text("best_arch", best_arch)
        if report_html is not None:
            (self.log_dir / REPORT_FILE).write_text(report_html, encoding="utf-8")
            self.writer.add_text("report", f"{self.log_dir / REPORT_FILE}")
        self.writer.add_text("status", "finished" if completed else "interrupted")
        self.writer.close()


TRACKERS: dict[str, Callable[[str | None], Tracker]] = {"mlflow": MLflowTracker, "tensorboard": TensorBoardTracker}


def make_tracker(spec: str) -> Tracker:
    """``mlflow``, ``mlflow:URI``, ``tensorboard`` or ``tensorboard:DIR``; a UserError for anything else."""
    kind, _, where = spec.partition(":")
    if kind not in TRACKERS:
        raise UserError(f"--log-to {spec!r}: choose mlflow[:URI] or tensorboard[:DIR]")
    return TRACKERS[kind](where or None)


class StudyTracking:
    """Feeds ``trackers`` from a running study: ``start()``, ``on_trial()`` after each finished trial,
    ``finish(completed)`` with the study's HTML report (``store_path`` for its reproduce command)."""

    def __init__(self, study: Any, trackers: Sequence[Tracker], store_path: str) -> None:
        self.study, self.trackers, self.store_path = study, list(trackers), store_path

    def start(self) -> None:
        if not self.trackers:
            return
        for tracker in self.trackers:
            tracker.start(self.study.config.name, self.study.config.to_dict())

    def on_trial(self) -> None:
        if not self.trackers:
            return
        trial = self.study.trials[-1]
        best = self.study.progress().best_value  # the study's incremental best of the first objective (nan: none)
        best = None if math.isnan(best) else best
        for tracker in self.trackers:
            tracker.trial(trial, best)

    def finish(self, completed: bool) -> None:
        from archsearch.report.study_report import study_report

        if not self.trackers:  # nothing to log: no report to build either
            return
        study = self.study
        best = study.best
        report = study_report(study.experiment, study.trials, study.store.epochs(study.experiment.id),
                              self.store_path) if study.trials else None
        for tracker in self.trackers:
            tracker.finish(None if best is None else str(best.arch), report, completed)


__all__ = ["MLflowTracker", "StudyTracking", "TensorBoardTracker", "Tracker", "flatten", "make_tracker",
           "trial_values"]
