"""The few-shot network of DARTS search cells (T-NAS's space): relaxed, fixed, pruned, as an embedding."""

from __future__ import annotations

import pytest
import torch

from archsearch.nn.fewshot_darts import ARCH_PARAMETER, FewShotDartsNetwork
from archsearch.nn.mixed import MixedOp
from archsearch.spaces import create_space


def tiny(ways: int | None = 5, seed: int = 0) -> FewShotDartsNetwork:
    torch.manual_seed(seed)
    return FewShotDartsNetwork(ways, channels=2, stages=2, generator=torch.Generator().manual_seed(seed))


def calls(net: FewShotDartsNetwork) -> int:
    return sum(m.calls for m in net.modules() if isinstance(m, MixedOp))


def test_the_relaxed_network_has_one_logit_row_per_edge_and_gives_logits_or_embeddings() -> None:
    net = tiny()
    assert net.arch_logits.shape == (2 * 14, 8)
    assert net(torch.randn(3, 1, 28, 28)).shape == (3, 5)
    embedding = tiny(None)
    assert embedding(torch.randn(3, 1, 28, 28)).shape == (3, 4 * 4 * 2)  # 4 nodes x (2 x 2 channels per reduction)


def test_the_derived_arch_is_a_valid_darts_arch_and_the_fixed_net_runs_two_ops_per_node() -> None:
    net = tiny()
    arch = net.derive()
    create_space("darts").validate(arch)
    net.fix(arch)
    net(torch.randn(2, 1, 28, 28))
    assert calls(net) == 2 * 4 * 2  # 2 cells x 4 nodes x 2 edges


def test_pruning_leaves_exactly_the_discrete_parameters_and_the_same_function() -> None:
    net = tiny()
    net.eval()
    arch = net.derive()
    x = torch.randn(2, 1, 28, 28)
    before = net.fix(arch, net.arch_logits)(x)
    expected = net.discrete_parameters(arch)
    assert expected < sum(p.numel() for name, p in net.named_parameters() if name != ARCH_PARAMETER)
    net.prune()
    assert sum(p.numel() for name, p in net.named_parameters() if name != ARCH_PARAMETER) == expected
    assert torch.allclose(net(x), before)


def test_kept_op_weights_scale_each_chosen_op() -> None:
    net = tiny()
    net.eval()
    arch = net.derive()
    x = torch.randn(2, 1, 28, 28)
    plain = net.fix(arch)(x)
    scaled = net.fix(arch, net.arch_logits * 0 + torch.eye(8)[0] * 50)(x)  # every chosen op weighs ~0
    assert not torch.allclose(plain, scaled)


def test_prune_needs_a_fixed_arch() -> None:
    with pytest.raises(ValueError, match="fix"):
        tiny().prune()
