"""Declared spaces (``--space-file``): reading and checking definitions, chain and cell networks, training,
pickling, and the study config carrying the definition."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from archsearch.config import StudyConfig
from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Integer
from archsearch.core.errors import ArchError, UserError
from archsearch.spaces import create_space, space_from_config
from archsearch.spaces.declared import CellSpace, ChainSpace, load_space_file
from archsearch.spaces.nb201 import NB201Space

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "spaces"
CHAIN = {"name": "four", "kind": "chain", "stem_channels": 8,
         "dims": {"l1": ["identity", "conv3x3", "sep_conv_5x5", "mbconv_k3_e3"], "l2": ["conv3x3", "mbconv_k5_e6_se"],
                  "l3": {"choices": ["skip_connect", "dil_conv_3x3"]}, "l4": ["nor_conv_1x1", "max_pool_3x3"],
                  "width": {"low": 1, "high": 3}},
         "layers": ["l1", {"op": "l2", "channels": "8*width", "stride": 2}, "l3",
                    {"op": "l4", "channels": 16, "stride": 2}]}
CELL = {"kind": "cell", "ops": ["none", "skip_connect", "nor_conv_3x3", "sep_conv_3x3", "mbconv_k3_e1"],
        "nodes": 3, "channels": 4, "cells_per_stage": 1, "stages": 2}
SIMPLE = {"l1": "conv3x3", "l2": "conv3x3", "l3": "skip_connect", "l4": "nor_conv_1x1", "width": 2}


def chain(**changes: Any) -> ChainSpace:
    return create_space("declared", {**CHAIN, **changes})


def test_chain_dims_come_from_the_definition() -> None:
    space = chain()
    dims = space.dims()
    assert isinstance(space, ChainSpace) and list(dims) == ["l1", "l2", "l3", "l4", "width"]
    assert dims["l2"] == Categorical(["conv3x3", "mbconv_k5_e6_se"]) and dims["width"] == Integer(1, 3)
    assert space.size() == 4 * 2 * 2 * 2 * 3 and "four" in space.describe()
    assert space.space_options() == CHAIN


def test_chain_plan_follows_channels_strides_and_widths() -> None:
    space = chain()
    plan = space.plan(space.validate(SIMPLE), stem_channels=8)
    assert [(p.op, p.c_in, p.c_out, p.stride) for p in plan] == [
        ("nor_conv_3x3", 8, 8, 1), ("nor_conv_3x3", 8, 16, 2), ("skip_connect", 16, 16, 1),
        ("nor_conv_1x1", 16, 16, 2)]
    repeated = chain(layers=["l1", {"op": "l2", "repeat": "width", "stride": 2}, "l3", "l4"])
    ops = [(p.c_in, p.c_out, p.stride) for p in repeated.plan(repeated.validate({**SIMPLE, "width": 3}), 8)]
    assert ops == [(8, 8, 1), (8, 8, 2), (8, 8, 1), (8, 8, 1), (8, 8, 1), (8, 8, 1)]  # only the first copy strides


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)], ids=["digits", "mnist5k", "cifar10"])
def test_chain_networks_forward_every_op(shape: tuple[int, int, int]) -> None:
    space = chain()
    rng = np.random.default_rng(0)
    for arch in [space.validate(SIMPLE)] + [space.sample(rng) for _ in range(4)]:
        model = space.build(arch, num_classes=10, in_channels=shape[0]).eval()
        with torch.no_grad():
            assert model(torch.randn(2, *shape)).shape == (2, 10)


def test_every_op_builds_in_a_chain() -> None:
    ops = ["none", "identity", "zero", "conv1x1", "conv3x3", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
           "avg_pool_3x3", "max_pool_3x3", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
           "mbconv_k3_e1", "mbconv_k7_e6_se_hs"]
    live = [op for op in ops if op not in ("none", "zero")]
    space = create_space("declared", {"kind": "chain", "dims": {"a": live},
                                      "layers": [{"op": "a", "channels": 12, "stride": 2}]})
    for op in live:
        model = space.build(Arch({"a": op}), num_classes=3, in_channels=1).eval()
        with torch.no_grad():
            assert model(torch.randn(2, 1, 7, 7)).shape == (2, 3), op


def test_build_options_override_the_definition() -> None:
    space = chain()
    arch = space.validate(SIMPLE)
    narrow = space.build(arch, in_channels=1, stem_channels=4, dropout=0.5)
    assert narrow.stem[0].out_channels == 4 and narrow.dropout.p == 0.5
    wide = space.build(arch, in_channels=1, width_mult=2.0)
    assert wide.stem[0].out_channels == 16 and wide.classifier.in_features == 32
    with pytest.raises(UserError, match="stem_channels"):
        space.build(arch, stem_channels=0)


def test_cell_space_has_an_edge_dim_per_node_pair_and_builds() -> None:
    space = create_space("declared", CELL)
    assert isinstance(space, CellSpace) and list(space.dims()) == ["edge_0_1", "edge_0_2", "edge_1_2"]
    rng = np.random.default_rng(1)
    for _ in range(4):
        model = space.build(space.sample(rng), num_classes=10, in_channels=1).eval()
        with torch.no_grad():
            assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    arch = space.parse("|sep_conv_3x3~0|+|none~0|mbconv_k3_e1~1|")
    assert arch == Arch({"edge_0_1": "sep_conv_3x3", "edge_0_2": "none", "edge_1_2": "mbconv_k3_e1"})
    assert space.parse(space.format(arch)) == arch
    for text in ("|sep_conv_3x3~0|", "|sep_conv_3x3~0|+|none~1|none~0|", "|conv9x9~0|+|none~0|none~1|"):
        with pytest.raises(ArchError):
            space.parse(text)


def test_a_four_node_cell_of_nb201_ops_is_the_nb201_network() -> None:
    space = create_space("declared", {"kind": "cell", "ops": list(NB201Space().dims()["edge_0_1"].options),
                                      "channels": 16, "cells_per_stage": 5, "stages": 3})
    text = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_1x1~2|"
    nb201 = NB201Space().build(NB201Space().parse(text))
    declared = space.build(space.parse(text))
    assert list(declared.state_dict()) == list(nb201.state_dict())
    assert [t.shape for t in declared.state_dict().values()] == [t.shape for t in nb201.state_dict().values()]
    declared.load_state_dict(nb201.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(declared.eval()(x), nb201.eval()(x), atol=1e-6)


def test_example_files_load() -> None:
    chain_space = create_space("declared", load_space_file(EXAMPLES / "chain.yaml"))
    cell_space = create_space("declared", load_space_file(EXAMPLES / "cell.yaml"))
    assert chain_space.kind == "chain" and chain_space.size() == 768
    assert cell_space.kind == "cell" and cell_space.size() == 5**5 * 2


def test_pickles_as_its_definition() -> None:
    for space in (chain(), create_space("declared", CELL)):
        copy = pickle.loads(pickle.dumps(space))
        assert type(copy) is type(space) and copy.space_options() == space.space_options()
        assert copy.dims() == space.dims() and copy == space


def test_trains_with_the_train_estimator_on_digits() -> None:
    from archsearch.estimators.train import TrainEstimator

    space = chain()
    estimator = TrainEstimator(space, "digits", fidelity=1, net={"stem_channels": 8}, measure=("params",),
                               batch_size=64, device="cpu")
    assert estimator.net_options() == ["dropout", "stem_channels", "width_mult"]
    result = estimator.evaluate(space.validate(SIMPLE))
    assert result.status == "ok", result.error
    assert result.metrics["params"] > 0 and result.metrics["valid_acc"] > 20.0  # chance is 10 %
    with pytest.raises(UserError, match="unknown net option 'channels'"):
        TrainEstimator(space, "digits", net={"channels": 8}, device="cpu")


# -- errors: one line each --------------------------------------------------------------------------------------
BAD = {
    "no kind": ({"dims": {"a": ["conv3x3"]}}, "'kind' must be one of chain, cell"),
    "unknown kind": ({"kind": "tree", "dims": {}}, "'kind' must be one of"),
    "unknown key": ({**CHAIN, "colour": "red"}, "unknown key 'colour' for kind chain"),
    "cell key in a chain": ({**CHAIN, "nodes": 4}, "unknown key 'nodes'"),
    "no dims": ({"kind": "chain"}, "'dims' must be a non-empty mapping"),
    "empty choices": ({**CHAIN, "dims": {**CHAIN["dims"], "l1": []}}, "dim 'l1' has no choices"),
    "repeated choice": ({**CHAIN, "dims": {**CHAIN["dims"], "l1": ["conv3x3", "conv3x3"]}}, "repeats a choice"),
    "low above high": ({**CHAIN, "dims": {**CHAIN["dims"], "width": {"low": 3, "high": 1}}}, "low (3) is above high"),
    "float range": ({**CHAIN, "dims": {**CHAIN["dims"], "width": {"low": 0.5, "high": 1}}}, "must be integers"),
    "bad dim spec": ({**CHAIN, "dims": {**CHAIN["dims"], "width": {"min": 1}}}, "give a list of choices"),
    "bad dim name": ({**CHAIN, "dims": {**CHAIN["dims"], "2x": ["conv3x3"]}}, "dim name '2x'"),
    "unknown op": ({**CHAIN, "dims": {**CHAIN["dims"], "l1": ["conv3x3", "conv9x9"]}}, "unknown op 'conv9x9'"),
    "none in a chain": ({**CHAIN, "dims": {**CHAIN["dims"], "l1": ["conv3x3", "none"]}}, "would cut the chain"),
    "unknown layer op": ({**CHAIN, "layers": ["l1", "l2", "l3", "l4", "bogus"]}, "'bogus' is neither a dim nor an op"),
    "unknown layer key": ({**CHAIN, "layers": [{"op": "l1", "kernel": 3}]}, "unknown key 'kernel'"),
    "unused dim": ({**CHAIN, "layers": ["l1", "l2", "l3", "l4"]}, "dim 'width' is not used by any layer"),
    "integer dim as op": ({**CHAIN, "layers": ["width"]}, "integer range, not a choice of ops"),
    "no layers, extra dim": ({k: v for k, v in CHAIN.items() if k != "layers"},
                             "without 'layers' every dim is one layer"),
    "bad stride": ({**CHAIN, "layers": [*CHAIN["layers"][:3], {"op": "l4", "stride": "width"}]},
                   "stride must be 1 or 2"),
    "bad channels": ({**CHAIN, "layers": [*CHAIN["layers"][:3], {"op": "l4", "channels": "0*width"}]},
                     "channels must be at least 1"),
    "channels from an op dim": ({**CHAIN, "layers": [*CHAIN["layers"][:3], {"op": "l4", "channels": "2*l1"}]},
                                "not all integers"),
    "unknown product dim": ({**CHAIN, "layers": [*CHAIN["layers"][:3], {"op": "l4", "channels": "2*w"}]},
                            "names no dim"),
    "bad network option": ({**CHAIN, "stem_channels": 0}, "stem_channels must be an integer >= 1"),
    "single arch": ({"kind": "chain", "dims": {"a": ["conv3x3"]}}, "every dim has a single choice"),
    "cell without ops": ({"kind": "cell", "nodes": 3}, "edge edge_0_1 has no ops"),
    "cell stranger dim": ({**CELL, "dims": {"edge_0_5": ["none", "skip_connect"]}}, "not an edge of a 3-node cell"),
    "cell integer dim": ({**CELL, "dims": {"edge_0_1": {"low": 1, "high": 2}}}, "must be a list of ops"),
    "cell bad nodes": ({**CELL, "nodes": 1}, "'nodes' must be an integer in 2..32"),
    "cell unknown op": ({**CELL, "ops": ["none", "conv7x7"]}, "unknown op 'conv7x7'"),
    "non-text name": ({**CHAIN, "name": 5}, "'name' must be text"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_definitions_are_one_line_user_errors(case: str) -> None:
    definition, expected = BAD[case]
    with pytest.raises(UserError) as info:
        create_space("declared", definition)
    assert expected in str(info.value) and len(str(info.value).splitlines()) == 1, str(info.value)


def test_a_definition_is_needed() -> None:
    with pytest.raises(UserError, match="needs a definition: give --space-file"):
        create_space("declared")


@pytest.mark.parametrize("text, expected", [
    (None, "space file not found"), ("kind: chain\ndims: [a, b\n", "is not valid YAML/JSON"),
    ("- a\n- b\n", "must hold a mapping"), ("kind: chain\ndims: {a: [conv3x3, conv9x9]}\n", "unknown op 'conv9x9'"),
    ('{"kind": "cell", "nodes": 3, "ops": ["none"], "colour": 1}', "unknown key 'colour' for kind cell"),
])
def test_bad_space_files(tmp_path: Path, text: str | None, expected: str) -> None:
    path = tmp_path / "space.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(UserError) as info:
        load_space_file(path)
    message = str(info.value)
    assert expected in message and len(message.splitlines()) == 1, message
    if text is not None and "YAML" not in expected and "mapping" not in expected:
        assert message.startswith(f"space file {path}: ")


# -- the study config carries the definition ------------------------------------------------------------------
def test_config_space_file_sets_the_space_and_carries_its_definition(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text((EXAMPLES / "chain.yaml").read_text())
    config = StudyConfig.from_mapping({"space_file": str(path), "estimator": "train", "max_trials": 1})
    assert config.space == "declared" and config.space_options == load_space_file(path)
    config.validate()
    stored = config.to_dict()
    path.unlink()  # a stored config needs no file: it carries the definition
    again = StudyConfig.from_mapping(stored)
    assert again.space_options == config.space_options and again.space_file == str(path)
    assert space_from_config(stored).space_options() == config.space_options
    config.set("space", "nb201")
    with pytest.raises(UserError, match="cannot be combined with --space nb201"):
        config.validate()


def test_config_space_mapping_and_dotted_options(tmp_path: Path) -> None:
    config_file = tmp_path / "exp.yaml"
    config_file.write_text("space: {name: inline, kind: cell, ops: [none, skip_connect, nor_conv_3x3], nodes: 3}\n"
                           "estimator: train\nmax_trials: 1\n")
    config = StudyConfig.from_file(str(config_file))
    config.apply_overrides(["space.channels=4"])
    assert config.space == "declared" and config.space_options["channels"] == 4
    config.validate()
    space = space_from_config(config)
    assert space.label == "inline" and space.network["channels"] == 4
    (tmp_path / "spaces").mkdir()
    (tmp_path / "spaces" / "cell.yaml").write_text((EXAMPLES / "cell.yaml").read_text())
    config_file.write_text("space_file: spaces/cell.yaml\n")  # relative to the config file's folder
    assert StudyConfig.from_file(str(config_file)).space_options["name"] == "small-cell"


def test_old_configs_without_space_options_still_work() -> None:
    config = StudyConfig.from_mapping({"space": "nb201", "max_trials": 3})
    stored = {key: value for key, value in config.to_dict().items() if key not in ("space_file", "space_options")}
    assert isinstance(space_from_config(stored), NB201Space)
    assert isinstance(space_from_config(StudyConfig.from_mapping(stored)), NB201Space)
    with pytest.raises(UserError, match="unknown option space.units for space 'nb201'"):
        create_space("nb201", {"units": 2})
