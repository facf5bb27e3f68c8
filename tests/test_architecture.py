"""The layer rules of .importlinter hold: core < nn < spaces < strategies, estimators, benchmarks, data, fewshot,
metrics < store/execution < study < report < cli, and strategies import nothing of archsearch but core; and no two
parts of archsearch import each other (no cycle, also within a layer)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold() -> None:
    pytest.importorskip("importlinter", reason="import-linter comes with the test extra: pip install -e '.[test]'")
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter"), "--no-cache"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


PARTS = ("core", "nn", "spaces", "strategies", "estimators", "benchmarks", "data", "fewshot", "metrics", "store",
         "execution", "study", "config", "compare", "meta_search", "export", "scaling",
         "bench_build", "activation_study", "report", "cli", "__main__")


def test_no_two_parts_import_each_other() -> None:
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (the test extra)")
    graph = grimp.build_graph("archsearch")
    parts = [f"archsearch.{name}" for name in PARTS]
    assert set(graph.find_children("archsearch")) <= set(parts), "a new part of archsearch: add it to PARTS"
    cycles = [(a, b) for i, a in enumerate(parts) for b in parts[i + 1:]
              if graph.chain_exists(importer=a, imported=b, as_packages=True)
              and graph.chain_exists(importer=b, imported=a, as_packages=True)]
    assert cycles == []


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
SOURCES = sorted((ROOT / "src" / "archsearch").rglob("*.py"))


def test_no_module_over_400_lines() -> None:
    long = {str(path.relative_to(ROOT)): lines for path in SOURCES
            if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_no_function_over_60_lines() -> None:
    import ast

    long = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = lines
    assert long == {}
