"""archsearch.activation_study: the top functions of a stored activation search, seed runs against ReLU and
their statistics (tiny budgets, an in-memory store)."""

from __future__ import annotations

import math

import pytest

from archsearch.activation_study import (ActivationEvaluation, evaluate_activations, objective_of, paired_test,
                                         prepare_evaluation, study_functions, summarise, table_functions,
                                         top_functions, top_trials)
from archsearch.benchmarks.table import TableMeta, write_table
from archsearch.core.errors import UserError
from archsearch.spaces.activation import ActivationSpace
from archsearch.store.base import TrialRecord
from archsearch.store.memory import InMemoryStore

SPACE = ActivationSpace()
SWISH = "sigmoid_mul(beta_mul(x), x(x))"
TINY = {"dataset": "mnist1d", "seeds": 2, "epochs": 0.5, "options": {"fraction": 0.2}}


def _trial(number: int, arch: str, acc: float, status: str = "ok") -> TrialRecord:
    return TrialRecord(number, dict(SPACE.parse(arch)), None, status, {"valid_acc": acc, "test_acc": acc - 1}, 1.0)


def _store(space: str = "activation", objective: str = "valid_acc:max") -> InMemoryStore:
    store = InMemoryStore()
    experiment = store.create_experiment("act", {"space": space, "objective": objective}, 0)
    for trial in (_trial(0, "add(x(x), zero(x))", 50.0), _trial(1, SWISH, 70.0), _trial(2, SWISH, 70.0),
                  _trial(3, "max(x(x), zero(x))", 60.0), _trial(4, "add(x(x), x(x))", math.nan, "failed")):
        store.record_trial(experiment.id, trial, None)
    return store


def _runs(accuracies: list[float], failed: int = 0) -> list[dict]:
    runs = [{"seed": s, "status": "ok", "test_acc": a, "valid_acc": a + 1} for s, a in enumerate(accuracies)]
    return runs + [{"seed": len(runs) + s, "status": "failed", "test_acc": math.nan, "valid_acc": math.nan}
                   for s in range(failed)]


def test_top_trials_keep_one_per_arch_and_the_direction() -> None:
    trials = _store().trials(1)
    assert [t.number for t in top_trials(trials, "valid_acc", True, 5)] == [1, 3, 0]  # 2 repeats 1, 4 failed
    assert [t.number for t in top_trials(trials, "valid_acc", False, 2)] == [0, 3]
    assert objective_of({"objective": "latency:min,valid_acc:max"}) == ("latency", False)
    assert objective_of({"objective": "valid_acc"}) == ("valid_acc", True)


def test_top_functions_and_study_functions_of_a_store() -> None:
    store = _store()
    found = top_functions(store, "act", 2)
    assert found.is_activation_search and found.metric == "valid_acc" and found.failed == 1
    assert [t.number for t in found.top] == [1, 3] and len(found.trials) == 5
    assert study_functions(store, "act", 1) == ("activation", [SWISH])
    with pytest.raises(UserError, match="--space activation2 differs"):
        study_functions(store, "act", 1, space="activation2")
    with pytest.raises(UserError, match="at least 1"):
        top_functions(store, "act", 0)


def test_a_search_of_another_space_has_no_functions() -> None:
    store = InMemoryStore()
    store.create_experiment("nb", {"space": "nb201", "objective": "valid_acc:max"}, 0)
    assert not top_functions(store, "nb", 3).is_activation_search
    with pytest.raises(UserError, match="not activation functions"):
        study_functions(store, "nb", 3)


def test_summaries_and_the_paired_t_test_against_relu() -> None:
    relu = _runs([90.0, 91.0, 92.0])
    better = summarise(_runs([92.0, 93.1, 93.9], failed=1), relu)
    assert better["ok_runs"] == 3 and better["failed_runs"] == 1
    assert better["test_mean"] == pytest.approx(93.0) and better["valid_mean"] == pytest.approx(94.0)
    assert better["diff_vs_relu"] == pytest.approx(2.0) and better["p_vs_relu"] < 0.05
    assert "p_vs_relu" not in summarise(relu, relu)  # ReLU is not tested against itself
    assert paired_test(_runs([95.0, 96.0, 97.0]), relu) == {"diff_vs_relu": 5.0, "p_vs_relu": 0.0}  # constant gap
    assert math.isnan(paired_test(_runs([95.0]), relu)["p_vs_relu"])  # one pair: no test
    lone = summarise(_runs([80.0]), None)
    assert lone["test_mean"] == 80.0 and math.isnan(lone["test_std"]) and "diff_vs_relu" not in lone


def test_the_top_functions_of_an_activation_table(tmp_path) -> None:
    meta = TableMeta(space="activation", dataset="mnist1d", dims=SPACE.dims(), fidelities=(3.0,),
                     metrics={"valid_acc": "max", "train_seconds": "min"}, objective="valid_acc", report="valid_acc",
                     cost="train_seconds")
    rows = [{**SPACE.parse(arch), "fidelity": 3.0, "valid_acc": acc, "train_seconds": 1.0}
            for arch, acc in (("max(x(x), zero(x))", 60.0), (SWISH, 70.0), ("add(x(x), zero(x))", 50.0),
                              ("max(relu(x), zero(x))", 65.0))]  # ReLU again, better: it stands for ReLU
    rows.append({**SPACE.parse("sub(x(x), x(x))"), "fidelity": 3.0, "train_seconds": 0.0, "failure": "constant"})
    path = write_table(tmp_path / "act.parquet", meta, rows)
    assert table_functions(str(path), 2) == ("activation", [SWISH, "max(relu(x), zero(x))"])  # one ReLU
    assert table_functions(str(path), 10)[1][-1] == "add(x(x), zero(x))"  # the failed one is left out
    with pytest.raises(UserError, match="not a table of activation functions"):
        table_functions("nb201", 2)
    with pytest.raises(UserError, match="at least 1"):
        table_functions(str(path), 0)


def test_an_evaluation_runs_every_function_for_every_seed() -> None:
    seen = []
    evaluation = evaluate_activations([SWISH, "swish"], baselines=["ReLU", " swish "],
                                      on_function=lambda f, s: seen.append((f, s["ok_runs"])), **TINY)
    assert isinstance(evaluation, ActivationEvaluation)
    assert evaluation.functions == ["relu", "swish", SWISH] and seen == [("relu", 2), ("swish", 2), (SWISH, 2)]
    table = evaluation.table()
    assert table["swish"]["test_mean"] == table[SWISH]["test_mean"]  # the same function, seeds and batches
    assert evaluation.label("swish") == "swish" and "(Swish)" in evaluation.label(SWISH)
    assert table["swish"]["p_holm_vs_relu"] == pytest.approx(min(1.0, 2 * min(table[f]["p_vs_relu"] for f in ("swish", SWISH))))
    assert evaluation.better_than_relu(table) == [f for f in ("swish", SWISH) if table[f]["p_holm_vs_relu"] < 0.05
                                                  and table[f]["diff_vs_relu"] > 0]
    document = evaluation.to_dict()
    assert document["seeds"] == 2 and document["space"] == "activation"
    assert [run["seed"] for run in document["functions"]["relu"]["runs"]] == [0, 1]


@pytest.mark.parametrize("functions, settings, message", [
    (["relu"], {"seeds": 0}, "--seeds must be at least 1"),
    (["relu"], {"epochs": 0.0}, "--epochs must be a positive number"),
    (["relu"], {"space": "nope"}, "nope"),
    ([], {"baselines": ["relu", "softmaxx"]}, "unknown baseline 'softmaxx'"),
    ([], {"baselines": []}, "no function to evaluate"),
    (["add(nope(x), x(x))"], {}, "unknown unary op"),
])
def test_bad_settings_are_user_errors_before_training(functions: list[str], settings: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        prepare_evaluation(functions, **{**TINY, **settings})
