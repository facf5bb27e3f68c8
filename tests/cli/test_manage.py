"""Managing experiments from the command line: ``rm``, ``mv``, ``cp`` (a copy resumes in its new store to the
uninterrupted history), ``resume`` with a larger budget, and the report's reproduce command in the same store.
Every mistake is one line, exit code 2, and leaves the stores as they were."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from archsearch.cli.main import main
from archsearch.cli.reproduce import fresh_name, reproduce_argv
from archsearch.store.sqlite import SQLiteStore
from tests.cli.conftest import check_contract, folder_state, store_state

SEARCH = ["search", "--strategy", "regularized-evolution", "--seed", "4", "--quiet"]
# ``store``: a copy of a store holding the finished 5-trial searches 'kept' and 'mo'


def history(path: Path, name: str) -> list[tuple]:
    opened = SQLiteStore(path, create=False, write=False)
    try:
        return [(t.number, t.arch, t.fidelity, t.metrics, t.cost, t.status)
                for t in opened.trials(opened.get_experiment(name).id)]
    finally:
        opened.close()


def names(path: Path) -> list[str]:
    opened = SQLiteStore(path, create=False, write=False)
    try:
        return [e.name for e in opened.experiments()]
    finally:
        opened.close()


def test_rm_mv_cp(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    kept = history(store, "kept")
    assert main(["mv", "kept", "first", "--store", str(store)]) == 0
    assert names(store) == ["first", "mo"] and history(store, "first") == kept
    assert main(["cp", "first", "--name", "twin", "--store", str(store)]) == 0
    other = tmp_path / "other.db"
    assert main(["cp", "first", "--to", str(other), "--store", str(store)]) == 0
    assert names(other) == ["first"] and history(other, "first") == kept
    assert main(["rm", "first", "--store", str(store)]) == 0
    assert names(store) == ["mo", "twin"] and history(store, "twin") == kept
    out = capsys.readouterr().out
    assert "renamed 'kept' to 'first'" in out and "removed 'first' (5 trials)" in out
    assert f"archsearch resume first --store {other}" in out
    assert [p.name for p in store.parent.iterdir() if p.name.endswith(".lock")] == []


def test_a_copy_of_a_killed_search_resumes_in_its_new_store_to_the_uninterrupted_history(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archsearch.study import Study

    reference = tmp_path / "reference.db"
    assert main([*SEARCH, "--max-trials", "30", "--store", str(reference), "--name", "run"]) == 0
    killed = tmp_path / "killed.db"
    real_run = Study.run

    def run_and_stop(study: Study, **callbacks: object) -> Study:
        def stop(progress: object) -> None:
            if len(study.trials) == 13:
                raise KeyboardInterrupt
        return real_run(study, on_trial=stop)

    monkeypatch.setattr(Study, "run", run_and_stop)
    assert main([*SEARCH, "--max-trials", "30", "--store", str(killed), "--name", "run"]) == 130
    monkeypatch.setattr(Study, "run", real_run)
    archive = tmp_path / "archive.db"
    assert main(["cp", "run", "--to", str(archive), "--name", "moved", "--store", str(killed)]) == 0
    assert main(["resume", "moved", "--store", str(archive), "--quiet"]) == 0
    assert history(archive, "moved") == history(reference, "run")
    assert len(history(killed, "run")) == 13  # the original is left as it was


def test_resume_raises_the_budget_of_a_finished_search(store: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference.db"
    assert main(["search", "--max-trials", "10", "--store", str(reference), "--name", "kept", "--quiet"]) == 0
    assert main(["resume", "kept", "--max-trials", "10", "--store", str(store), "--quiet"]) == 0
    assert history(store, "kept") == history(reference, "kept")


def test_resume_of_a_finished_search_says_so_at_once(store: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture) -> None:
    def no_build(*args: object) -> None:
        raise AssertionError("the components were built")

    monkeypatch.setattr("archsearch.study.study.build_components", no_build)
    before, files = store_state(store), folder_state(store.parent)
    capsys.readouterr()
    assert main(["resume", "kept", "--store", str(store)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and len(out.splitlines()) == 1, out
    assert out.startswith("finished 'kept': 5 trials, ") and out.rstrip().endswith(
        ": its budget is spent (5/5 trials); give --max-trials N > 5 to extend it")
    gc.collect()
    assert store_state(store) == before and folder_state(store.parent) == files


CASES = {
    "rm a missing experiment": (["rm", "ghost"], "no experiment named 'ghost'"),
    "mv a missing experiment": (["mv", "ghost", "new"], "no experiment named 'ghost'"),
    "mv onto a taken name": (["mv", "kept", "mo"], "experiment 'mo' already exists"),
    "mv to an empty name": (["mv", "kept", ""], "non-empty"),
    "cp a missing experiment": (["cp", "ghost", "--name", "x"], "no experiment named 'ghost'"),
    "cp onto itself": (["cp", "kept"], "needs another store (--to OTHER.db) or another name"),
    "cp onto a taken name": (["cp", "kept", "--name", "mo"], "experiment 'mo' already exists"),
    "resume below the trials done": (["resume", "kept", "--max-trials", "3"],
                                     "--max-trials 3 is below the 5 trials 'kept' has done"),
    "resume below the seconds spent": (["resume", "kept", "--budget-seconds", "100"],
                                       "--budget-seconds 100 is below the"),
    "resume with a zero budget": (["resume", "kept", "--max-trials", "0"], "max_trials must be at least 1"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_mistake_is_one_line_and_changes_nothing(case: str, store: Path, capsys: pytest.CaptureFixture) -> None:
    argv, expected = CASES[case]
    before, files = store_state(store), folder_state(store.parent)
    capsys.readouterr()
    check_contract(main([*argv, "--store", str(store)]), capsys, expected)
    gc.collect()
    assert store_state(store) == before and folder_state(store.parent) == files


@pytest.mark.parametrize("command", [["rm", "kept"], ["mv", "kept", "new"]], ids=["rm", "mv"])
def test_an_experiment_that_a_process_runs_is_neither_removed_nor_renamed(command: list[str], store: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    runner = SQLiteStore(store, create=False)  # another process running 'a': a lock on its own open file
    runner.lock_experiment(runner.get_experiment("kept").id, "kept")
    before, files = store_state(store), folder_state(store.parent)
    capsys.readouterr()
    check_contract(main([*command, "--store", str(store)]), capsys, "'kept' is being run by process")
    assert store_state(store) == before and folder_state(store.parent) == files
    runner.close()
    assert main([*command, "--store", str(store)]) == 0


def test_cp_of_a_missing_experiment_creates_no_store(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "new.db"
    check_contract(main(["cp", "ghost", "--to", str(target), "--store", str(store)]), capsys, "ghost")
    assert not target.exists() and not target.with_name("new.db-wal").exists()


def test_cp_into_a_file_that_is_no_store_leaves_it_alone(store: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("my lab notes\n" * 20)
    before = store_state(notes)
    check_contract(main(["cp", "kept", "--to", str(notes), "--store", str(store)]), capsys, "not an archsearch store")
    assert store_state(notes) == before


def test_cp_from_a_read_only_store(store: Path, tmp_path: Path) -> None:
    store.chmod(0o444)
    try:
        target = tmp_path / "copy.db"
        assert main(["cp", "kept", "--to", str(target), "--store", str(store)]) == 0
        assert history(target, "kept") == history(store, "kept")
    finally:
        store.chmod(0o644)


def test_the_reproduce_command_runs_in_the_store_it_came_from(store: Path, capsys: pytest.CaptureFixture) -> None:
    stored = SQLiteStore(store, create=False, write=False)
    config = stored.get_experiment("kept").config
    stored.close()
    argv = reproduce_argv(config, str(store))
    assert argv[argv.index("--name") + 1] == "kept-repro"
    assert main([*argv, "--quiet"]) == 0
    assert history(store, "kept-repro") == history(store, "kept")
    again = reproduce_argv(config, str(store))
    assert again[again.index("--name") + 1] == "kept-repro2"
    assert main([*again, "--quiet"]) == 0
    assert names(store) == ["kept", "mo", "kept-repro", "kept-repro2"]


def test_fresh_name() -> None:
    assert fresh_name("x", set()) == "x"
    assert fresh_name("x", {"x"}) == "x-repro"
    assert fresh_name("x", {"x", "x-repro", "x-repro2"}) == "x-repro3"
