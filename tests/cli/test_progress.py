"""Progress: a bar with ETA on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import io
import math

from archsearch.cli import progress as progress_module
from archsearch.cli.progress import ProgressReporter
from archsearch.study import Progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def steps(n: int) -> list[Progress]:
    return [Progress(i, 100.0 * i, 0, 80.0 + i if i else math.nan, 1000.0, None) for i in range(1, n + 1)]


def test_terminal_gets_a_bar_with_eta_and_best() -> None:
    stream = FakeTerminal()
    reporter = ProgressReporter("demo", stream=stream)
    for p in steps(5):
        reporter(p)
    reporter.close()
    text = stream.getvalue()
    assert "demo" in text and "trials=5" in text and "best=85.000" in text and "<" in text  # elapsed<remaining


def test_plain_stream_gets_periodic_lines(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(progress_module, "PLAIN_INTERVAL_SECONDS", 0.0)
    stream = io.StringIO()
    reporter = ProgressReporter("demo", stream=stream)
    for p in steps(3):
        reporter(p)
    reporter.close(steps(3)[-1])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and "\r" not in stream.getvalue()
    assert lines[-1].startswith("[demo] done: trials 3") and "cost 300/1,000 s" in lines[-1]


def test_disabled_reporter_is_silent() -> None:
    stream = FakeTerminal()
    reporter = ProgressReporter("demo", stream=stream, enabled=False)
    reporter(steps(1)[0])
    reporter.close(steps(1)[0])
    assert stream.getvalue() == ""
