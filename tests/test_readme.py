"""README's two set-up commands: CI runs exactly the test command, and the torch pin is in place."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [block.strip() for block in blocks[:2]]


def test_ci_runs_the_readme_test_command() -> None:
    install_and_search, install_and_test = readme_commands()
    assert install_and_search.endswith("archsearch search --config examples/mnist5k-search.yaml")
    assert (ROOT / "examples" / "mnist5k-search.yaml").is_file()
    assert "pytest" in install_and_test
    assert install_and_test in (ROOT / ".ci" / "run").read_text()


def test_torch_is_pinned_to_the_cpu_wheel() -> None:
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text().split()
    for command in readme_commands():
        assert "-c constraints.txt" in command
