"""NB301Estimator: the NAS-Bench-301 surrogate (YAHPO Gym ONNX) scoring darts archs; its encoding, fidelities,
pickling, config defaults and CLI use."""

from __future__ import annotations

import importlib.util
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from archsearch.cli.main import main  # noqa: E402
from archsearch.config import StudyConfig  # noqa: E402
from archsearch.core.errors import ArchError, UserError  # noqa: E402
from archsearch.core.registry import ESTIMATORS  # noqa: E402
from archsearch.estimators import nb301  # noqa: E402
from archsearch.estimators.nb301 import COLUMN_PREFIX, NA, NB301Estimator, encode, surrogate_spec  # noqa: E402
from archsearch.spaces.darts import DARTS_V2, DartsSpace  # noqa: E402
from archsearch.spaces.nb201 import NB201Space  # noqa: E402
from tests.conftest import search_and_show  # noqa: E402

SPACE = DartsSpace(none_op=False)
RANDOM_CELLS = 100


@pytest.fixture(scope="module")
def estimator() -> NB301Estimator:
    return NB301Estimator(space=SPACE)


@pytest.fixture(scope="module")
def darts_v2():
    return SPACE.parse(DARTS_V2)


def random_archs(count: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [SPACE.sample(rng) for _ in range(count)]


def test_predictions_are_deterministic_also_in_a_fresh_estimator(estimator, darts_v2) -> None:
    first, second = estimator.evaluate(darts_v2), estimator.evaluate(darts_v2)
    fresh = NB301Estimator().evaluate(darts_v2)
    assert first.ok and first.metrics == second.metrics == fresh.metrics
    assert first.cost_seconds == fresh.cost_seconds == first.metrics["train_seconds"] > 0
    other = random_archs(1, seed=7)[0]
    assert estimator.evaluate(other).metrics == NB301Estimator().evaluate(other).metrics


def test_darts_v2_is_plausible_and_beats_the_median_random_cell(estimator, darts_v2) -> None:
    v2 = estimator.evaluate(darts_v2)
    assert v2.fidelity == 98 and tuple(v2.metrics) == estimator.metrics()
    assert 80.0 < v2.metrics["valid_acc"] < 96.0 and v2.metrics["valid_acc"] == v2.metrics["final_valid_acc"]
    scores = np.array([estimator.evaluate(arch).metrics["valid_acc"] for arch in random_archs(RANDOM_CELLS)])
    assert ((scores > 80.0) & (scores < 96.0)).all()
    assert np.unique(scores).size > RANDOM_CELLS // 2  # the arch matters
    assert v2.metrics["valid_acc"] > np.median(scores)


def test_more_epochs_give_higher_accuracy_and_cost(estimator, darts_v2) -> None:
    ladder = estimator.fidelities()
    assert ladder == (1, 4, 11, 33, 98)
    results = [estimator.evaluate(darts_v2, fidelity) for fidelity in ladder]
    accuracy = [r.metrics["valid_acc"] for r in results]
    seconds = [r.cost_seconds for r in results]
    assert accuracy == sorted(accuracy) and len(set(accuracy)) == len(accuracy)
    assert seconds == sorted(seconds) and len(set(seconds)) == len(seconds)
    assert {r.metrics["final_valid_acc"] for r in results} == {accuracy[-1]}
    assert [r.fidelity for r in results] == list(ladder)
    assert estimator.evaluate(darts_v2, 33.0).metrics == results[3].metrics


def test_darts_v2_columns_follow_nas_bench_301_naming(darts_v2) -> None:
    spec = surrogate_spec()
    row = dict(zip(spec.columns, encode(darts_v2)))
    decode = {column: {code: value for value, code in spec.codes[column].items()} for column in spec.columns}
    values = {column[len(COLUMN_PREFIX):]: decode[column][int(code)] for column, code in row.items()}
    # normal node 5 = ('skip_connect', 0), ('dil_conv_3x3', 2): edges 9 + 0 and 9 + 2, inputs "0_2"
    assert values["edge_normal_9"] == "skip_connect" and values["edge_normal_11"] == "dil_conv_3x3"
    assert values["inputs_node_normal_5"] == "0_2" and values["edge_normal_10"] == NA
    # reduce node 3 = ('skip_connect', 2), ('max_pool_3x3', 1): edges 2 + 2 and 2 + 1, inputs "1_2"
    assert values["edge_reduce_4"] == "skip_connect" and values["edge_reduce_3"] == "max_pool_3x3"
    assert values["inputs_node_reduce_3"] == "1_2" and values["edge_reduce_2"] == NA
    assert values["edge_normal_0"] == values["edge_normal_1"] == "sep_conv_3x3"


def test_active_edges_are_those_the_config_space_conditions_allow() -> None:
    spec = surrogate_spec()
    path = Path(nb301.__file__).parents[1] / "benchmarks" / "data" / "nb301" / "config_space_v2.json"
    conditions = json.loads(path.read_text())["conditions"]
    for arch in random_archs(50, seed=1):
        values = {c: v for c, code in zip(spec.columns, encode(arch))
                  for v, k in spec.codes[c].items() if k == code}
        active = {c for c, v in values.items() if "edge_" in c and v != NA}
        allowed = {c["child"] for c in conditions if values[c["parent"]] in c["values"]}
        always = {COLUMN_PREFIX + f"edge_{cell}_{k}" for cell in ("normal", "reduce") for k in (0, 1)}
        assert active == allowed | always and len(active) == 16
        assert all(v != NA for c, v in values.items() if "inputs_node" in c)


def test_batch_predict_matches_evaluate(estimator) -> None:
    archs = random_archs(5, seed=2)
    outputs = estimator.predict(np.stack([encode(a) for a in archs]), 98)
    assert outputs.shape == (5, 4)
    assert [100.0 * float(v) for v in outputs[:, 0]] == [estimator.evaluate(a).metrics["valid_acc"] for a in archs]


def test_fidelity_dataset_and_space_errors(estimator, darts_v2) -> None:
    for bad in (0, 99, 2.5, float("nan"), True, "12"):
        with pytest.raises(UserError, match="1..98"):
            estimator.evaluate(darts_v2, bad)
    with pytest.raises(UserError, match="1..98"):
        NB301Estimator(fidelity=200)
    with pytest.raises(UserError, match="cifar10 only"):
        NB301Estimator(dataset="cifar100")
    with pytest.raises(UserError, match="space 'darts'"):
        NB301Estimator(space=NB201Space())
    with pytest.raises(UserError, match="threads"):
        NB301Estimator(threads=0)


def test_archs_nas_bench_301_cannot_express_fail_softly(estimator) -> None:
    with_none = DartsSpace().parse(DARTS_V2.replace("('skip_connect', 0)", "('none', 0)", 1))
    result = estimator.evaluate(with_none)
    assert result.status == "failed" and "'none'" in result.error and "none_op=false" in result.error
    assert not estimator.evaluate(NB201Space().sample(np.random.default_rng(0))).ok


def test_the_space_without_none(darts_v2) -> None:
    assert all("none" not in dict(a).values() for a in random_archs(30))
    with pytest.raises(ArchError):
        SPACE.parse(DARTS_V2.replace("('skip_connect', 0)", "('none', 0)", 1))
    assert DartsSpace().sample(np.random.default_rng(3)) == DartsSpace(none_op=True).sample(np.random.default_rng(3))
    with pytest.raises(UserError, match="none_op"):
        DartsSpace(none_op="no")


def test_pickles_without_its_session(estimator, darts_v2) -> None:
    expected = estimator.evaluate(darts_v2, 11)  # the session exists now
    copy = pickle.loads(pickle.dumps(estimator))
    assert copy._session is None and copy.fidelity == estimator.fidelity
    assert copy.evaluate(darts_v2, 11).metrics == expected.metrics
    assert pickle.loads(pickle.dumps(NB301Estimator(fidelity=4))).fidelity == 4


def test_missing_onnxruntime_is_a_user_error(monkeypatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxruntime" else real_find_spec(name, *a))
    with pytest.raises(UserError, match=r"pip install archsearch\[nb301\]"):
        NB301Estimator()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    with pytest.raises(UserError, match=r"pip install archsearch\[nb301\]"):
        nb301.new_session()


def test_registry_and_config_defaults() -> None:
    assert isinstance(ESTIMATORS.create("nb301", fidelity=11), NB301Estimator)
    config = StudyConfig()
    config.set("estimator", "nb301")
    config.validate()
    assert (config.space, config.space_options, config.benchmark) == ("darts", {"none_op": False}, None)
    assert config.fidelity is None and config.report == "final_valid_acc" and config.objective == "valid_acc:max"
    explicit = StudyConfig()
    for key, value in (("estimator", "nb301"), ("space", "darts"), ("space.none_op", True), ("fidelity", 11)):
        explicit.set(key, value)
    explicit.validate()
    assert explicit.space_options == {"none_op": True} and explicit.fidelity == 11


def test_cli_search_and_user_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = str(tmp_path / "runs.db")
    trials = search_and_show(store, "s", "--space", "darts", "--estimator", "nb301", "--max-trials", "10",
                             capsys=capsys)["trials"]
    assert len(trials) == 10 and all(t["status"] == "ok" for t in trials)
    assert all(80.0 < t["metrics"]["valid_acc"] < 96.0 and t["fidelity"] == 98 for t in trials)
    assert main(["search", "--space", "nb201", "--estimator", "nb301", "--max-trials", "3", "--store", store]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "space 'darts'" in err
