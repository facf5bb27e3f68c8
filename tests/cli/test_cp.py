"""``archsearch cp NAME --from A --to B`` between SQLite and PostgreSQL (issue 27): a study copied to PostgreSQL and
back shows the same (``show --json``) and resumes there to the history of an uninterrupted run; a mistake is one
line and exit 2, with nothing changed. The PostgreSQL cases run on a server of ``tests/postgres_server.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsearch.cli.main import main
from tests.cli.conftest import check_contract, store_state
from tests.conftest import shown
from tests.postgres_server import new_database

SEARCH = ["search", "--strategy", "regularized-evolution", "--seed", "5", "--quiet"]


def test_a_study_copied_to_postgresql_and_back_is_the_same(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    url, first, back = new_database(), tmp_path / "first.db", tmp_path / "back.db"
    assert main([*SEARCH, "--max-trials", "30", "--name", "demo", "--store", str(first)]) == 0
    assert main(["cp", "demo", "--from", str(first), "--to", url]) == 0
    assert main(["cp", "demo", "--from", url, "--to", str(back)]) == 0
    assert main(["cp", "demo", "--from", url, "--to", url, "--name", "twin"]) == 0
    original = shown("demo", first, capsys)
    assert shown("demo", url, capsys) == original
    assert shown("demo", back, capsys) == original
    assert {**shown("twin", url, capsys), "name": "demo", "config": original["config"]} == original
    assert main(["resume", "demo", "--store", url, "--max-trials", "60", "--quiet"]) == 0
    assert main([*SEARCH, "--max-trials", "60", "--name", "demo", "--store", str(tmp_path / "ref.db")]) == 0
    assert shown("demo", url, capsys)["trials"] == shown("demo", tmp_path / "ref.db", capsys)["trials"]


def test_cp_mistakes_are_one_line_and_change_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    url, path = new_database(), tmp_path / "runs.db"
    assert main([*SEARCH, "--max-trials", "5", "--name", "demo", "--store", str(path)]) == 0
    before = store_state(path)
    check_contract(main(["cp", "demo", "--from", str(path), "--to", "postgresql://me@127.0.0.1:1/nas"]), capsys,
                   "cannot connect to the PostgreSQL store")
    check_contract(main(["cp", "demo", "--from", str(path), "--to", "mysql://me@db/nas"]), capsys,
                   "unknown store URL scheme")
    check_contract(main(["cp", "ghost", "--from", str(path), "--to", url]), capsys, "no experiment named 'ghost'")
    check_contract(main(["cp", "demo", "--from", url, "--to", str(tmp_path / "x.db")]), capsys, "no archsearch store")
    assert main(["cp", "demo", "--from", str(path), "--to", url]) == 0
    check_contract(main(["cp", "demo", "--from", str(path), "--to", url]), capsys, "already exists")
    check_contract(main(["cp", "demo", "--from", url, "--to", url]), capsys, "needs another store")
    assert store_state(path) == before and not (tmp_path / "x.db").exists()
