"""YAML/JSON documents: a syntax error is one line with ``file:line:column`` and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsearch.core.documents import read_document
from archsearch.core.errors import UserError


@pytest.mark.parametrize("text, place, problem", [
    ("strategy: random\nobjective: {a: 1\n", ":3:1", "expected ',' or '}', but got '<stream end>' "
                                                     "(while parsing a flow mapping started at 2:12)"),
    ("strategy: [random\nseed: 1\n", ":2:5", "expected ',' or ']', but got ':'"),
    ('{"strategy": "random", "max_trials": 3', ":1:39", "expected ',' or '}'"),
    ("a: b: c\n", ":1:5", "mapping values are not allowed here"),
    ("a: 1\nx: \x07\n", ":2:4", "unacceptable character #x0007"),
])
def test_syntax_errors_name_line_and_column(tmp_path: Path, text: str, place: str, problem: str) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as caught:
        read_document(path, "config file")
    message = str(caught.value)
    assert message.startswith(f"config file {path}{place} is not valid YAML/JSON: {problem}"), message
    assert "\n" not in message


def test_a_valid_document_reads(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text("strategy: random\nseed: 1\n")
    assert read_document(path, "config file") == {"strategy": "random", "seed": 1}
