"""Diagrams of architectures, one kind per space, as matplotlib figures (inlined as SVG by the report).

- ``nb201``: the cell as a DAG of 4 nodes with one op-labelled edge per node pair (Dong & Yang, ICLR 2020,
  Fig. 1); ``none`` edges are left out.
- ``darts``: the normal and the reduction cell as in Liu et al., ICLR 2019, Fig. 4: inputs c_{k-2}, c_{k-1},
  nodes 0-3 with two op-labelled inputs each, and their concatenation c_{k}.
- ``nb101``: the pruned cell, its vertices labelled with their ops (Ying et al., ICML 2019).
- ``mobile``: a strip of blocks, one per stage (MnasNet's factorized hierarchical space, Tan et al. 2019, Fig. 4).
- ``activation``/``activation2``: the formula and its curve on [-5, 5] beside ReLU (Ramachandran et al. 2017).
- any other space: a space may offer ``cell_edges(arch) -> (nodes, [(src, dst, op), ...])`` for a cell graph;
  dims all named ``edge_<i>_<j>`` (a declared cell space) are drawn as a cell too; otherwise a strip of its dims and their values (declared chain spaces read as layers).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from archsearch.core.arch import Arch
from archsearch.report.figures import READABLE_FONT, new_figure, wrap_arch

PLOT_RANGE = 5.0  # activation curves on [-PLOT_RANGE, PLOT_RANGE]
OP_COLOURS: dict[str, str] = {  # the same op gets the same colour in every diagram
    "skip_connect": "C0", "nor_conv_1x1": "C1", "nor_conv_3x3": "C2", "avg_pool_3x3": "C4", "max_pool_3x3": "C5",
    "sep_conv_3x3": "C2", "sep_conv_5x5": "C3", "dil_conv_3x3": "C6", "dil_conv_5x5": "C8", "none": "0.7"}
Edge = tuple[int, int, str]  # (source node, target node, op)
_EDGE_DIM = re.compile(r"^edge_(\d+)_(\d+)$")


def arch_diagram(space: Any, arch: Arch, title: str = "") -> Any:
    """A figure of ``arch`` drawn the way its space is read."""
    drawer = DRAWERS.get(getattr(space, "name", ""))
    if drawer is None:
        drawer = _cell_of_space if hasattr(space, "cell_edges") or _edge_dims(arch) else _dims_strip
    figure = drawer(space, arch)
    if title:
        figure.suptitle(title, fontsize="small")
    return figure


# -- cell graphs ---------------------------------------------------------------------------------------
def draw_cell(axes: Any, nodes: Sequence[str], edges: Sequence[Edge], extra: Sequence[tuple[int, int]] = ()) -> None:
    """Nodes on a line left to right; each edge an arc labelled with its op (``extra``: plain grey arrows)."""
    from matplotlib.patches import FancyArrowPatch

    xs = {k: float(k) for k in range(len(nodes))}
    for k, label in enumerate(nodes):
        axes.text(xs[k], 0.0, label, ha="center", va="center", fontsize=8, zorder=3,
                  bbox={"boxstyle": "round,pad=0.35", "facecolor": "#fff6d5", "edgecolor": "0.3"})
    for index, (src, dst, op) in enumerate(edges):
        span = xs[dst] - xs[src]
        rad = (-0.35 if index % 2 == 0 else 0.35) if span > 1 else -0.0
        colour = OP_COLOURS.get(op, "C7")
        axes.add_patch(FancyArrowPatch((xs[src], 0.0), (xs[dst], 0.0), connectionstyle=f"arc3,rad={rad}",
                                       arrowstyle="-|>", mutation_scale=10, color=colour, linewidth=1.5,
                                       shrinkA=14, shrinkB=14, zorder=2))
        if not op:  # ops live on the nodes (NB101): a plain edge
            continue
        # the midpoint of arc3's quadratic Bezier: chord midpoint + rad/2 * (dy, -dx)
        mid_x, mid_y = (xs[src] + xs[dst]) / 2, -0.5 * rad * span
        axes.text(mid_x, mid_y, op, ha="center", va="center", fontsize=6.5, color=colour, zorder=4,
                  bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
    for src, dst in extra:
        axes.add_patch(FancyArrowPatch((xs[src], 0.0), (xs[dst], 0.0), connectionstyle="arc3,rad=0.25",
                                       arrowstyle="-|>", mutation_scale=8, color="0.6", linewidth=0.8,
                                       linestyle="--", shrinkA=14, shrinkB=14, zorder=1))
    reach = 0.5 * 0.35 * max([xs[d] - xs[s] for s, d, _ in edges] + [1.0]) + 0.35
    axes.set_xlim(-0.6, len(nodes) - 0.4)
    axes.set_ylim(-reach, reach)
    axes.axis("off")


def _nb201(space: Any, arch: Arch) -> Any:
    from archsearch.spaces.nb201 import EDGES, NUM_NODES

    edges = [(i, j, arch[f"edge_{i}_{j}"]) for i, j in EDGES if arch[f"edge_{i}_{j}"] != "none"]
    figure = new_figure(6.5, 2.6)
    axes = figure.add_subplot()
    draw_cell(axes, [f"node {k}" for k in range(NUM_NODES)], edges)
    arch_title(axes, space.format(arch))
    return figure


def arch_title(axes: Any, text: str) -> None:
    """``text`` (an arch string) over ``axes`` at a readable size, wrapped at its separators to the figure's width."""
    width_points = axes.figure.get_figwidth() * 72
    axes.set_title(wrap_arch(text, max(20, int(width_points / (0.62 * READABLE_FONT)))), fontsize=READABLE_FONT,
                   family="monospace")


def _darts(space: Any, arch: Arch) -> Any:
    from archsearch.spaces.darts import CELLS, CONCAT, NODES, dim_name

    figure = new_figure(10, 5.2)
    for row, cell in enumerate(CELLS, start=1):
        axes = figure.add_subplot(2, 1, row)
        names = ["c_{k-2}", "c_{k-1}"] + [str(node - 2) for node in NODES] + ["c_{k}"]
        edges = [(arch[dim_name(cell, node, "input", slot)], node, arch[dim_name(cell, node, "op", slot)])
                 for node in NODES for slot in (0, 1)]
        output = len(names) - 1
        draw_cell(axes, names, [e for e in edges if e[2] != "none"], extra=[(node, output) for node in CONCAT])
        axes.set_title(f"{cell} cell", fontsize="small")
    return figure


def _nb101(space: Any, arch: Arch) -> Any:
    """The pruned NB101 cell: vertices labelled with their ops, edges plain (Ying et al. 2019, Fig. 1)."""
    spec = space.spec(arch)
    names = ["input", *[op.replace("-bn-relu", "") for op in spec.ops], "output"]
    edges = [(i, j, "") for i, row in enumerate(spec.matrix) for j, bit in enumerate(row) if bit]
    figure = new_figure(max(6.0, 1.2 * len(names)), 2.8)
    axes = figure.add_subplot()
    draw_cell(axes, names, edges)
    arch_title(axes, f"{space.format(arch)}  (hash {space.hash(arch)[:10]})")
    return figure


def _edge_dims(arch: Arch) -> list[Edge]:
    """``edge_<i>_<j>`` dims (a cell with an op on each edge, as a declared cell space): the edges."""
    matches = [(_EDGE_DIM.match(name), value) for name, value in arch.items()]
    if not matches or not all(m for m, _ in matches):
        return []
    return [(int(m.group(1)), int(m.group(2)), str(value)) for m, value in matches]


def _cell_of_space(space: Any, arch: Arch) -> Any:
    if hasattr(space, "cell_edges"):
        nodes, edges = space.cell_edges(arch)
    else:
        edges = _edge_dims(arch)
        nodes = [f"node {k}" for k in range(1 + max(max(i, j) for i, j, _ in edges))]
    figure = new_figure(max(6.0, 1.3 * len(nodes)), 2.8)
    draw_cell(figure.add_subplot(), nodes, [e for e in edges if e[2] != "none"])
    return figure


# -- strips of blocks ----------------------------------------------------------------------------------
def draw_strip(axes: Any, blocks: Sequence[tuple[str, str]], heights: Sequence[float] | None = None) -> None:
    """One box per (title, body) from left to right, joined by arrows; ``heights`` in [0, 1] scale the boxes."""
    from matplotlib.patches import FancyBboxPatch

    heights = heights or [1.0] * len(blocks)
    for k, ((title, body), height) in enumerate(zip(blocks, heights)):
        box_height = 0.5 + 0.5 * height
        axes.add_patch(FancyBboxPatch((k + 0.08, -box_height / 2), 0.84, box_height,
                                      boxstyle="round,pad=0.02", facecolor=f"C{k % 10}", alpha=0.25, edgecolor="0.3"))
        axes.text(k + 0.5, box_height / 2 - 0.06, title, ha="center", va="top", fontsize=7, weight="bold")
        axes.text(k + 0.5, 0.0, body, ha="center", va="center", fontsize=6.5)
        if k:
            axes.annotate("", (k + 0.08, 0.0), (k - 0.08, 0.0), arrowprops={"arrowstyle": "-|>", "color": "0.4"})
    axes.set_xlim(0, len(blocks))
    axes.set_ylim(-0.55, 0.55)
    axes.axis("off")


def _mobile(space: Any, arch: Arch) -> Any:
    from archsearch.nn.mobile import ACTIVATION_TAGS
    from archsearch.spaces.mobile import BASE_CHANNELS, MAX_LAYERS, PARTS, STAGES, STRIDES, dim_name

    blocks, heights = [("stem", "conv3x3\n32 ch, s2")], [0.4]
    for stage in range(1, STAGES + 1):
        c = {part: arch[dim_name(stage, part)] for part in PARTS}
        channels = int(round(BASE_CHANNELS[stage - 1] * c["width"]))
        body = (f"{c['block'].replace('mbconv', 'MBConv')} k{c['kernel']}{' SE' if c['se'] else ''}\n"
                f"{ACTIVATION_TAGS[c['act']]} x{c['layers']}\n{channels} ch, s{STRIDES[stage - 1]}")
        blocks.append((f"stage {stage}", body))
        heights.append(c["layers"] / MAX_LAYERS)
    blocks.append(("head", "conv1x1\npool, FC"))
    heights.append(0.4)
    figure = new_figure(12, 2.4)
    axes = figure.add_subplot()
    draw_strip(axes, blocks, heights)
    arch_title(axes, space.format(arch))
    return figure


def _dims_strip(space: Any, arch: Arch) -> Any:
    blocks = [(name, _short(value)) for name, value in arch.items()]
    columns = min(len(blocks), 10)
    rows = max(1, math.ceil(len(blocks) / columns))
    figure = new_figure(1.25 * columns + 0.5, 1.6 * rows)
    for row in range(rows):
        draw_strip(figure.add_subplot(rows, 1, row + 1), blocks[row * columns:(row + 1) * columns])
    return figure


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 14 else text[:13] + "..."


# -- activation functions ------------------------------------------------------------------------------
def activation_curves(space: Any, archs: Sequence[Arch], labels: Sequence[str] | None = None) -> Any:
    """One panel per function on [-5, 5] (every beta = 1), ReLU dashed beside it, the formula below."""
    import torch

    x = torch.linspace(-PLOT_RANGE, PLOT_RANGE, 401)
    columns = min(5, max(1, len(archs)))
    rows = max(1, math.ceil(len(archs) / columns))
    figure = new_figure(3.2 * columns, 2.8 * rows)
    for i, arch in enumerate(archs):
        axes = figure.add_subplot(rows, columns, i + 1)
        with torch.no_grad():
            y = space.build(arch)(x)
        axes.plot(x, torch.relu(x), "--", color="gray", linewidth=1, label="ReLU")
        axes.plot(x, y, color="C0", linewidth=1.6, label="found")
        finite = y[torch.isfinite(y)]
        if finite.numel():
            low, high = float(finite.min()), float(finite.max())
            pad = 0.1 * (high - low) + 1e-3
            axes.set_ylim(max(low, -10) - pad, min(high, 10) + pad)
        axes.set_title(labels[i] if labels else f"#{i + 1} {space.known_name(arch) or ''}", fontsize=8)
        axes.set_xlabel(space.formula(arch), fontsize=7)
        axes.grid(alpha=0.3)
        if i == 0:
            axes.legend(fontsize=7)
    return figure


def _activation(space: Any, arch: Arch) -> Any:
    return activation_curves(space, [arch], [space.known_name(arch) or "found function"])


DRAWERS: dict[str, Callable[[Any, Arch], Any]] = {
    "nb201": _nb201, "nb101": _nb101, "darts": _darts, "mobile": _mobile, "activation": _activation, "activation2": _activation}
