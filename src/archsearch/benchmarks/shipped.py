"""Tables archsearch built itself and ships (``archsearch bench build``, then ``perf/nb201_mnist5k_table.py``).

``nb201-mnist5k``: NAS-Bench-201 cells (Dong & Yang, ICLR 2020) at a CPU size, the network with 8 stem
channels and one cell per stage (``net.channels=8``, ``net.cells_per_stage=1``), trained from scratch on the
embedded 5,000-image MNIST subset (``mnist5k``: 4,000 train / 500 valid / 500 test) for 4 epochs with the train
estimator's recipe (SGD Nesterov, cosine lr), one seed per arch (the trial seed from study seed 0 and the arch),
one thread per trial. A uniform sample of the 15,625 cells (``bench build --sample``), so it is a partial
table with ``missing: restrict``: a search of it asks only its archs (:mod:`archsearch.benchmarks.table_space`).
Columns: valid/test accuracy and loss, learning curves, params, FLOPs, measured latency, train seconds. The
rebuild command and what it cost are in ``perf/README.md`` ("Issue 22").

``activation-mnist1d``: every one of the 6,561 one-unit activation functions ``b(u1(x), u2(x))`` of Ramachandran,
Zoph & Le ("Searching for Activation Functions", 2017) trained in the activation estimator's fixed child (MNIST-1D,
the MLP 40-100-100-10 with BatchNorm and the candidate at both activation sites) for 3 epochs with two seeds
(common random numbers within a seed); the search objective is the mean validation accuracy over the seeds, and a
candidate the numerical guard rejects is a row with its ``failure`` (a search's query of it fails, as the real
evaluation does). Rebuild: ``perf/activation_table.py`` ("Issue 23" in ``perf/README.md``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from archsearch.benchmarks.table import GenericTable, load_table
from archsearch.core.errors import UserError

NB201_MNIST5K_FILE = "nb201_mnist5k.parquet"
NB201_MNIST5K_NET = {"channels": 8, "cells_per_stage": 1}  # the network its rows were trained in (C=8, N=1)
NB201_MNIST5K_EPOCHS = 4.0
ACTIVATION_MNIST1D_FILE = "activation_mnist1d.parquet"
ACTIVATION_MNIST1D_EPOCHS = 3.0


def shipped_path(file: str) -> Path:
    """The path of a table shipped in ``archsearch/benchmarks/data`` (UserError when the install lacks it)."""
    path = Path(str(resources.files("archsearch.benchmarks").joinpath("data", file)))
    if not path.is_file():
        raise UserError(f"the table {file} is missing from the installed package; reinstall archsearch "
                        f"(or rebuild it with its script in perf/ in a checkout)")
    return path


def load_nb201_mnist5k() -> GenericTable:
    """The ``nb201-mnist5k`` table (loaded once per process and file content)."""
    return load_table(shipped_path(NB201_MNIST5K_FILE))


def load_activation_mnist1d() -> GenericTable:
    """The ``activation-mnist1d`` table (loaded once per process and file content)."""
    return load_table(shipped_path(ACTIVATION_MNIST1D_FILE))
