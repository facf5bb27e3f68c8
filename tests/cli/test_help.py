"""``archsearch --help`` and every subcommand's ``--help`` exit 0 and end with an example of that command.

The subcommands are read from the parser (nested ones too, e.g. ``bench build``), so a new subcommand is
covered as soon as it is registered in ``cli/main.py``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from archsearch.cli.main import build_parser, main


def subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every subcommand path under ``parser`` (aliases skipped), depth first."""
    found: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, child in action.choices.items():
                if id(child) in seen:  # an alias of a subcommand already listed
                    continue
                seen.add(id(child))
                found.append((*prefix, name))
                found += subcommands(child, (*prefix, name))
    return found


COMMANDS = subcommands(build_parser())


def test_the_subcommands_are_discovered() -> None:
    names = {command[0] for command in COMMANDS}
    assert {"search", "resume", "show", "compare", "evaluate", "train", "export", "list"} <= names


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_ends_with_an_example(command: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: archsearch {' '.join(command)}")
    # the epilog: "example: archsearch <command> ..." (or "examples:"), after the last option
    match = re.search(rf"^examples?:\s+archsearch {re.escape(' '.join(command))}\b", text, flags=re.M)
    assert match, f"'archsearch {' '.join(command)} --help' has no 'example: archsearch {' '.join(command)} ...':\n{text}"
    assert "  -h, --help" in text[:match.start()], "the example comes after the options"


def test_top_level_help_runs_as_a_program() -> None:
    done = subprocess.run([sys.executable, "-m", "archsearch.cli.main", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^example: archsearch search ", done.stdout, flags=re.M)
    for command in {c[0] for c in COMMANDS}:
        assert command in done.stdout
