"""The DARTS cell space: validity, genotype text, published genotypes and the evaluation network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archsearch.core.errors import ArchError
from archsearch.spaces.darts import DARTS_V1, DARTS_V2, GDAS, OPS, DartsSpace, dim_name

SPACE = DartsSpace()  # the space contract runs on it too: tests/core/test_space_contract.py[darts]


def _tiny(arch, **net):
    torch.manual_seed(0)
    return SPACE.build(arch, channels=4, layers=3, **net)


def test_dims() -> None:
    dims = SPACE.dims()
    assert len(dims) == 32
    assert list(dims)[:4] == ["normal_node2_input0", "normal_node2_op0", "normal_node2_input1", "normal_node2_op1"]
    assert dims["reduce_node5_input1"].options == (0, 1, 2, 3, 4)
    assert dims["normal_node3_op0"].options == OPS and "none" in OPS


def test_sampled_mutated_and_neighbour_archs_are_valid() -> None:
    rng = np.random.default_rng(1)
    for _ in range(100):
        arch = SPACE.sample(rng)
        assert SPACE.is_valid(arch)
        assert SPACE.is_valid(SPACE.mutate(arch, rng))
    for neighbour in SPACE.neighbours(arch):
        assert SPACE.is_valid(neighbour)


def test_repeated_input_is_refused() -> None:
    arch = SPACE.parse(DARTS_V2)
    bad = arch.replace(**{dim_name("reduce", 4, "input", 1): arch[dim_name("reduce", 4, "input", 0)]})
    assert not SPACE.is_valid(bad)
    with pytest.raises(ArchError):
        SPACE.validate(bad)
    with pytest.raises(ArchError):
        SPACE.build(bad)


def test_parse_format_round_trip() -> None:
    rng = np.random.default_rng(2)
    for _ in range(50):
        arch = SPACE.sample(rng)
        assert SPACE.parse(SPACE.format(arch)) == arch
        assert SPACE.parse(arch.key()) == arch
    for genotype in (DARTS_V1, DARTS_V2, GDAS):
        assert SPACE.format(SPACE.parse(genotype)) == genotype


def test_parse_reference_variants() -> None:
    v2 = SPACE.parse(DARTS_V2)
    assert SPACE.parse(DARTS_V2.replace("[2, 3, 4, 5]", "range(2, 6)")) == v2
    multiline = DARTS_V2.replace("), (", "),\n    (").replace("Genotype(", "Genotype(\n  ")
    assert SPACE.parse(multiline) == v2
    pairwise = ("Genotype(normal=[(('skip_connect', 0), ('skip_connect', 1)), (('skip_connect', 0), ('sep_conv_5x5', 2)), "
                "(('sep_conv_3x3', 3), ('skip_connect', 0)), (('sep_conv_5x5', 4), ('sep_conv_3x3', 3))], "
                "normal_concat=[2, 3, 4, 5], reduce=[(('sep_conv_5x5', 0), ('sep_conv_3x3', 1)), "
                "(('sep_conv_5x5', 2), ('sep_conv_5x5', 1)), (('dil_conv_5x5', 2), ('sep_conv_3x3', 1)), "
                "(('sep_conv_5x5', 0), ('sep_conv_5x5', 1))], reduce_concat=[2, 3, 4, 5], connectN=None, connects=None)")
    assert SPACE.parse(pairwise) == SPACE.parse(GDAS)


@pytest.mark.parametrize("text", [
    "Genotype(",
    "Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2, 3, 4, 5], reduce=[], reduce_concat=[2, 3, 4, 5])",
    DARTS_V2.replace("sep_conv_3x3", "conv_9x9"),
    DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"),
    DARTS_V2.replace("('sep_conv_3x3', 1), ('skip_connect', 0)", "('sep_conv_3x3', 0), ('skip_connect', 0)"),
    DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3]"),
    DARTS_V2.replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=__import__('os')"),
    DARTS_V2.replace("('max_pool_3x3', 0)", "('max_pool_3x3', 0, 0.5)", 1),
    DARTS_V2.replace("normal=[", "normal=[os.system('x'), "),
    DARTS_V2[:-1] + ", extra=1)",
    "Genotype(" + DARTS_V2,
])
def test_malformed_genotypes_raise_one_line_arch_error(text: str) -> None:
    with pytest.raises(ArchError) as info:
        SPACE.parse(text)
    assert "\n" not in str(info.value)


def test_darts_v2_has_the_published_3_3m_parameters() -> None:
    net = SPACE.build(SPACE.parse(DARTS_V2), channels=36, layers=20, auxiliary=True)
    # quark0/darts utils.count_parameters_in_MB leaves out the auxiliary head
    count = sum(p.numel() for name, p in net.named_parameters() if "auxiliary" not in name)
    assert abs(count / 1e6 - 3.3) <= 0.1
    assert count == 3_349_342  # what the reference prints for DARTS_V2 ("param size = 3.349342MB")


@pytest.mark.parametrize("genotype", [DARTS_V2, GDAS])
def test_tiny_network_shapes(genotype: str) -> None:
    arch = SPACE.parse(genotype)
    net = _tiny(arch, num_classes=7).eval()
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 7)
    gray = _tiny(arch, num_classes=10, in_channels=1, auxiliary=True)
    assert gray.eval()(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    logits, aux = gray.train()(torch.randn(2, 1, 8, 8))
    assert logits.shape == aux.shape == (2, 10)


def test_random_archs_build_and_run() -> None:
    rng = np.random.default_rng(3)
    for _ in range(3):
        net = _tiny(SPACE.sample(rng), num_classes=5).eval()
        assert net(torch.randn(2, 3, 16, 16)).shape == (2, 5)


def test_auxiliary_logits_only_in_training() -> None:
    net = _tiny(SPACE.parse(DARTS_V2), auxiliary=True)
    x = torch.randn(2, 3, 32, 32)
    assert isinstance(net.train()(x), tuple)
    assert isinstance(net.eval()(x), torch.Tensor)
    assert isinstance(_tiny(SPACE.parse(DARTS_V2)).train()(x), torch.Tensor)


def test_drop_path_only_in_training_mode() -> None:
    net = _tiny(SPACE.parse(DARTS_V2), drop_path_prob=0.5)
    x = torch.randn(4, 3, 16, 16)
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    net.drop_path_generator = torch.Generator().manual_seed(0)
    first = net(x)
    net.drop_path_generator = torch.Generator().manual_seed(1)
    assert not torch.allclose(first, net(x))
    net.drop_path_generator = torch.Generator().manual_seed(0)
    assert torch.equal(first, net(x))  # masks follow the generator (BatchNorm uses batch stats in train)
    net.drop_path_prob = 0.0
    assert torch.equal(net(x), net(x))
