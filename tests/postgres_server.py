"""A PostgreSQL server for the tests of the PostgreSQL store (issue 27), and a fresh database per test.

``$ARCHSEARCH_TEST_POSTGRES`` (a ``postgresql://`` URL of a superuser, e.g. the server ``.ci/run`` starts) names
a server to use. Otherwise the first test that asks starts a throwaway one: ``initdb`` into a temporary folder,
``pg_ctl start`` listening on a unix socket in that folder only (no TCP port), ``fsync=off``; it is stopped and
removed when the test process ends. ``initdb`` refuses to run as root, so as root the server runs as the user
``postgres`` (else ``nobody``) through ``runuser``. Where no server can start, ``new_database`` skips the test and
says why.
"""

from __future__ import annotations

import atexit
import glob
import importlib.util
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ENV = "ARCHSEARCH_TEST_POSTGRES"
_state: dict[str, str] = {}  # "url" (admin URL) or "skip" (the reason no server is there)
_counter = itertools.count()


def _binaries() -> Path | None:
    """The folder of initdb/pg_ctl: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(folders[-1]).parent if folders else None


def _as_user() -> tuple[list[str], str | None]:
    """The command prefix that runs a server command as a non-root user, and that user (None: this one)."""
    if os.geteuid() != 0:
        return [], None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root without runuser: initdb refuses to run as root")
    for user in ("postgres", "nobody"):
        if subprocess.run(["id", "-u", user], capture_output=True).returncode == 0:
            return [runuser, "-u", user, "--"], user
    raise RuntimeError("running as root and no postgres or nobody user to run the server as")


TEST_SETTINGS = "-c fsync=off -c full_page_writes=off"  # speed over durability: the server is thrown away


def start_server(settings: str = TEST_SETTINGS) -> str:
    """Start a throwaway server with the extra ``settings`` (postgres ``-c`` options), stopped when this process
    ends; its admin URL: a unix socket in its own folder (``settings`` may add TCP: ``-c listen_addresses=127.0.0.1
    -c port=N``)."""
    binaries = _binaries()
    if binaries is None:
        raise RuntimeError(f"no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql; "
                           f"install Debian's postgresql package or set ${ENV}")
    prefix, user = _as_user()
    folder = Path(tempfile.mkdtemp(prefix="archsearch-pg-"))
    if user is not None:
        shutil.chown(folder, user)
    data, log = folder / "data", folder / "server.log"

    def run(*command: str) -> None:
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"{Path(command[0]).name} failed: {tail[0]}")

    run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "archsearch", "-E", "UTF8", "--no-sync")
    options = f"-k {folder} -c listen_addresses='' -c max_connections=200 {settings}"
    run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60", "start")

    def stop() -> None:
        subprocess.run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql://archsearch@/postgres?host={folder}"


def server_url() -> str:
    """The admin URL of the test server (started on first use); skips the calling test where none can run."""
    if "url" not in _state and "skip" not in _state:
        if importlib.util.find_spec("psycopg") is None:
            _state["skip"] = "psycopg is not installed (pip install -e '.[postgres]')"
        else:
            try:
                _state["url"] = os.environ.get(ENV) or start_server()
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                _state["skip"] = f"no PostgreSQL server could start: {exc}"
    if "skip" in _state:
        pytest.skip(_state["skip"])
    return _state["url"]


def with_database(url: str, database: str) -> str:
    """``url`` naming the database ``database`` instead."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def new_database() -> str:
    """The URL of a new, empty database on the test server (one per test: tests stay independent)."""
    import psycopg

    admin = server_url()
    name = f"archsearch_test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return with_database(admin, name)
