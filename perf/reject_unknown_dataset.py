"""How fast a bad name is refused (issue 21, item 7: an unknown dataset took 7.9 s, nothing heavy may load first).

Runs ``archsearch search --estimator train --dataset nosuch --max-trials 1`` (and an unknown strategy, and a
misspelt config key) ``--repeats`` times each in fresh processes and reports the median wall time from the
start of the process to its exit (code 2 and one line on stderr checked), and whether torch was imported.

    .venv/bin/python perf/reject_unknown_dataset.py --repeats 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = {
    "unknown dataset": ["search", "--estimator", "train", "--dataset", "nosuch", "--max-trials", "1"],
    "unknown strategy": ["search", "--strategy", "evolution", "--max-trials", "1"],
    "misspelt config key": ["search", "--set", "max_trails=3"],
}
PROBE = ("import sys, runpy; sys.argv = ['archsearch', *sys.argv[1:]]\n"
         "try:\n    from archsearch.cli.main import main; code = main(sys.argv[1:])\n"
         "finally:\n    print('torch' in sys.modules, file=sys.stderr)\nsys.exit(code)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for case, argv in CASES.items():
            seconds, torch_loaded, message = [], set(), ""
            for _ in range(args.repeats):
                started = time.perf_counter()
                run = subprocess.run([sys.executable, "-c", PROBE, *argv, "--store", str(Path(folder) / "r.db")],
                                     capture_output=True, text=True, timeout=120)
                seconds.append(time.perf_counter() - started)
                lines = run.stderr.strip().splitlines()
                assert run.returncode == 2 and len(lines) == 2, run.stderr
                message, torch_loaded = lines[0], torch_loaded | {lines[1] == "True"}
            results[case] = {"median_seconds": statistics.median(seconds), "torch_imported": any(torch_loaded),
                             "message": message}
            print(case, json.dumps(results[case]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
