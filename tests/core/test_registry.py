"""Registries: unknown names are one-line user errors that suggest the closest registered name."""

from __future__ import annotations

import pytest

from archsearch.core.errors import UserError
from archsearch.core.options import check_options, did_you_mean
from archsearch.core.registry import DATASETS, ESTIMATORS, STRATEGIES, Registry


@pytest.mark.parametrize("registry, name, suggestion", [
    (STRATEGIES, "ranodm", "random"),
    (STRATEGIES, "evolution", "regularized-evolution"),  # a word of the name
    (ESTIMATORS, "zerocost", "zero-cost"),
    (DATASETS, "mnist", "mnist5k"),
    (STRATEGIES, "DARTS", "darts"),
])
def test_unknown_name_suggests_the_closest(registry: Registry, name: str, suggestion: str) -> None:
    with pytest.raises(UserError, match=rf"unknown \w+ '{name}' \(did you mean '{suggestion}'\?\); choose from: "):
        registry.check(name)


def test_no_suggestion_when_nothing_is_close() -> None:
    with pytest.raises(UserError) as caught:
        STRATEGIES.check("xyz")
    assert "did you mean" not in str(caught.value) and "choose from: bananas" in str(caught.value)
    assert did_you_mean(None, ["a"]) == "" and did_you_mean("", ["a"]) == ""


def test_unknown_option_suggests_the_closest() -> None:
    def factory(*, population_size: int = 10, sample_size: int = 3) -> None:
        return None

    with pytest.raises(UserError, match=r"unknown option strategy.popsize .*; options: population_size, sample_size"):
        check_options("strategy", "mine", factory, {"popsize": 4})
    with pytest.raises(UserError, match=r"\(did you mean 'sample_size'\?\)"):
        check_options("strategy", "mine", factory, {"sample_sise": 4})


def test_the_components_that_load_datasets_say_so() -> None:
    assert ESTIMATORS.uses_datasets("train") and ESTIMATORS.uses_datasets("zero-cost")
    assert STRATEGIES.uses_datasets("darts") and not STRATEGIES.uses_datasets("random")
    assert not ESTIMATORS.uses_datasets("tabular") and not ESTIMATORS.uses_datasets("nb301")
    assert not ESTIMATORS.uses_datasets("nosuch")
