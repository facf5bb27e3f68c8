"""The NAS-Bench-201 cell and network (archsearch.nn.cells) and its primitives (archsearch.nn.ops)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archsearch.nn.cells import EDGES, NB201Cell, NB201Network
from archsearch.nn.ops import NB201_OPS, ResNetBasicBlock
from archsearch.spaces.nb201 import NB201Space


def _forward_backward(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    logits = net(x)
    logits.logsumexp(dim=1).sum().backward()
    return logits


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_cells_forward_backward(seed: int) -> None:
    torch.manual_seed(seed)
    space = NB201Space()
    net = space.build(space.sample(np.random.default_rng(seed)))
    logits = _forward_backward(net, torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 10)
    assert torch.isfinite(logits).all()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads, "no parameter received a gradient"
    assert all(torch.isfinite(g).all() for g in grads)
    assert net.classifier.weight.grad is not None and net.classifier.weight.grad.abs().sum() > 0


def test_non_default_config() -> None:
    torch.manual_seed(0)
    space = NB201Space()
    arch = space.parse("|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    net = space.build(arch, channels=8, cells_per_stage=1, num_classes=7, in_channels=1)
    assert len(net.cells) == 5  # one cell per stage + two residual reductions
    logits = _forward_backward(net, torch.randn(2, 1, 8, 8))
    assert logits.shape == (2, 7)
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def test_skipping_none_edges_matches_summing_zeros() -> None:
    torch.manual_seed(0)
    edge_ops = dict(zip(EDGES, ["nor_conv_3x3", "none", "avg_pool_3x3", "skip_connect", "none", "nor_conv_1x1"]))
    cell = NB201Cell(edge_ops, 8).eval()
    x = torch.randn(2, 8, 6, 6)
    nodes = [x]
    for j in range(1, 4):  # the reference InferCell: every edge op, zeros included
        nodes.append(sum(cell.edges[f"edge_{i}_{j}"](nodes[i]) for i in range(j)))
    assert torch.equal(cell(x), nodes[-1])


def test_all_none_cell_outputs_zeros() -> None:
    cell = NB201Cell({edge: "none" for edge in EDGES}, 4)
    out = cell(torch.randn(1, 4, 5, 5))
    assert out.shape == (1, 4, 5, 5) and not out.any()
    assert sum(p.numel() for p in cell.parameters()) == 0


@pytest.mark.parametrize("name", sorted(NB201_OPS))
@pytest.mark.parametrize(("c_in", "c_out", "stride"), [(4, 4, 1), (4, 8, 1), (4, 8, 2)])
def test_op_shapes(name: str, c_in: int, c_out: int, stride: int) -> None:
    op = NB201_OPS[name](c_in, c_out, stride)
    out = op(torch.randn(2, c_in, 8, 8))
    assert out.shape == (2, c_out, 8 // stride, 8 // stride)


def test_op_parameters_follow_reference() -> None:
    c = 16
    counts = {name: sum(p.numel() for p in NB201_OPS[name](c, c, 1).parameters()) for name in NB201_OPS}
    assert counts == {"none": 0, "skip_connect": 0, "avg_pool_3x3": 0,
                      "nor_conv_1x1": c * c + 2 * c, "nor_conv_3x3": 9 * c * c + 2 * c}
    # shape-changing skip = FactorizedReduce, shape-changing pool = 1x1 ReLUConvBN preprocess
    assert sum(p.numel() for p in NB201_OPS["skip_connect"](c, 2 * c, 2).parameters()) == c * 2 * c + 4 * c
    assert sum(p.numel() for p in NB201_OPS["avg_pool_3x3"](c, 2 * c, 1).parameters()) == c * 2 * c + 4 * c


def test_resnet_basic_block() -> None:
    block = ResNetBasicBlock(8, 16, stride=2)
    assert block(torch.randn(2, 8, 8, 8)).shape == (2, 16, 4, 4)
    expected = 9 * 8 * 16 + 2 * 16 + 9 * 16 * 16 + 2 * 16 + 8 * 16
    assert sum(p.numel() for p in block.parameters()) == expected


def test_network_rejects_missing_edges() -> None:
    with pytest.raises(ValueError, match="missing"):
        NB201Network({(0, 1): "none"})
