"""Bad input of every kind, end to end through ``main``: flags, config files, arch strings, ``--set`` values and
store files. The contract for each case: exit code 2, exactly one non-empty line on stderr, no traceback, and
the store's bytes unchanged (the store file and its ``-wal``/``-shm`` siblings; where no store existed, none is
created, nor any other file)."""

from __future__ import annotations

import gc
import os
import sqlite3
from pathlib import Path

import pytest

from archsearch.store.sqlite import SCHEMA_VERSION
from tests.cli.conftest import RESNET_CELL, check_contract, folder_state, run_cli, store_state

# -- valid arch strings of each space, broken one way per case ---------------------------------------------
MOBILE_STAGE = "e6k5se-hs-L3-w1.0"
MOBILE_ARCH = "|".join([MOBILE_STAGE] * 7)
DARTS_EDGES = "[" + ", ".join(["('sep_conv_3x3', 0), ('skip_connect', 1)"] * 4) + "]"
DARTS_ARCH = (f"Genotype(normal={DARTS_EDGES}, normal_concat=[2, 3, 4, 5], reduce={DARTS_EDGES}, "
              "reduce_concat=[2, 3, 4, 5])")
HUGE = "9" * 5000  # beyond Python's int() digit limit (4300)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current folder: default outputs (runs.db, model.pt, exported/) would land here."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def run_against_store(argv: list[str], store: Path, capsys: pytest.CaptureFixture, expected: str) -> None:
    before, files = store_state(store), folder_state(store.parent)
    capsys.readouterr()
    check_contract(run_cli(argv + ["--store", str(store)]), capsys, expected)
    gc.collect()  # as at the end of a process (see test_failed_open_closes_the_store_at_once)
    assert store_state(store) == before
    assert folder_state(store.parent) == files


# == 1. CLI flags (against a copy of the store holding the finished searches 'kept' and 'mo') ===============
TWO_OBJECTIVES = ["search", "--strategy", "nsga2", "--objective", "valid_acc:max", "--objective", "train_seconds:min"]
FLAG_CASES = {
    "unknown strategy": (["search", "--strategy", "evolution"], "unknown strategy 'evolution'"),
    "unknown space": (["search", "--space", "nb301"], "unknown space 'nb301'"),
    "unknown estimator": (["search", "--estimator", "oracle"], "unknown estimator 'oracle'"),
    "unknown dataset": (["search", "--dataset", "svhn"], "svhn"),
    "unknown benchmark": (["search", "--benchmark", "nb101"], "unknown benchmark 'nb101'"),
    "negative max-trials": (["search", "--max-trials", "-3"], "max_trials must be at least 1"),
    "zero max-trials via --set": (["search", "--set", "max_trials=0"], "max_trials must be at least 1"),
    "fractional max-trials": (["search", "--max-trials", "2.5"], "invalid int value"),
    "non-numeric seed": (["search", "--seed", "abc"], "invalid int value: 'abc'"),
    "negative seed": (["search", "--seed", "-1"], "seed must be at least 0"),
    "zero workers": (["search", "--workers", "0", "--executor", "processes"], "workers must be at least 1"),
    "two workers, serial executor": (["search", "--workers", "2"], "--workers > 1 needs --executor processes"),
    "unknown executor": (["search", "--executor", "threads"], "unknown executor 'threads'"),
    "trial timeout, serial executor": (["search", "--trial-timeout", "5"], "--trial-timeout needs"),
    "objective without metric": (["search", "--objective", ":max"], "needs a metric name"),
    "objective with a bad direction": (["search", "--objective", "valid_acc:maximum"], "maximum"),
    "unknown metric": (["search", "--objective", "accuracy:max"], "accuracy"),
    "constraint with a bad bound": (["search", "--constraint", "params<=lots"], "constraint"),
    "constraint without operator": (["search", "--constraint", "params"], "constraint"),
    "constraint of a comma only": (["search", "--constraint", ","], "constraint ',' has an empty part"),
    "unknown device, table estimator": (["search", "--device", "tpu"], "unknown device 'tpu'"),
    "unknown dataset, training estimator": (["search", "--estimator", "train", "--dataset", "mnist"],
                                            "unknown dataset 'mnist' (did you mean 'mnist5k'?)"),
    "misspelled strategy": (["search", "--strategy", "ranodm"], "unknown strategy 'ranodm' (did you mean 'random'?)"),
    "reference point not a number": (TWO_OBJECTIVES + ["--reference-point", "0,abc"], "reference_point needs 2"),
    "reference point infinite": (TWO_OBJECTIVES + ["--reference-point", "0,inf"], "reference_point needs 2"),
    "reward with a negative target": (["search", "--reward", "mnasnet:params<=-5"], "positive target"),
    "unknown prerank proxy": (["search", "--prerank", "vibes"], "unknown prerank proxy 'vibes'"),
    "prerank top above pool": (["search", "--prerank", "synflow", "--prerank-pool", "5", "--prerank-top", "10"],
                               "exceeds prerank_pool"),
    "bad max-memory": (["search", "--max-memory", "lots"], "max_memory must be a size"),
    "gpus without ray": (["search", "--gpus-per-trial", "1"], "need --executor ray"),
    "warm start from itself": (["search", "--name", "fresh", "--warm-start", "fresh"], "cannot warm-start from itself"),
    "warm start from a missing experiment": (["search", "--name", "fresh", "--warm-start", "ghost"], "ghost"),
    "existing name": (["search", "--name", "kept"], "already exists"),
    "existing name via --set": (["search", "--set", "name=kept"], "already exists"),
    "resume a missing experiment": (["resume", "ghost"], "no experiment named 'ghost'"),
    "resume with zero workers": (["resume", "kept", "--workers", "0"], "workers"),
    "resume with an unknown executor": (["resume", "kept", "--executor", "threads"], "unknown executor"),
    "zero threads": (["search", "--threads", "0"], "positive whole number of threads"),
    "threads not a number": (["search", "--threads", "many"], "invalid int value: 'many'"),
    "threads zero via --set": (["search", "--set", "threads=0"], "threads must be at least 1"),
    "resume with zero threads": (["resume", "kept", "--threads", "0"], "positive whole number of threads"),
    "show a missing experiment": (["show", "ghost"], "no experiment named 'ghost'"),
    "show a reference point of the wrong size": (["show", "mo", "--reference-point", "1,2,3"],
                                                 "reference_point needs 2"),
    "show a reference point not a number": (["show", "mo", "--reference-point", "0,abc"], "reference_point needs 2"),
    "show a plot into a missing folder": (["show", "kept", "--plot", "/nonexistent/front.png"], "does not exist"),
    "export a missing experiment": (["export", "ghost"], "no experiment named 'ghost'"),
    "activation-eval from a missing study": (["activation-eval", "--from-study", "ghost"], "ghost"),
    "activation-eval from a non-activation study": (["activation-eval", "--from-study", "kept"],
                                                    "not activation functions"),
    # a line break typed into a value must not break the one-line error
    "unknown flag with a line break": (["search", "--colour\nred"], "unrecognized arguments: --colour\\nred"),
    "strategy option with a line break": (["search", "--set", "strategy.pop\nsize=1"], "strategy.pop\\nsize"),
    "config path with a line break": (["search", "--config", "/nonexistent/a\nb.yaml"], "config file not found"),
}


@pytest.mark.parametrize("case", FLAG_CASES, ids=list(FLAG_CASES))
def test_bad_flag(case: str, store: Path, capsys: pytest.CaptureFixture) -> None:
    argv, expected = FLAG_CASES[case]
    run_against_store(argv, store, capsys, expected)


@pytest.mark.parametrize("value", ["abc", "0", "-1"])
def test_bad_threads_in_the_environment(value: str, store: Path, capsys: pytest.CaptureFixture,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHSEARCH_THREADS", value)
    run_against_store(["search", "--name", "fresh"], store, capsys, "ARCHSEARCH_THREADS must be a positive whole")


# == 2. config files (--config) ==========================================================================
CONFIG_CASES = {
    "invalid YAML": ("exp.yaml", "strategy: [random\nseed: 1\n", "not valid YAML/JSON"),
    "invalid YAML, with its place": ("exp.yaml", "strategy: random\nobjective: {a: 1\n",
                                     "exp.yaml:3:1 is not valid YAML/JSON: expected ',' or '}'"),
    "YAML list instead of a mapping": ("exp.yaml", "- strategy: random\n- seed: 1\n", "must hold a mapping"),
    "YAML scalar instead of a mapping": ("exp.yaml", "42\n", "must hold a mapping"),
    "unknown key": ("exp.yaml", "strategy: random\ncolour: red\n", "unknown config key 'colour'"),
    "non-text key": ("exp.yaml", "1: 2\n", "config keys must be names"),
    "seed not a number": ("exp.yaml", "seed: abc\nmax_trials: 3\n", "seed must be an integer"),
    "negative max_trials": ("exp.yaml", "max_trials: -3\n", "max_trials must be at least 1"),
    "text key given a number": ("exp.yaml", "objective: 5\n", "must be a text value"),
    "download not a boolean": ("exp.yaml", "download: maybe\n", "download"),
    "python tag": ("exp.yaml", "seed: !!python/object/apply:os.getpid []\n", "not valid YAML/JSON"),
    "JSON with a bad value": ("exp.json", '{"strategy": "random", "max_trials": "many"}',
                              "max_trials must be an integer"),
    "JSON with a syntax error": ("exp.json", '{"strategy": "random", "max_trials": 3', "not valid YAML/JSON"),
    "strategy option out of range": ("exp.yaml", "max_trials: 3\nstrategy: {name: regularized-evolution, "
                                                 "population_size: -1}\n", "population_size"),
    "unknown strategy option": ("exp.yaml", "max_trials: 3\nstrategy: {name: regularized-evolution, colour: red}\n",
                                "unknown option strategy.colour"),
    "unknown strategy in a mapping": ("exp.yaml", "strategy: {name: evolution}\n", "unknown strategy 'evolution'"),
    "not UTF-8": ("exp.yaml", b"seed: \xff\xfe\n", "cannot read config file"),
}


@pytest.mark.parametrize("case", CONFIG_CASES, ids=list(CONFIG_CASES))
def test_bad_config_file(case: str, store: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    name, content, expected = CONFIG_CASES[case]
    config = tmp_path / name
    config.write_bytes(content if isinstance(content, bytes) else content.encode())
    run_against_store(["search", "--name", "fresh", "--config", str(config)], store, capsys, expected)


def test_missing_config_file(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run_against_store(["search", "--config", str(tmp_path / "nope.yaml")], store, capsys, "config file not found")


def test_config_file_that_is_a_folder(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run_against_store(["search", "--config", str(tmp_path)], store, capsys, "config file not found")


# == 3. arch strings (no store involved: nothing may be written) ==========================================
ARCH_CASES = {
    "train: malformed NB201": (["train", "--arch", "|nor_conv_3x3~0|+|bogus|"], "malformed NB201 arch string"),
    "train: unknown NB201 op": (["train", "--arch", RESNET_CELL.replace("skip_connect", "conv_5x5", 1)],
                                "unknown NB201 op 'conv_5x5'"),
    "train: NB201 with too few edges": (["train", "--arch", "|nor_conv_3x3~0|+|none~0|+|skip_connect~0|none~1|"
                                                            "skip_connect~2|"], "node 2 needs 2 inputs"),
    "train: NB201 with four nodes": (["train", "--arch", RESNET_CELL + "+|none~0|none~1|none~2|none~3|"],
                                     "expected 3 nodes"),
    "train: NB201 edge index too long": (["train", "--arch", RESNET_CELL.replace("none~1", "none~" + HUGE)],
                                         "malformed NB201 arch string"),
    "evaluate: NB201 JSON missing dims": (["evaluate", '{"edge_0_1": "none"}'], "missing dims"),
    "evaluate: NB201 broken JSON": (["evaluate", '{"edge_0_1": '], "malformed arch string"),
    "evaluate: second arch malformed": (["evaluate", RESNET_CELL, "|none~0|"], "malformed NB201 arch string"),
    "train: activation unknown unary op": (["train", "--space", "activation", "--arch", "add(nope(x), x(x))"],
                                           "unknown unary op 'nope'"),
    "train: activation unknown binary op": (["train", "--space", "activation", "--arch", "glue(x(x), x(x))"],
                                            "unknown binary op 'glue'"),
    "train: activation unbalanced parentheses": (["train", "--space", "activation", "--arch", "add(x(x), x(x)"],
                                                 "malformed unit 1"),
    "train: activation2 with one unit": (["train", "--space", "activation2", "--arch", "add(x(x), x(x))"],
                                         "expected 2 unit(s)"),
    "train: activation unit 1 reading y": (["train", "--space", "activation", "--arch", "add(x(y), x(x))"],
                                           "can only read the input x"),
    "activation-eval: unknown unary op": (["activation-eval", "--baselines", "", "add(nope(x), x(x))"],
                                          "unknown unary op 'nope'"),
    "train: mobile with one stage": (["train", "--space", "mobile", "--arch", MOBILE_STAGE],
                                     "expected 7 '|'-separated stages"),
    "train: mobile unknown activation": (["train", "--space", "mobile", "--arch",
                                          MOBILE_ARCH.replace("-hs-", "-xx-", 1)], "unknown activation 'xx'"),
    "train: mobile kernel out of range": (["train", "--space", "mobile", "--arch",
                                           MOBILE_ARCH.replace("k5", "k4", 1)], "cannot be 4"),
    "train: mobile expansion too long": (["train", "--space", "mobile", "--arch",
                                          MOBILE_ARCH.replace("e6", "e" + HUGE, 1)], "malformed stage 1"),
    "export: mobile malformed stage": (["export", "--space", "mobile", "--arch", MOBILE_ARCH.replace("L3", "L", 1)],
                                       "malformed stage 1"),
    "train: DARTS not a genotype": (["train", "--space", "darts", "--arch", "normal=[('sep_conv_3x3', 0)]"],
                                    "malformed DARTS genotype"),
    "train: DARTS unknown op": (["train", "--space", "darts", "--arch",
                                 DARTS_ARCH.replace("skip_connect", "conv_9x9", 1)], "unknown DARTS op 'conv_9x9'"),
    "train: DARTS too few pairs": (["train", "--space", "darts", "--arch",
                                    DARTS_ARCH.replace("('sep_conv_3x3', 0), ", "", 1)], "needs 8 (op, input) pairs"),
    "train: DARTS bad concat": (["train", "--space", "darts", "--arch",
                                 DARTS_ARCH.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3]")],
                                "normal_concat must be [2, 3, 4, 5]"),
    "export: DARTS concat range of 10**12 nodes": (["export", "--space", "darts", "--arch", DARTS_ARCH.replace(
        "reduce_concat=[2, 3, 4, 5]", "reduce_concat=range(0, 1000000000000)")], "concat must be [2, 3, 4, 5]"),
    "evaluate: unknown space": (["evaluate", "--space", "nb301", RESNET_CELL], "unknown space 'nb301'"),
    "export: unknown format": (["export", "--arch", RESNET_CELL, "--formats", "tflite"], "unknown export format"),
    "export: unknown net option": (["export", "--arch", RESNET_CELL, "--set", "net.colour=1"],
                                   "unknown net option 'colour'"),
    "export: net option not a number": (["export", "--arch", RESNET_CELL, "--set", "net.channels=abc"],
                                        "cannot build the nb201 network"),
    "export: negative net option": (["export", "--arch", RESNET_CELL, "--set", "net.channels=-3"],
                                    "cannot build the nb201 network"),
    "export: --set without net.": (["export", "--arch", RESNET_CELL, "--set", "channels=8"], "net.<option>"),
    "export: missing checkpoint": (["export", "--checkpoint", "/nonexistent/best.pt"], "checkpoint not found"),
    "train: output folder with a line break": (["train", "--arch", RESNET_CELL, "--out", "/nonexistent/a\nb/m.pt"],
                                               "output folder does not exist"),
}


@pytest.mark.parametrize("case", ARCH_CASES, ids=list(ARCH_CASES))
def test_bad_arch_string(case: str, workdir: Path, capsys: pytest.CaptureFixture) -> None:
    argv, expected = ARCH_CASES[case]
    if argv[0] == "train" and "--out" not in argv:
        argv = argv + ["--out", str(workdir / "model.pt")]
    if argv[0] == "export":
        argv = argv + ["--out-dir", str(workdir / "exported")]
    check_contract(run_cli(argv), capsys, expected)
    assert folder_state(workdir) == {}  # no checkpoint, export folder or store


# == 4. --set values ======================================================================================
SET_CASES = {
    "missing '='": (["search", "--set", "strategy.population_size"], "--set needs key=value"),
    "empty key": (["search", "--set", "=5"], "--set needs key=value"),
    "unknown key (typo)": (["search", "--set", "max_trial=5"],
                           "unknown config key 'max_trial' (did you mean 'max_trials'?)"),
    "net option not a number": (["search", "--estimator", "train", "--dataset", "digits", "--max-trials", "1",
                                 "--fidelity", "0.2", "--set", "estimator.net.channels=abc"],
                                "net.channels='abc' cannot build a network of space 'nb201'"),
    "net option zero": (["search", "--estimator", "train", "--dataset", "digits", "--max-trials", "1",
                         "--fidelity", "0.2", "--set", "estimator.net.channels=0"],
                        "net.channels=0 cannot build a network of space 'nb201'"),
    "population_size not a number": (["search", "--max-trials", "3", "--set", "strategy.population_size=abc"],
                                     "population_size"),
    "unknown estimator option": (["search", "--max-trials", "3", "--set", "estimator.unknown=1"], "unknown"),
    "negative estimator epochs": (["search", "--estimator", "train", "--max-trials", "1", "--set",
                                   "estimator.epochs=-1"], "epochs"),
    "option nested under a number": (["search", "--max-trials", "3", "--set", "strategy.population_size.x=1"],
                                     "population_size"),
    "key of dots only": (["search", "--set", "..=1"], "unknown config key"),
    "component without option": (["search", "--set", "strategy.=1"], "unknown config key 'strategy.'"),
    "component set to a number": (["search", "--set", "strategy=5"], "must be a text value"),
    "seed set to a list": (["search", "--set", "seed=[1, 2]"], "seed must be an integer"),
    "max_trials set to infinity": (["search", "--set", "max_trials=.inf"], "max_trials must be an integer"),
    "unknown strategy in a mapping": (["search", "--set", "strategy={name: nope}"], "unknown strategy 'nope'"),
    "options mapping of a list": (["search", "--set", "strategy_options=[1]"], "unknown config key"),
}


@pytest.mark.parametrize("case", SET_CASES, ids=list(SET_CASES))
def test_bad_set_value(case: str, store: Path, capsys: pytest.CaptureFixture) -> None:
    argv, expected = SET_CASES[case]
    run_against_store(argv + ["--name", "fresh"], store, capsys, expected)


TRAIN_SET_CASES = {
    "train: --set without '='": (["--set", "lr"], "--set needs key=value"),
    "train: --set of a flag option": (["--set", "epochs=3"], "with its flag (--epochs)"),
    "train: --set with an empty key": (["--set", "=0.1"], "--set needs key=value"),
}


@pytest.mark.parametrize("case", TRAIN_SET_CASES, ids=list(TRAIN_SET_CASES))
def test_bad_train_set_value(case: str, workdir: Path, capsys: pytest.CaptureFixture) -> None:
    argv, expected = TRAIN_SET_CASES[case]
    check_contract(run_cli(["train", "--arch", RESNET_CELL, "--out", str(workdir / "m.pt")] + argv), capsys, expected)
    assert folder_state(workdir) == {}


# == 5. store files =======================================================================================
def make_empty(store: Path) -> Path:
    store.write_bytes(b"")
    return store


def make_truncated(store: Path) -> Path:
    data = store.read_bytes()
    store.write_bytes(data[:len(data) // 2])
    return store


def make_text(store: Path) -> Path:
    store.write_text("these are my lab notes, not a store\n" * 50)
    return store


def make_without_tables(store: Path) -> Path:
    store.unlink()
    sqlite3.connect(store).execute("VACUUM").connection.close()  # a valid SQLite file that holds no table
    return store


def make_newer_schema(store: Path) -> Path:
    db = sqlite3.connect(store)
    with db:
        db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    db.close()
    assert not store.with_name(store.name + "-wal").exists()
    return store


def make_folder(store: Path) -> Path:
    store.unlink()
    store.mkdir()
    return store


def make_missing_folder(store: Path) -> Path:
    return store.parent / "missing" / "runs.db"


def make_read_only(store: Path) -> Path:
    store.chmod(0o444)
    if os.access(store, os.W_OK):  # root (CAP_DAC_OVERRIDE) writes a 0o444 file all the same
        pytest.skip(f"running as root (euid {os.geteuid()}): a 0o444 store stays writable, no read-only case")
    return store


STORE_KINDS = {
    "empty file": (make_empty, "not an archsearch store"),
    "truncated SQLite": (make_truncated, "cannot use store"),
    "text file": (make_text, "not an archsearch store"),
    "SQLite without tables": (make_without_tables, "not an archsearch store"),
    "newer schema": (make_newer_schema, f"schema version {SCHEMA_VERSION + 1}"),
    "folder": (make_folder, "is a folder"),
    "missing folder": (make_missing_folder, "store folder does not exist"),
    "read-only file": (make_read_only, "read"),  # read-only, readonly
}
STORE_COMMANDS = {
    "show": ["show"],
    "show NAME": ["show", "kept"],
    "resume NAME": ["resume", "kept"],
    "search": ["search", "--max-trials", "2", "--name", "fresh", "--quiet"],
    "export NAME": ["export", "kept"],
}
NOT_AN_ERROR = {("empty file", "search"),  # search creates its store in an empty file
                ("read-only file", "show"), ("read-only file", "show NAME"), ("read-only file", "export NAME")}
STORE_CASES = [pytest.param(kind, command, id=f"{kind}-{command}")
               for kind in STORE_KINDS for command in STORE_COMMANDS if (kind, command) not in NOT_AN_ERROR]


@pytest.mark.parametrize(("kind", "command"), STORE_CASES)
def test_bad_store_file(kind: str, command: str, store: Path, workdir: Path,
                        capsys: pytest.CaptureFixture) -> None:
    make, expected = STORE_KINDS[kind]
    path = make(store)
    argv = STORE_COMMANDS[command] + ["--store", str(path)]
    if command.startswith("export"):
        argv += ["--out-dir", str(workdir / "exported")]
    before, files = store_state(path), folder_state(store.parent)
    check_contract(run_cli(argv), capsys, expected)
    gc.collect()  # as at the end of a process (see test_failed_open_closes_the_store_at_once)
    assert store_state(path) == before
    assert folder_state(store.parent) == files
    assert folder_state(workdir) == {}


def test_checkpoint_that_is_a_store(finished_store: Path, workdir: Path, capsys: pytest.CaptureFixture) -> None:
    before = store_state(finished_store)
    check_contract(run_cli(["export", "--checkpoint", str(finished_store), "--out-dir", str(workdir / "exported")]),
                   capsys, "not an archsearch checkpoint")
    assert store_state(finished_store) == before and folder_state(workdir) == {}


@pytest.mark.parametrize("command", ["show", "search"])
def test_store_in_a_folder_whose_name_has_a_line_break(command: str, tmp_path: Path, workdir: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "lab\nnotes" / "runs.db"
    check_contract(run_cli(STORE_COMMANDS[command] + ["--store", str(path)]), capsys, "store folder does not exist")
    assert not path.parent.exists() and folder_state(workdir) == {}


@pytest.mark.parametrize("command", ["show NAME", "search"])
@pytest.mark.parametrize("kind", ["newer schema", "truncated SQLite"])
def test_failed_open_closes_the_store_at_once(kind: str, command: str, store: Path, workdir: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    """The other store tests collect garbage before comparing (as a process exit would); this one does not."""
    make, expected = STORE_KINDS[kind]
    path = make(store)
    before = store_state(path)
    gc.collect()
    gc.disable()  # a sqlite3 connection sits in a reference cycle: only close() or the collector ends it
    try:
        check_contract(run_cli(STORE_COMMANDS[command] + ["--store", str(path)]), capsys, expected)
        assert store_state(path) == before
    finally:
        gc.enable()
        gc.collect()
