"""Every script in ``examples/`` runs with ``--tiny`` (a few seconds each) and prints what it promises.

The scripts are found by glob, so a new example is covered as soon as it exists; each must have a module
docstring and a ``--tiny`` flag. Each runs in a subprocess (its own interpreter, as a user would run it)
in an empty working directory, so the files it writes (stores) land there.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
TIMEOUT_SECONDS = 120

# what each known example prints (a regex searched in stdout); any other example must print something
EXPECTED = {
    "01_tabular_search.py": r"regularized-evolution: final test accuracy 9\d\.\d\d .*\n\s+best arch: \|",
    "02_train_search.py": r"trial 3/3.*\n(.|\n)*best arch: \|(.|\n)*best: valid \d+\.\d\d%, test",
    "03_multi_objective.py": r"40 trials, valid_acc:max, params:min\nPareto front: \d+ archs, hypervolume \d",
    "04_custom_space.py": r"tiny-conv: 4 dims, 54 combinations(.|\n)*best: depth=\d, width=\d+, kernel=\d",
    "05_custom_strategy.py": r"mutate-the-best: final test accuracy 9\d\.\d\d",
    "06_oneshot_darts.py": r"epoch 0: (.|\n)*derived arch trained from scratch: \|",
    "07_few_shot.py": r"meta-test 5-way 1-shot on 10 episodes: accuracy \d+\.\d\d% \+- ",
    "08_resume.py": r"interrupted after 8 trials(.|\n)*resuming after 8 trials(.|\n)*finished: 20 trials"
                    r"(.|\n)*same history as an uninterrupted run: True",
}


def test_the_examples_are_found() -> None:
    names = {path.name for path in EXAMPLES}
    assert set(EXPECTED) <= names, f"missing examples: {sorted(set(EXPECTED) - names)}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_runs_tiny(path: Path, tmp_path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert ast.get_docstring(ast.parse(source)), f"{path.name} needs a module docstring"
    assert "--tiny" in source, f"{path.name} needs a --tiny flag"
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, str(path), "--tiny"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT_SECONDS)
    assert done.returncode == 0, f"{path.name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    assert "Traceback" not in done.stderr
    pattern = EXPECTED.get(path.name, r"\S")
    assert re.search(pattern, done.stdout), f"{path.name} printed:\n{done.stdout[-3000:]}"
