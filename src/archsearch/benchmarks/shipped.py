"""Tables archsearch built itself and ships (``archsearch bench build``, then ``perf/nb201_mnist5k_table.py``).

``nb201-mnist5k``: NAS-Bench-201 cells (Dong & Yang, ICLR 2020) at a CPU size, the network with 8 stem
channels and one cell per stage (``net.channels=8``, ``net.cells_per_stage=1``), trained from scratch on the
embedded 5,000-image MNIST subset (``mnist5k``: 4,000 train / 500 valid / 500 test) for 4 epochs with the train
estimator's recipe (SGD Nesterov, cosine lr), one seed per arch (the trial seed from study seed 0 and the arch),
one thread per trial. A uniform sample of the 15,625 cells (``bench build --sample``), so it is a partial
table with ``missing: restrict``: a search of it asks only its archs (:mod:`archsearch.benchmarks.table_space`).
Columns: valid/test accuracy and loss, learning curves, params, FLOPs, measured latency, train seconds. The
rebuild command and what it cost are in ``perf/README.md`` ("Issue 22").
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from archsearch.benchmarks.table import GenericTable, load_table
from archsearch.core.errors import UserError

NB201_MNIST5K_FILE = "nb201_mnist5k.parquet"
NB201_MNIST5K_NET = {"channels": 8, "cells_per_stage": 1}  # the network its rows were trained in (C=8, N=1)
NB201_MNIST5K_EPOCHS = 4.0


def shipped_path(file: str) -> Path:
    """The path of a table shipped in ``archsearch/benchmarks/data`` (UserError when the install lacks it)."""
    path = Path(str(resources.files("archsearch.benchmarks").joinpath("data", file)))
    if not path.is_file():
        raise UserError(f"the table {file} is missing from the installed package; reinstall archsearch "
                        f"(or rebuild it: python perf/nb201_mnist5k_table.py in a checkout)")
    return path


def load_nb201_mnist5k() -> GenericTable:
    """The ``nb201-mnist5k`` table (loaded once per process and file content)."""
    return load_table(shipped_path(NB201_MNIST5K_FILE))
