"""Study configuration: one flat set of keys shared by the CLI flags, ``--config exp.yaml`` and
``--set key=value`` overrides (``strategy.<option>`` and ``estimator.<option>`` reach components).

Defaults are the NAS-Bench-201 paper protocol on CIFAR-10: search on the 12-epoch validation
accuracy, 12,000 simulated seconds, report the 200-epoch test accuracy of the best arch. The space, the
estimator and the benchmark then set the keys not given explicitly, each from the ``defaults`` of its
registry entry (in that order): with a training estimator (``--estimator train``) those of real training
(no benchmark, the estimator's own epochs, an embedded dataset, a wall-clock budget, the test accuracy
reported); an estimator that declares none is taken to train. A trial budget (``max_trials``) without an
explicit ``budget_seconds`` means no time budget, in the Python API as on the CLI (``validate`` applies it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from archsearch.core.documents import read_document
from archsearch.core.errors import UserError
from archsearch.core.device import check_device_name
from archsearch.core.objectives import Goal, MnasNetReward, Objective, parse_constraints
from archsearch.core.options import check_count, check_options, check_positive, did_you_mean, is_number
from archsearch.core.registry import BENCHMARKS, DATASETS, ESTIMATORS, SPACES, STRATEGIES, TRAINING_DEFAULTS

# -- defaults in one visible block --------------------------------------------------------------
DEFAULT_SPACE = "nb201"
DEFAULT_STRATEGY = "regularized-evolution"
DEFAULT_BENCHMARK = "nb201"
DEFAULT_DATASET = "cifar10"
DEFAULT_FIDELITY = 12
DEFAULT_BUDGET_SECONDS = 12_000.0
DEFAULT_OBJECTIVE = "valid_acc:max"
DEFAULT_REPORT = "final_test_acc"
DEFAULT_EXECUTOR = "serial"
DEFAULT_DEVICE = "auto"
TABLE_ESTIMATOR = "tabular"  # the estimator that searches a table file (--table)
# Each space, estimator and benchmark carries the config keys it sets when they are not given explicitly
# (``defaults`` of its registry entry, archsearch.core.registry): e.g. a training estimator's dataset and
# wall-clock budget, nb301's space, nb101's partial table with its trial budget.

COMPONENT_PREFIXES = ("strategy", "estimator", "space")


@dataclass
class StudyConfig:
    name: str = ""
    space: str = DEFAULT_SPACE
    space_file: str | None = None  # the YAML/JSON file a declared space was read from (for the record)
    space_options: dict[str, Any] = field(default_factory=dict)  # e.g. a declared space's definition
    strategy: str = DEFAULT_STRATEGY
    strategy_options: dict[str, Any] = field(default_factory=dict)
    estimator: str = "tabular"
    estimator_options: dict[str, Any] = field(default_factory=dict)
    benchmark: str | None = DEFAULT_BENCHMARK
    table: str | None = None  # a generic table file (--table): the benchmark; its metadata gives space, dataset...
    dataset: str = DEFAULT_DATASET
    fidelity: float | None = DEFAULT_FIDELITY
    budget_seconds: float | None = DEFAULT_BUDGET_SECONDS
    max_trials: int | None = None
    seed: int = 0
    objective: str = DEFAULT_OBJECTIVE  # comma-separated: several objectives make a multi-objective search
    report: str = DEFAULT_REPORT
    constraint: str | None = None  # comma-separated hard constraints, e.g. "params<=2e6,latency_ms<=5"
    reward: str | None = None  # scalarisation for single-objective strategies, e.g. "mnasnet:latency_ms<=5"
    reference_point: str | None = None  # hypervolume reference, one raw value per objective, e.g. "0,2.2e8"
    device: str = DEFAULT_DEVICE
    data_dir: str | None = None
    download: bool = False
    executor: str = DEFAULT_EXECUTOR
    workers: int = 1  # trials in flight (processes, ray)
    address: str | None = None  # ray: "auto" or HOST:PORT joins a cluster; None starts a local Ray
    gpus_per_trial: float = 0.0  # ray: GPUs reserved per trial
    trial_timeout: float | None = None  # seconds; a longer trial is stopped and recorded failed (processes, ray)
    max_retries: int = 2  # re-runs of a trial whose worker died, then it is recorded failed
    threads: int | None = None  # intra-op threads per trial (None: the thread policy's, archsearch.core.threads)
    max_memory: str | float | None = None  # one-shot searches: refuse above this peak (MiB, or "2GiB")
    prerank: str | None = None  # zero-cost proxy ranking a random pool; its best warm-start the strategy
    prerank_pool: int = 100
    prerank_top: int = 10
    warm_start: str | None = None  # another experiment in the same store (same space) used as a prior
    warm_start_top: int = 10  # its best archs evaluated first

    def __post_init__(self) -> None:
        """Values given to the constructor count as set explicitly (estimator defaults leave them alone)."""
        defaults = StudyConfig.__dataclass_fields__
        self.__dict__["_explicit"] = {name for name, f in defaults.items()
                                      if f.default is not MISSING and getattr(self, name) != f.default}

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> "StudyConfig":
        config = cls()
        for key, value in data.items():
            if key == "space_file" and data.get("space_options"):  # a stored config carries the definition itself
                config.space_file = _text_or_none(key, value)
                config.__dict__["_explicit"].add(key)
                continue
            config.set(key, value)
        return config

    @classmethod
    def from_file(cls, path: str) -> "StudyConfig":
        file = Path(path)
        data = read_document(file, "config file")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise UserError(f"config file {path} must hold a mapping of keys, e.g. 'strategy: random'")
        space_file = data.get("space_file")
        if isinstance(space_file, str) and not Path(space_file).is_absolute() \
                and (file.parent / space_file).is_file():  # relative to the config file's folder
            data["space_file"] = str(file.parent / space_file)
        return cls.from_mapping(data)

    def set(self, key: str, value: Any) -> None:
        """Set one key; ``strategy.X`` / ``estimator.X`` set a component option; nested mappings allowed."""
        if not isinstance(key, str):
            raise UserError(f"config keys must be names, got {key!r}")
        self.__dict__.setdefault("_explicit", set()).add(key)
        prefix, dot, option = key.partition(".")
        if dot and prefix in COMPONENT_PREFIXES and option:
            set_dotted(getattr(self, f"{prefix}_options"), option, value)
            return
        if key == "space_file":
            self._read_space_file(value)
            return
        if key == "space" and isinstance(value, dict) and "kind" in value:  # space: {kind: chain, dims: ...}
            self.space, self.space_options = "declared", dict(value)
            return
        if key in COMPONENT_PREFIXES and isinstance(value, dict):  # strategy: {name: ..., population_size: ...}
            value = dict(value)
            if "name" in value:
                setattr(self, key, str(value.pop("name")))
            getattr(self, f"{key}_options").update(value)
            return
        if key.endswith("_options") and key.removesuffix("_options") in COMPONENT_PREFIXES and isinstance(value, dict):
            getattr(self, key).update(value)
            return
        if key in _LIST_KEYS and isinstance(value, (list, tuple)):  # objective: [valid_acc:max, flops:min]
            value = ",".join(str(item) for item in value) if value else None
        if key not in _SCALAR_KEYS:
            raise UserError(f"unknown config key {key!r}{did_you_mean(key, _SCALAR_KEYS)}; "
                            f"keys: {', '.join(sorted(_SCALAR_KEYS))}, "
                            f"strategy.<option>, estimator.<option>, space.<option>")
        if key in _TEXT_KEYS and not (isinstance(value, str) or (value is None and key in _OPTIONAL_TEXT_KEYS)):
            raise UserError(f"config key {key!r} must be a text value, got {value!r}")
        setattr(self, key, value)

    def _read_space_file(self, value: Any) -> None:
        """``space_file``: read and check the declared space now; the config carries its definition from here on."""
        self.space_file = _text_or_none("space_file", value)
        if self.space_file is None:
            return
        if self.was_set("space") and self.space != "declared":
            raise UserError(f"--space-file declares the space; it cannot be combined with --space {self.space}")
        from archsearch.spaces.declared import load_space_file

        self.space_options = load_space_file(self.space_file)
        self.space = "declared"
        self.__dict__["_explicit"].add("space")

    def apply_overrides(self, pairs: list[str]) -> None:
        """``--set key=value`` pairs; values are parsed as YAML scalars (20, 0.5, true, text)."""
        for pair in pairs:
            key, eq, text = pair.partition("=")
            if not eq or not key:
                raise UserError(f"--set needs key=value, got {pair!r}")
            try:
                value = yaml.safe_load(text) if text else ""
            except yaml.YAMLError:
                value = text
            self.set(key.strip(), value)

    def was_set(self, key: str) -> bool:
        """Whether ``key`` was given explicitly (file, flag or --set) rather than defaulted."""
        return key in self.__dict__.get("_explicit", set())

    def finish_budget(self) -> None:
        """The same as ``apply_estimator_defaults`` (which ``validate`` applies), kept for older callers."""
        self.apply_estimator_defaults()

    def apply_estimator_defaults(self) -> None:
        """The keys not set explicitly from the space's, the estimator's and the benchmark's registry defaults
        (a table file: from its metadata). Then the budget rule: a trial budget without an explicit time budget
        means no time budget (``max_trials=150`` alone runs 150 trials), in the Python API as on the CLI."""
        if self.table is not None:
            self.apply_table_defaults()
        else:
            space_defaults = dict(SPACES.defaults(self.space) or {})
            if self.was_set("benchmark") and self.benchmark is not None:
                space_defaults.pop("estimator", None)  # a benchmark named is looked up, not trained
            self._apply_defaults(space_defaults)
            estimator = ESTIMATORS.defaults(self.estimator)
            self._apply_defaults(TRAINING_DEFAULTS if estimator is None else estimator)
            if self.benchmark is not None:
                self._apply_defaults(BENCHMARKS.defaults(self.benchmark) or {})
        if self.max_trials is not None and not self.was_set("budget_seconds"):
            self.budget_seconds = None

    def _apply_defaults(self, defaults: Mapping[str, Any]) -> None:
        """Set each key of ``defaults`` not set explicitly (``space_options``: for the component's own space only)."""
        for key, value in defaults.items():
            if key == "space_options":
                if self.space == defaults.get("space"):
                    for option, setting in value.items():
                        self.space_options.setdefault(option, setting)
            elif not self.was_set(key):
                setattr(self, key, value)

    def apply_table_defaults(self) -> None:
        """``table``: the generic table file is the benchmark (by its absolute path, so that workers find it), and
        its metadata gives the keys not set explicitly: space (and its options), dataset, fidelity, objective, report."""
        from archsearch.benchmarks.table_meta import check_table_path, is_table_path, read_metadata

        path = str(check_table_path(self.table))
        if self.was_set("benchmark") and self.benchmark is not None and not (
                is_table_path(self.benchmark) and str(Path(self.benchmark).resolve()) == path):
            raise UserError(f"--table {self.table} and --benchmark {self.benchmark} name two tables; give one")
        if self.estimator != TABLE_ESTIMATOR:
            raise UserError(f"--table is searched by the {TABLE_ESTIMATOR} estimator, not {self.estimator!r}")
        meta = read_metadata(path)
        self.table = self.benchmark = path
        defaults: dict[str, Any] = {"dataset": meta.dataset, "fidelity": float(meta.default_fidelity),
                                    "objective": meta.objective_text(), "report": meta.report_text()}
        if not self.was_set("space"):
            defaults["space"] = meta.space
            if not self.was_set("space_options"):
                defaults["space_options"] = dict(meta.space_options)
        for key, value in defaults.items():
            if not self.was_set(key):
                setattr(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    # -- validation ---------------------------------------------------------------------------
    def validate(self) -> None:
        """Check names, numbers and options; raise one ``UserError`` for the first problem."""
        self.apply_estimator_defaults()
        self._check_components()
        self._check_budget()
        self._check_execution()
        self._check_warm_starts()
        if self.max_memory is not None:
            from archsearch.core.options import parse_memory

            try:
                parse_memory(self.max_memory)
            except ValueError:
                raise UserError(f"max_memory must be a size such as 2048 (MiB), 512MiB or 2GiB, "
                                f"got {self.max_memory!r}") from None
        if not isinstance(self.download, bool):
            raise UserError(f"config key 'download' must be true or false, got {self.download!r}")
        parse_constraints(self.constraint)
        self.goal()
        self.reference()
        Objective.parse(self.report)
        check_options("strategy", self.strategy, STRATEGIES.load(self.strategy), self.strategy_options)

    def _check_components(self) -> None:
        """Registered names; a declared space's definition (or another space's options) checked now."""
        SPACES.check(self.space)
        STRATEGIES.check(self.strategy)
        ESTIMATORS.check(self.estimator)
        if ESTIMATORS.uses_datasets(self.estimator) or STRATEGIES.uses_datasets(self.strategy):
            DATASETS.check(self.dataset)  # by name: nothing heavy (torch) is imported before this check
        if self.space_file is not None and self.space != "declared":
            raise UserError(f"--space-file declares the space; it cannot be combined with --space {self.space}")
        if not isinstance(self.space_options, dict):
            raise UserError(f"space_options must be a mapping, got {self.space_options!r}")
        from archsearch.spaces import space_from_config

        space_from_config(self)
        if self.benchmark is not None:
            from archsearch.benchmarks import check_benchmark

            check_benchmark(self.benchmark)  # a registered name or a table file

    def _check_budget(self) -> None:
        self.seed = check_count("seed", self.seed, minimum=0)
        if self.max_trials is not None:
            self.max_trials = check_count("max_trials", self.max_trials, minimum=1)
        if self.budget_seconds is not None:
            self.budget_seconds = check_positive("budget_seconds", self.budget_seconds)
        if self.budget_seconds is None and self.max_trials is None:
            raise UserError("set a budget: budget_seconds or max_trials", cli="set a budget: --budget-seconds S or --max-trials N")
        if self.fidelity is not None:
            self.fidelity = check_positive("fidelity", self.fidelity)

    def _check_execution(self) -> None:
        """Executor, workers, retries, threads, time-outs and Ray's keys."""
        self.workers = check_count("workers", self.workers, minimum=1)
        check_device_name(self.device)
        if self.executor not in EXECUTORS:
            raise UserError(f"unknown executor {self.executor!r}; choose from: {', '.join(EXECUTORS)}")
        if self.workers > 1 and self.executor == "serial":
            raise UserError("workers > 1 needs the executor 'processes' or 'ray'",
                            cli="--workers > 1 needs --executor processes or ray")
        self.max_retries = check_count("max_retries", self.max_retries, minimum=0)
        if self.threads is not None:
            self.threads = check_count("threads", self.threads, minimum=1)
        if self.trial_timeout is not None:
            self.trial_timeout = check_positive("trial_timeout", self.trial_timeout)
            if self.executor == "serial":
                raise UserError("trial_timeout needs the executor 'processes' or 'ray' (a serial trial cannot be stopped)",
                                cli="--trial-timeout needs --executor processes or ray (a serial trial cannot be stopped)")
        if not is_number(self.gpus_per_trial) or self.gpus_per_trial < 0:
            raise UserError(f"gpus_per_trial must be a number >= 0, got {self.gpus_per_trial!r}")
        if self.executor != "ray" and (self.address is not None or self.gpus_per_trial):
            raise UserError("address and gpus_per_trial need the executor 'ray'",
                            cli="--address and --gpus-per-trial need --executor ray")

    def _check_warm_starts(self) -> None:
        """The zero-cost pre-ranking and the warm start from another study."""
        if self.prerank is not None:
            from archsearch.estimators.zero_cost import PROXY_NAMES

            if self.prerank not in PROXY_NAMES:
                raise UserError(f"unknown prerank proxy {self.prerank!r}; choose from: {', '.join(PROXY_NAMES)}")
            self.prerank_pool = check_count("prerank_pool", self.prerank_pool, minimum=1)
            self.prerank_top = check_count("prerank_top", self.prerank_top, minimum=1)
            if self.prerank_top > self.prerank_pool:
                raise UserError(f"prerank_top ({self.prerank_top}) exceeds prerank_pool ({self.prerank_pool})")
        if self.warm_start is not None:
            self.warm_start_top = check_count("warm_start_top", self.warm_start_top, minimum=1)
            if self.warm_start == self.name:
                raise UserError(f"experiment {self.name!r} cannot warm-start from itself")

    def objectives(self) -> list[Objective]:
        return [Objective.parse(text.strip()) for text in self.objective.split(",")]

    def goal(self) -> Goal:
        """Objectives, constraints and reward as one ``Goal`` (UserError for a malformed part)."""
        constraints = parse_constraints(self.constraint, strict=False)  # validate() refuses empty parts
        reward = MnasNetReward.parse(self.reward) if self.reward else None
        return Goal(tuple(self.objectives()), constraints, reward)

    def reference(self) -> list[float] | None:
        """The hypervolume reference point in raw objective values (None: chosen from the results)."""
        if self.reference_point is None:
            return None
        texts = [text for text in str(self.reference_point).split(",") if text.strip()]
        try:
            values = [float(text) for text in texts]
        except ValueError:
            values = []
        count = len(self.objectives())
        if len(values) != count or not all(math.isfinite(v) for v in values):
            raise UserError(f"reference_point needs {count} finite numbers (one per objective, comma-separated), "
                            f"got {self.reference_point!r}")
        return values


_SCALAR_KEYS = {f.name for f in fields(StudyConfig)} - {"strategy_options", "estimator_options", "space_options"}
_TEXT_KEYS = {"name", "space", "space_file", "strategy", "estimator", "benchmark", "table", "dataset", "objective", "report", "device",
              "data_dir", "executor", "prerank", "constraint", "reward", "reference_point", "warm_start", "address"}
_OPTIONAL_TEXT_KEYS = {"space_file", "benchmark", "table", "data_dir", "prerank", "constraint", "reward", "reference_point", "warm_start",
                       "address"}
_LIST_KEYS = {"objective", "constraint", "reference_point"}  # a YAML list is joined with commas
EXECUTORS = ("serial", "processes", "ray")
RUNTIME_KEYS = ("executor", "workers", "address", "gpus_per_trial", "trial_timeout", "max_retries", "threads")  # resume may change


def set_dotted(options: dict[str, Any], key: str, value: Any) -> None:
    """``net.channels=8`` -> ``options["net"]["channels"] = 8`` (nested mappings by dots)."""
    *parents, last = key.split(".")
    for parent in parents:
        child = options.get(parent)
        if not isinstance(child, dict):
            child = options[parent] = {}
        options = child
    options[last] = value


def _text_or_none(key: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise UserError(f"config key {key!r} must be a text value, got {value!r}")
    return value
