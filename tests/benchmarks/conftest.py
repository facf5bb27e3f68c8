"""Helpers of the benchmark tests: a synthetic generic table of a declared 2 x 3 chain space."""

from __future__ import annotations

import numpy as np

from archsearch.benchmarks.table_meta import TableMeta
from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Integer

# a declared chain space of 2 x 3 archs (its definition travels in the table's metadata)
CHAIN = {"name": "t2x3", "kind": "chain", "stem_channels": 4,
         "dims": {"block1": ["skip_connect", "nor_conv_3x3"], "depth": {"low": 1, "high": 3}},
         "layers": ["block1", {"op": "nor_conv_3x3", "repeat": "depth"}]}
FIDELITIES = (1.0, 4.0)


def synthetic_meta(**changes) -> TableMeta:
    fields = dict(space="declared", space_options=CHAIN, dataset="digits",
                  dims={"block1": Categorical(["skip_connect", "nor_conv_3x3"]), "depth": Integer(1, 3)},
                  fidelities=FIDELITIES, fidelity=4.0, metrics={"valid_acc": "max", "test_acc": "max",
                                                               "train_seconds": "min"},
                  objective="valid_acc", report="test_acc", cost="train_seconds", curves={"valid_acc": "curve_valid_acc"})
    fields.update(changes)
    return TableMeta(**fields)


def synthetic_rows(skip: int = 0) -> list[dict]:
    """Every arch of CHAIN at both fidelities with values from a seeded generator; ``skip`` archs left out."""
    rng = np.random.default_rng(7)
    rows = []
    archs = [Arch({"block1": b, "depth": d}) for b in ("skip_connect", "nor_conv_3x3") for d in (1, 2, 3)]
    for arch in archs[skip:]:
        for fidelity in FIDELITIES:
            curve = rng.uniform(0, 100, size=int(fidelity)).tolist()
            rows.append({**arch, "fidelity": fidelity, "valid_acc": curve[-1], "test_acc": float(rng.uniform(0, 100)),
                         "train_seconds": float(rng.uniform(1, 9)) * fidelity, "curve_valid_acc": curve})
    return rows
