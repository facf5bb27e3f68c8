"""archsearch.export: checkpoint round trip (weights_only), user errors on foreign files, TorchScript and
ONNX exports that reproduce the PyTorch outputs, the genotype JSON, ``export_all`` and the seeded checkpoints of
an arch or of a stored search's best."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from archsearch.core.errors import UserError
from archsearch.estimators.train import trial_seed
from archsearch.export import (CHECKPOINT_FORMAT, Checkpoint, ExportError, arch_checkpoint, best_checkpoint,
                               check_net_options, export_all, export_genotype, export_onnx, export_torchscript,
                               load_checkpoint, save_checkpoint, seeded_checkpoint)
from archsearch.spaces.nb201 import NB201Space
from archsearch.store.base import TrialRecord
from archsearch.store.memory import InMemoryStore

SPACE = NB201Space()
ARCH_STRING = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
NET = {"channels": 4, "cells_per_stage": 1}
INPUT_SHAPE = (3, 8, 8)
NUM_CLASSES = 5
HAS_ORT = importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None
needs_onnx = pytest.mark.skipif(not HAS_ORT, reason="onnx/onnxruntime not installed (the 'export' extra)")


@pytest.fixture
def model() -> nn.Module:
    torch.manual_seed(0)
    net = SPACE.build(SPACE.parse(ARCH_STRING), **NET, num_classes=NUM_CLASSES, in_channels=INPUT_SHAPE[0])
    net.train()
    with torch.no_grad():  # non-trivial BatchNorm running statistics
        net(torch.randn(16, *INPUT_SHAPE) * 2 + 0.5)
    return net.eval()


@pytest.fixture
def checkpoint_path(tmp_path: Path, model: nn.Module) -> Path:
    return save_checkpoint(tmp_path / "best.pt", model, arch=SPACE.parse(ARCH_STRING), space="nb201", net=NET,
                           input_shape=INPUT_SHAPE, num_classes=NUM_CLASSES,
                           extra={"metrics": {"valid_acc": 0.5}, "seed": np.int64(3), "shape": (1, 2)})


def _x(batch: int) -> torch.Tensor:
    return torch.randn(batch, *INPUT_SHAPE, generator=torch.Generator().manual_seed(batch))


def test_checkpoint_round_trip(checkpoint_path: Path, model: nn.Module) -> None:
    raw = torch.load(checkpoint_path, weights_only=True)
    assert raw["format"] == CHECKPOINT_FORMAT and raw["version"] == 1
    loaded = load_checkpoint(checkpoint_path)
    assert loaded.arch == dict(SPACE.parse(ARCH_STRING)) and loaded.space == "nb201" and loaded.net == NET
    assert loaded.input_shape == INPUT_SHAPE and loaded.num_classes == NUM_CLASSES
    assert loaded.extra == {"metrics": {"valid_acc": 0.5}, "seed": 3, "shape": [1, 2]}
    rebuilt = loaded.build_model()
    assert not rebuilt.training
    with torch.no_grad():
        assert torch.equal(rebuilt(_x(4)), model(_x(4)))


def test_checkpoint_refuses_non_plain_values(tmp_path: Path, model: nn.Module) -> None:
    with pytest.raises(TypeError, match="extra.when"):
        save_checkpoint(tmp_path / "x.pt", model, arch=SPACE.parse(ARCH_STRING), space="nb201", net=NET,
                        input_shape=INPUT_SHAPE, num_classes=NUM_CLASSES, extra={"when": object()})
    assert not (tmp_path / "x.pt").exists()


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "nope.pt")


@pytest.mark.parametrize("content", ["text", "torch-dict", "newer", "partial", "pickle"])
def test_load_foreign_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "file.pt"
    if content == "text":
        path.write_text("hello\n")
    elif content == "torch-dict":
        torch.save({"weights": torch.zeros(2)}, path)
    elif content == "newer":
        torch.save({"format": CHECKPOINT_FORMAT, "version": 99}, path)
    elif content == "partial":
        torch.save({"format": CHECKPOINT_FORMAT, "version": 1, "arch": {}}, path)
    else:  # an arbitrary object that weights_only refuses to unpickle
        torch.save({"format": CHECKPOINT_FORMAT, "obj": Path("x")}, path)
    with pytest.raises(UserError) as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_weights_that_do_not_fit(checkpoint_path: Path) -> None:
    loaded = load_checkpoint(checkpoint_path)
    wrong = Checkpoint(arch=loaded.arch, space="nb201", net={**NET, "channels": 8}, input_shape=INPUT_SHAPE,
                       num_classes=NUM_CLASSES, state_dict=loaded.state_dict)
    with pytest.raises(UserError, match="do not fit"):
        wrong.build_model()


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_torchscript_round_trip(tmp_path: Path, model: nn.Module) -> None:
    model.train()
    path = export_torchscript(model, INPUT_SHAPE, tmp_path / "m.pt")
    assert model.training  # restored
    loaded = torch.jit.load(str(path))
    model.eval()
    with torch.no_grad():
        for batch in (1, 4):
            assert torch.allclose(loaded(_x(batch)), model(_x(batch)), atol=1e-6, rtol=0)


class _ShapeDependent(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) * (2.0 if x.shape[0] == 2 else 3.0)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_torchscript_refuses_a_wrong_trace(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="TorchScript export differs"):
        export_torchscript(_ShapeDependent(), (2, 2), tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()


@needs_onnx
def test_onnx_matches_pytorch(tmp_path: Path, model: nn.Module) -> None:
    import onnxruntime

    path = tmp_path / "m.onnx"
    difference = export_onnx(model, INPUT_SHAPE, path)
    assert 0 <= difference <= 1e-4
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        for batch in (1, 4, 7):  # dynamic batch axis
            (got,) = session.run(None, {"input": _x(batch).numpy()})
            assert np.abs(got - model(_x(batch)).numpy()).max() <= 1e-4


def test_genotype(tmp_path: Path) -> None:
    arch = SPACE.parse(ARCH_STRING)
    path = export_genotype(tmp_path / "g.json", arch=arch, space="nb201", net=NET, input_shape=INPUT_SHAPE,
                           num_classes=NUM_CLASSES, metrics={"flops": 1.0})
    doc = json.loads(path.read_text())
    assert doc["arch_string"] == ARCH_STRING and SPACE.parse(doc["arch_string"]) == arch
    assert doc["arch"] == dict(arch) and doc["space"] == "nb201" and doc["net"] == NET
    assert doc["input_shape"] == list(INPUT_SHAPE) and doc["num_classes"] == NUM_CLASSES
    assert doc["metrics"] == {"flops": 1.0}


@needs_onnx
def test_export_all(tmp_path: Path, checkpoint_path: Path) -> None:
    written = export_all(checkpoint_path, tmp_path / "out")
    assert set(written) == {"torchscript", "onnx", "genotype"} and all(p.is_file() for p in written.values())
    assert json.loads(written["genotype"].read_text())["metrics"] == {"valid_acc": 0.5}


def test_export_all_errors(tmp_path: Path, checkpoint_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError, match="choose from: torchscript, onnx, genotype"):
        export_all(checkpoint_path, tmp_path / "out", formats=("torchscript", "tflite"))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if the extra were not installed
    with pytest.raises(UserError, match=r"pip install archsearch\[export\]"):
        export_all(checkpoint_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    written = export_all(checkpoint_path, tmp_path / "out", formats=["genotype"])
    assert set(written) == {"genotype"}


def test_an_arch_checkpoint_has_the_weights_a_study_gives_the_arch() -> None:
    checkpoint = arch_checkpoint("nb201", ARCH_STRING, "digits", NET)
    assert (checkpoint.space, checkpoint.net, checkpoint.input_shape, checkpoint.num_classes) == (
        "nb201", NET, (1, 8, 8), 10)
    arch = SPACE.parse(ARCH_STRING)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(trial_seed(0, arch))
        expected = SPACE.build(arch, **NET, num_classes=10, in_channels=1).state_dict()
    assert all(torch.equal(expected[name], tensor) for name, tensor in checkpoint.state_dict.items())
    again = arch_checkpoint(SPACE, dict(arch), "digits", NET)  # a space object and an arch mapping
    assert all(torch.equal(again.state_dict[name], tensor) for name, tensor in checkpoint.state_dict.items())
    checkpoint.build_model()  # the weights fit the rebuilt network


def test_seeded_checkpoint_of_a_tabular_dataset_and_bad_net_options() -> None:
    arch = SPACE.parse(ARCH_STRING)
    tabular = seeded_checkpoint(SPACE, arch, "cifar10", net=NET, seed=3, tabular=True, metrics={"valid_acc": 1.0})
    assert tabular.input_shape == (3, 32, 32) and tabular.num_classes == 10
    assert tabular.extra == {"metrics": {"valid_acc": 1.0}}
    with pytest.raises(UserError, match="unknown net option 'colour' for space 'nb201'; options: "):
        arch_checkpoint("nb201", ARCH_STRING, "digits", {"colour": 1})
    with pytest.raises(UserError, match="cannot build the nb201 network with net options"):
        seeded_checkpoint(SPACE, arch, "digits", net={"channels": "abc"})
    check_net_options(SPACE, NET)


def test_best_checkpoint_of_a_stored_search() -> None:
    store = InMemoryStore()
    config = {"space": "nb201", "dataset": "digits", "seed": 4, "objective": "valid_acc:max",
              "estimator_options": {"net": NET}}
    experiment = store.create_experiment("s", config, 4)
    with pytest.raises(UserError, match="no successful trial"):
        best_checkpoint(store, "s")
    worse = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    for number, (text, acc) in enumerate(((worse, 10.0), (ARCH_STRING, 50.0))):
        trial = TrialRecord(number, dict(SPACE.parse(text)), None, "ok", {"valid_acc": acc}, 1.0)
        store.record_trial(experiment.id, trial, None)
    best = best_checkpoint(store, "s")
    assert best.arch == dict(SPACE.parse(ARCH_STRING)) and best.extra == {"metrics": {"valid_acc": 50.0}}
    seeded = seeded_checkpoint(SPACE, SPACE.parse(ARCH_STRING), "digits", net=NET, seed=4)
    assert all(torch.equal(seeded.state_dict[name], tensor) for name, tensor in best.state_dict.items())
