"""Search spaces declared in a YAML/JSON file (``archsearch search --space-file space.yaml``), no Python needed.

A definition names its dims and a builder ``kind``:

- ``chain``: a stem, a sequence of layers and a head. Each layer's block is a dim (or a fixed op); its
  ``channels``, ``stride`` and ``repeat`` are numbers, dims, or ``"N*dim"`` products. Without ``layers``, every
  dim is one layer at the stem width. The network is stem (conv3x3, BN, ReLU) -> layers (a repeated layer
  strides and changes width in its first copy) -> BN, ReLU, global pooling, dropout, linear.
- ``cell``: a NAS-Bench-201-style cell (Dong & Yang, ICLR 2020): ``nodes`` nodes, one categorical dim per edge
  ``edge_<i>_<j>`` (i < j, node j sums its inputs, the last node is the output), ops from ``ops`` or a dim per
  edge; the network is NB201's: stem, ``stages`` stages of ``cells_per_stage`` cells joined by residual
  reductions (channels double), head. With ``nodes: 4`` and NB201's ops it is the NB201 network.

Examples: ``examples/spaces/chain.yaml`` and ``examples/spaces/cell.yaml``.

The ops are the project's named primitives: NB201's (``none``, ``skip_connect``, ``nor_conv_1x1``,
``nor_conv_3x3``, ``avg_pool_3x3``; :mod:`archsearch.nn.ops`), DARTS's (``max_pool_3x3``, ``sep_conv_3x3``,
``sep_conv_5x5``, ``dil_conv_3x3``, ``dil_conv_5x5``; :mod:`archsearch.nn.darts`) and MBConv
(``mbconv_k<3|5|7>_e<1-9>[_se][_hs]``: kernel, expansion, squeeze-excite, h-swish; :mod:`archsearch.nn.mobile`),
with the aliases ``identity``, ``zero``, ``conv1x1`` and ``conv3x3``. The definition travels with the study
(``space_options`` in its stored config), so resume, show and export need no file. Archs are JSON objects; a
cell space also parses NB201-style strings (``|op~0|+|op~0|op~1|+...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archsearch.core.documents import read_document
from archsearch.core.errors import UserError
from archsearch.spaces.declared.base import KINDS, DeclaredSpace
from archsearch.spaces.declared.cell import CellSpace
from archsearch.spaces.declared.chain import ChainSpace, LayerPlan

__all__ = ["CellSpace", "ChainSpace", "DeclaredSpace", "LayerPlan", "declared_space", "load_space_file",
           "make_declared"]


def load_space_file(path: str | Path) -> dict[str, Any]:
    """The definition in a YAML/JSON file, checked (one-line ``UserError`` for a missing, malformed or bad file)."""
    data = read_document(path, "space file")
    if not isinstance(data, dict):
        raise UserError(f"space file {path} must hold a mapping with 'kind' (chain or cell) and 'dims'")
    make_declared(data, f"space file {path}")  # checks it
    return data


def declared_space(**definition: Any) -> "DeclaredSpace":
    """The space of a definition: a ``ChainSpace`` or a ``CellSpace`` (the registered factory of ``declared``)."""
    return make_declared(definition)


def make_declared(definition: Mapping[Any, Any], source: str | None = None) -> "DeclaredSpace":
    """``declared_space`` with ``source`` (e.g. the file) starting each error message."""
    label = definition.get("name")
    source = source or (f"declared space {label!r}" if isinstance(label, str) else "declared space")
    if not definition:
        raise UserError("space 'declared' needs a definition: give --space-file FILE (a YAML/JSON file with "
                        "'kind' and 'dims'), or space_options in a config")
    kind = definition.get("kind")
    if kind not in KINDS:
        raise UserError(f"{source}: 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    strangers = [key for key in definition if not isinstance(key, str)]
    if strangers:
        raise UserError(f"{source}: keys must be names, got {strangers[0]!r}")
    return (ChainSpace if kind == "chain" else CellSpace)(definition, source)
