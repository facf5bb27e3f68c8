"""Helpers of the CLI tests: a valid NB201 arch string to break, ``main`` with argparse's exits as codes, the
bad-input contract (exit 2, one line, store bytes unchanged) and a store with two finished searches."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from archsearch.cli.main import main

SIBLINGS = ("", "-wal", "-shm")  # a SQLite store's files
RESNET_CELL = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"


def run_cli(argv: list[str]) -> int:
    """``main(argv)``'s exit code, also when argparse exits through ``SystemExit`` on its own errors."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


def store_state(path: Path) -> dict[str, str]:
    """sha256 of the store file and of its -wal/-shm siblings ('absent' when missing)."""
    state = {}
    for suffix in SIBLINGS:
        file = path.with_name(path.name + suffix)
        state[suffix or "store"] = hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else "absent"
    return state


def folder_state(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (lock side files aside) with its sha256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*")) if not p.name.endswith(".lock")}


def check_contract(code: int, capsys: pytest.CaptureFixture, expected: str = "") -> str:
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].strip(), err
    assert lines[0].startswith("archsearch"), err
    assert "Traceback" not in err and "Traceback" not in out, err + out
    assert expected.lower() in err.lower(), err
    return err


@pytest.fixture(scope="module")
def finished_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with two finished tiny searches on the NB201 table, 'kept' and the two-objective 'mo' (5 trials
    each); copied per test."""
    path = tmp_path_factory.mktemp("source") / "runs.db"
    assert main(["search", "--max-trials", "5", "--store", str(path), "--name", "kept", "--quiet"]) == 0
    assert main(["search", "--max-trials", "5", "--store", str(path), "--name", "mo", "--quiet", "--strategy", "nsga2",
                 "--objective", "valid_acc:max", "--objective", "train_seconds:min"]) == 0
    assert not path.with_name("runs.db-wal").exists()
    return path


@pytest.fixture
def store(finished_store: Path, tmp_path: Path) -> Path:
    path = tmp_path / "store" / "runs.db"
    path.parent.mkdir()
    shutil.copyfile(finished_store, path)
    return path
