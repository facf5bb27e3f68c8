"""The one-shot section states how a shared-weight ranking agrees with the study's table (Kendall tau, Spearman)
over the ranked archs the table holds, and stays silent without a table or with too few of them."""

from __future__ import annotations

from archsearch.benchmarks import load_benchmark
from archsearch.report.study_report import ranking_agreement
from archsearch.store.base import EpochRecord

CONFIG = {"benchmark": "nb201-mnist5k", "dataset": "mnist5k", "fidelity": 4, "objective": "valid_acc:max",
          "space": "nb201"}


def ranking(scores: list[float]) -> EpochRecord:
    table = load_benchmark("nb201-mnist5k")
    archs = [dict(table.arch_at(i)) for i in range(len(scores))]
    return EpochRecord(1, 0.0, {}, archs[0], "ranking", list(zip(archs, scores)))


def test_a_ranking_equal_to_the_table_has_tau_one() -> None:
    table = load_benchmark("nb201-mnist5k")
    truth = [table.query(table.arch_at(i), "mnist5k", 4)["valid_acc"] + 1e-6 * i for i in range(20)]
    text = ranking_agreement(CONFIG, ranking(truth))
    assert text is not None and "over the 20 ranked archs" in text and "valid_acc at 4 epochs" in text
    assert float(text.split("Spearman rho ")[1].split()[0]) >= 0.98  # the table ties some archs
    assert float(text.split("Kendall tau ")[1].split(",")[0]) >= 0.9


def test_no_statement_without_a_table_or_with_few_archs() -> None:
    assert ranking_agreement({**CONFIG, "benchmark": None}, ranking([1.0] * 10)) is None
    assert ranking_agreement(CONFIG, ranking([1.0, 2.0, 3.0])) is None
