"""Shared fixtures and the helpers several test modules use: a test-only space with Integer dims and a constraint,
a synthetic objective, the strategies of the contract suite, a study stopped midway, a search's ``show --json``
document, a store's committed trials, a fake CIFAR-10 batch folder.

The suite runs its networks on one thread (``ARCHSEARCH_THREADS=1`` unless the caller set a count), in this
process and in every process it starts: the tests' networks are tiny, one thread is as fast for them on an idle
machine, and no thread team stalls when other jobs share the machine. The thread policy's own tests clear it.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys

os.environ.setdefault("ARCHSEARCH_THREADS", "1")

from archsearch.core.threads import configure  # noqa: E402

configure()
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Dim, Integer
from archsearch.core.registry import SPACES, STRATEGIES
from archsearch.core.result import Result
from archsearch.core.space import SearchSpace


class MixedSpace(SearchSpace):
    """Categorical and Integer dims (one wide enough for the ordinal encoding) and a constraint."""

    name = "mixed-test"

    def dims(self) -> dict[str, Dim]:
        return {"op": Categorical(["conv", "pool", "skip"]), "depth": Integer(1, 6),
                "width": Integer(8, 64), "flag": Categorical([True, False])}

    def is_valid(self, arch: Any) -> bool:
        # constraint: a 'skip' layer cannot be deeper than 4
        return super().is_valid(arch) and not (arch["op"] == "skip" and arch["depth"] > 4)


EXAMPLE_SPACES = Path(__file__).resolve().parents[1] / "examples" / "spaces"
SPACE_OPTIONS = {"declared": ("chain.yaml", "cell.yaml")}  # spaces made from options: the example files


def all_spaces() -> list[SearchSpace]:
    from archsearch.spaces import create_space
    from archsearch.spaces.declared import load_space_file

    spaces = []
    for name in SPACES.names():
        for file in SPACE_OPTIONS.get(name, (None,)):
            spaces.append(create_space(name, load_space_file(EXAMPLE_SPACES / file) if file else None))
    return spaces + [MixedSpace()]


def space_id(space: SearchSpace) -> str:
    return f"{space.name}-{space.kind}" if space.name == "declared" else space.name  # type: ignore[attr-defined]


def synthetic_result(space: SearchSpace, arch: Arch, fidelity: float | None = None) -> Result:
    """A deterministic fake evaluation: valid_acc grows with the encoded index vector (and the fidelity)."""
    fidelity = 1.0 if fidelity is None else fidelity
    score = float(space.encode(arch, "index").sum()) + fidelity / 10
    return Result(arch, {"valid_acc": score, "final_test_acc": score / 2}, cost_seconds=fidelity, fidelity=fidelity)


def json_round_trip(state: dict) -> dict:
    return json.loads(json.dumps(state))


# -- strategies ------------------------------------------------------------------------------------------
# Tests use tiny predictors (timm-style: one test body, small settings); quality is measured in perf/.
FAST_OPTIONS: dict[str, dict] = {"bananas": {"epochs": 15, "members": 3, "candidates": 30},
                                  "guided-local-search": {"restart_pool": 20, "epochs": 15, "members": 3}}


def ask_tell_strategies() -> list[str]:
    """The registered strategies that ask and tell (one-shot ones hand over the archs their supernet search
    derived: their own contract suite is tests/strategies/oneshot/test_oneshot_contract.py)."""
    return [name for name in STRATEGIES.names() if "supernet" not in STRATEGIES.load(name).requires]


# -- studies, the CLI and stores -------------------------------------------------------------------------
def interrupt_after(study: Any, trials: int, error: type[BaseException] = KeyboardInterrupt) -> None:
    """Run ``study`` and stop it once ``trials`` trials are done, by raising ``error`` in its progress callback
    (a Ctrl-C; or, with an error nothing catches, a kill: nothing after it runs)."""
    def stop(progress: Any) -> None:
        if progress.trials == trials:
            raise error

    with pytest.raises(error):
        study.run(on_trial=stop)


def shown(name: str, store: str | Path, capsys: pytest.CaptureFixture) -> dict:
    """``archsearch show NAME --store STORE --json`` (it must succeed), parsed; what was printed before is dropped."""
    from archsearch.cli.main import main

    capsys.readouterr()
    assert main(["show", name, "--store", str(store), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def search_and_show(store: str | Path, name: str, *options: str, capsys: pytest.CaptureFixture) -> dict:
    """``archsearch search OPTIONS --store STORE --name NAME --quiet`` (it must succeed), then its ``show --json``."""
    from archsearch.cli.main import main

    assert main(["search", *options, "--store", str(store), "--name", name, "--quiet"]) == 0
    return shown(name, store, capsys)


def archsearch(*argv: str) -> list[str]:
    """The command line of ``archsearch ARGV`` in a subprocess of this Python."""
    return [sys.executable, "-m", "archsearch.cli.main", *argv]


def committed_trials(path: Path) -> int:
    """How many trials a store holds (read-only, so a search writing it is not disturbed); 0 before it exists."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


# -- data ------------------------------------------------------------------------------------------------
def fake_cifar_batch(count: int, seed: int) -> dict:
    """A CIFAR-10 python batch of ``count`` random images, labels cycling through the ten classes."""
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"fake", b"labels": [int(v) for v in np.arange(count) % 10],
            b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8)}


def write_cifar(folder: Path, per_batch: int = 20, test: int = 10) -> Path:
    """A tiny CIFAR-10 batch folder (``data_batch_1..5``, ``test_batch``) in ``folder``."""
    from archsearch.data import cifar

    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate((*cifar.TRAIN_BATCHES, cifar.TEST_BATCH)):
        batch = fake_cifar_batch(test if name == cifar.TEST_BATCH else per_batch, i)
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2 + i % 3))
    return folder


@pytest.fixture(params=all_spaces(), ids=space_id)
def space(request: pytest.FixtureRequest) -> SearchSpace:
    return request.param


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


# -- a headless browser (Debian's chromium in CI) for the report tests ----------------------------------------
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# the flags Chromium needs on a closed network as root (no sandbox, no background connections)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--disable-dev-shm-usage")


def find_browser() -> str | None:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def screenshot(browser: str, page: Path, out: Path, profile: Path, size: str = "1280,2400") -> None:
    command = [browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
               f"--screenshot={out}", page.resolve().as_uri()]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120,
                               env={**os.environ, "HOME": str(profile)})
    assert out.exists(), f"no screenshot; Chromium said: {completed.stderr[-2000:]}"
