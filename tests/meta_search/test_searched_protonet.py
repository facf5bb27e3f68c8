"""The embedding a protonet meta-search found, fitted to a parameter budget and retrained as a ProtoNet."""

from __future__ import annotations

import pytest
import torch

from archsearch.core.errors import UserError
from archsearch.fewshot.learners.protonet import ProtoNetLearner
from archsearch.meta_search import (MetaArchitectureLearner, MetaSearchSettings, derived_embedding,
                                    searched_protonet_baseline)
from archsearch.meta_search.learner import NETWORKS
from archsearch.meta_search.searched_protonet import WIDTHS, build_embedding, live_arch, parameters_of

SEARCH = MetaSearchSettings(method="protonet", space="darts", channels=2, stages=2)


@pytest.mark.parametrize("space", sorted(NETWORKS))
def test_the_embedding_is_the_widest_within_the_budget_and_counts_only_its_weights(space: str) -> None:
    learner = MetaArchitectureLearner(MetaSearchSettings(method="protonet", space=space, channels=2, stages=2))
    embedding, width = derived_embedding(learner, max_params=20_000)
    total = sum(p.numel() for p in embedding.parameters())
    assert total == parameters_of(embedding) <= 20_000
    wider = build_embedding(space, learner.net.derive(), width + WIDTHS.step, 2)
    assert parameters_of(wider) > 20_000
    assert embedding.fixed == live_arch(space, learner.net.derive())
    assert embedding(torch.randn(3, 1, 28, 28)).flatten(1).shape[0] == 3  # (3, D) embeddings


def test_the_recipe_is_protonet_with_its_training_episodes() -> None:
    baseline, width = searched_protonet_baseline(MetaArchitectureLearner(SEARCH), 5, 1, max_params=20_000,
                                                 max_train_ways=40)
    assert isinstance(baseline.learner, ProtoNetLearner) and width >= WIDTHS[0]
    assert (baseline.train_ways, baseline.train_shots, baseline.train_queries) == (40, 1, 5)


def test_a_budget_too_small_or_a_search_of_another_method_is_a_user_error() -> None:
    with pytest.raises(UserError, match="more than 100 parameters"):
        derived_embedding(MetaArchitectureLearner(SEARCH), max_params=100)
    with pytest.raises(UserError, match="no searched embedding"):
        derived_embedding(MetaArchitectureLearner(MetaSearchSettings(channels=2, stages=2)))


def test_cli_meta_test_retrains_a_searched_protonet(tmp_path, capsys) -> None:
    import json

    from archsearch.cli.main import main

    store = str(tmp_path / "runs.db")
    assert main(["meta-search", "--method", "protonet", "--space", "darts", "--iterations", "2", "--val-every", "0",
                 "--store", store, "--name", "p", "--quiet", "--set", "channels=2", "--set", "stages=2",
                 "--set", "meta_batch=2", "--set", "queries=1"]) == 0
    out = tmp_path / "p.json"
    assert main(["meta-test", "p", "--store", store, "--episodes", "2", "--queries", "1", "--meta-iterations", "1",
                 "--max-params", "20000", "--quiet", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["method"] == "protonet" and result["space"] == "darts" and result["params"] <= 20_000
    assert result["meta_iterations"] == 1 and result["episodes"] == 2
    assert result["embedding_arch"] == result["arch"]  # a DARTS genotype has no dead edges
    assert main(["meta-test", "p", "--store", store, "--max-params", "10", "--meta-iterations", "1"]) == 2
    assert "more than 10 parameters" in capsys.readouterr().err


def test_an_nb201_embedding_spends_its_budget_on_live_edges_only() -> None:
    from archsearch.core.arch import Arch
    from archsearch.nn.topology import EDGE_DIMS

    one_conv = Arch(dict(zip(EDGE_DIMS, ["none", "none", "none", "nor_conv_3x3", "none", "none"])))
    dead_node = Arch(dict(zip(EDGE_DIMS, ["none", "nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "none", "none"])))
    assert live_arch("nb201", dead_node) == one_conv  # node 2 reaches the output through 'none' only
    assert parameters_of(build_embedding("nb201", dead_node, 8, 2)) == parameters_of(
        build_embedding("nb201", one_conv, 8, 2))
