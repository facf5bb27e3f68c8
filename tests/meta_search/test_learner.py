"""T-NAS / MetaNAS meta-architecture search on a few-shot network of NB201 supernet cells (tiny settings)."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from archsearch.core.arch import Arch
from archsearch.fewshot.data import load_omniglot
from archsearch.fewshot.episodes import EpisodeSampler
from archsearch.fewshot.learners.base import evaluate, meta_train
from archsearch.meta_search import MetaArchitectureLearner, MetaSearchSettings
from archsearch.nn.fewshot_cells import ARCH_PARAMETER, FewShotCellNetwork
from archsearch.nn.mixed import MixedOp
from archsearch.spaces.nb201 import EDGE_DIMS

TINY = {"channels": 4, "stages": 2, "meta_batch": 2, "queries": 2, "test_steps": 1, "finetune_steps": 1,
        "reptile_steps": 2}
CONV_CELL = Arch({name: "nor_conv_3x3" if k % 2 else "skip_connect" for k, name in enumerate(EDGE_DIMS)})


def test_a_fixed_arch_with_a_cut_off_node_still_runs() -> None:
    net = FewShotCellNetwork(5, channels=4, stages=2).fix(Arch({name: "none" for name in EDGE_DIMS}))
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, 5)


def test_a_fixed_arch_runs_only_its_ops_and_counts_only_their_parameters() -> None:
    net = FewShotCellNetwork(5, channels=4, stages=2).fix(CONV_CELL)
    net(torch.randn(3, 1, 28, 28))
    mixed = [m for m in net.modules() if isinstance(m, MixedOp)]
    assert sum(m.calls for m in mixed) == 2 * 6  # one op per edge, 2 cells
    conv = 4 * 4 * 9 + 2 * 4  # conv3x3 + its BatchNorm
    stem, head = 1 * 4 * 9 + 2 * 4, 2 * 4 + 4 * 5 + 5
    assert net.discrete_parameters(CONV_CELL) == stem + head + 2 * 3 * conv


def test_one_inner_step_is_sgd_with_separate_rates_for_weights_and_logits() -> None:
    settings = MetaSearchSettings(inner_lr=0.3, arch_inner_lr=0.05, **TINY)
    learner = MetaArchitectureLearner(settings, seed=0)
    x, y = torch.randn(5, 1, 28, 28), torch.arange(5)
    learner.net.train()
    params = dict(learner.net.named_parameters())
    loss = F.cross_entropy(learner.net(x), y)
    grads = dict(zip(params, torch.autograd.grad(loss, list(params.values()), allow_unused=True)))
    fast = learner.adapt(x, y, steps=1)
    assert torch.allclose(fast[ARCH_PARAMETER], params[ARCH_PARAMETER] - 0.05 * grads[ARCH_PARAMETER])
    name = "stem.0.weight"
    assert torch.allclose(fast[name], params[name] - 0.3 * grads[name])


def run(method: str) -> tuple[MetaArchitectureLearner, float]:
    learner = MetaArchitectureLearner(MetaSearchSettings(method=method, **TINY), seed=1)
    before = learner.net.arch_logits.detach().clone()
    train = EpisodeSampler(load_omniglot("meta-train"), 5, 1, 2, seed=0)
    history = meta_train(learner, train, 3)
    assert len(history.losses) == 3 and not torch.equal(before, learner.net.arch_logits.detach())
    test = EpisodeSampler(load_omniglot("meta-test"), 5, 1, 3, seed=2)
    report = evaluate(learner, test, 10)
    assert report.episodes == 10 and 0.0 <= report.mean_acc <= 1.0 and len(learner.derived) == 10
    return learner, report.mean_acc


def test_tnas_and_metanas_meta_train_and_meta_test_end_to_end() -> None:
    for method in ("tnas", "metanas"):
        learner, accuracy = run(method)
        restored = MetaArchitectureLearner.from_bytes(learner.to_bytes())
        for name, tensor in learner.state_dict().items():
            assert torch.equal(tensor, restored.state_dict()[name])
        assert 0 < learner.deployed_parameters() <= sum(p.numel() for p in learner.net.parameters())


def test_cli_meta_search_then_meta_test_name(tmp_path, capsys) -> None:
    from archsearch.cli.main import main

    store = str(tmp_path / "runs.db")
    assert main(["meta-search", "--iterations", "2", "--val-every", "0", "--checkpoint-every", "1", "--store", store,
                 "--name", "m", "--quiet", "--set", "channels=4", "--set", "stages=2", "--set", "meta_batch=1",
                 "--set", "queries=1"]) == 0
    assert main(["meta-test", "m", "--store", store, "--episodes", "2", "--queries", "1"]) == 0
    out = capsys.readouterr().out
    assert "meta-test alphabets, 5-way 1-shot" in out and "task-specific archs" in out
    assert main(["show", "m", "--store", store]) == 0
    assert "meta-architecture search: 2 outer steps" in capsys.readouterr().out
    assert main(["meta-test", "m", "--store", store, "--ways", "3"]) == 2
    assert main(["meta-search", "--method", "darts", "--store", store]) == 2


def test_a_derived_net_keeping_op_weights_matches_a_confident_relaxed_net() -> None:
    """MetaNAS's soft pruning: once the (tempered) softmax is nearly one-hot, the derived net computes what the
    relaxed one did; the kept softmax weight of each chosen op is a constant factor."""
    torch.manual_seed(0)
    net = FewShotCellNetwork(5, channels=4, stages=2)
    with torch.no_grad():
        net.arch_logits.copy_(torch.randn(6, 5))
    net.temperature = 0.01
    x = torch.randn(4, 1, 28, 28)
    relaxed = net(x)
    arch = net.derive()
    torch.testing.assert_close(net.fix(arch, net.arch_logits)(x), relaxed, atol=1e-4, rtol=1e-4)
    assert all(0.9 < s <= 1.0 for s in net.fixed_scales)
    net.temperature = 1.0
    half = net.fix(arch, net.arch_logits)(x)
    assert not torch.allclose(half, net.fix(arch)(x))  # the factors change the function at T = 1
    assert net.fix(None).fixed_scales is None


def test_the_temperature_anneals_exponentially_to_its_end_value() -> None:
    learner = MetaArchitectureLearner(MetaSearchSettings(temperature_end=0.01, **TINY), seed=0)
    learner.start(10)
    assert learner.temperature(0) == 1.0
    assert abs(learner.temperature(5) - 0.1) < 1e-9
    assert abs(learner.temperature(10) - 0.01) < 1e-12 and learner.temperature(30) == learner.temperature(10)


DARTS_TINY = {**TINY, "space": "darts", "channels": 2, "stages": 2}


def test_each_space_has_its_default_network_size_and_an_unknown_space_is_a_user_error() -> None:
    import pytest

    from archsearch.core.errors import UserError
    from archsearch.nn.fewshot_darts import FewShotDartsNetwork

    assert (MetaSearchSettings().check().channels, MetaSearchSettings().check().stages) == (16, 4)
    darts = MetaSearchSettings(space="darts").check()
    assert (darts.channels, darts.stages) == (8, 3)
    assert isinstance(MetaArchitectureLearner(MetaSearchSettings(**DARTS_TINY)).net, FewShotDartsNetwork)
    with pytest.raises(UserError, match="no network for space 'mobile'"):
        MetaSearchSettings(space="mobile").check()


def test_tnas_on_darts_cells_meta_trains_adapts_per_task_and_restores() -> None:
    learner = MetaArchitectureLearner(MetaSearchSettings(**DARTS_TINY), seed=1)
    before = learner.net.arch_logits.detach().clone()
    meta_train(learner, EpisodeSampler(load_omniglot("meta-train"), 5, 1, 1, seed=0), 2)
    assert not torch.equal(before, learner.net.arch_logits.detach())
    report = evaluate(learner, EpisodeSampler(load_omniglot("meta-test"), 5, 1, 2, seed=2), 2)
    assert report.episodes == 2 and len(learner.derived) == 2
    assert 0 < learner.deployed_parameters() < report.params
    restored = MetaArchitectureLearner.from_bytes(learner.to_bytes())
    assert restored.settings.space == "darts" and torch.equal(restored.net.arch_logits, learner.net.arch_logits)


def test_the_protonet_search_steps_weights_on_even_episodes_and_logits_on_odd_ones() -> None:
    learner = MetaArchitectureLearner(MetaSearchSettings(method="protonet", **DARTS_TINY), seed=0)
    assert learner.net(torch.randn(2, 1, 28, 28)).dim() == 2  # an embedding: no head
    episodes = EpisodeSampler(load_omniglot("meta-train"), 3, 1, 1, seed=0).batch(0, 2)
    logits, stem = learner.net.arch_logits.detach().clone(), learner.net.supernet.stem[0].weight.detach().clone()
    learner.start(1)
    loss = learner.meta_train_step(episodes[:1])  # one episode: both steps
    assert loss > 0 and not torch.equal(logits, learner.net.arch_logits)
    assert not torch.equal(stem, learner.net.supernet.stem[0].weight)
    report = evaluate(learner, EpisodeSampler(load_omniglot("meta-test"), 3, 1, 2, seed=2), 2)
    assert report.ways == 3 and len(learner.derived) == 2


def test_cli_meta_test_json_of_a_darts_meta_search_records_the_derived_nets_size(tmp_path) -> None:
    import json

    from archsearch.cli.main import main

    store, out = str(tmp_path / "runs.db"), tmp_path / "t.json"
    assert main(["meta-search", "--space", "darts", "--iterations", "1", "--val-every", "0", "--store", store,
                 "--name", "d", "--quiet", "--set", "channels=2", "--set", "stages=2", "--set", "meta_batch=1",
                 "--set", "queries=1"]) == 0
    assert main(["meta-test", "d", "--store", store, "--episodes", "2", "--queries", "1", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["space"] == "darts" and 0 < result["derived_params_mean"] < result["params"]


def test_the_arch_warmup_steps_train_the_weights_alone_then_the_logits_move() -> None:
    settings = MetaSearchSettings(method="protonet", arch_warmup=1, **DARTS_TINY)
    learner = MetaArchitectureLearner(settings, seed=0)
    episodes = EpisodeSampler(load_omniglot("meta-train"), 3, 1, 1, seed=0).batch(0, 2)
    logits, stem = learner.net.arch_logits.detach().clone(), learner.net.supernet.stem[0].weight.detach().clone()
    learner.start(2)
    assert learner.warming_up()
    learner.meta_train_step(episodes)
    assert torch.equal(logits, learner.net.arch_logits) and not torch.equal(stem, learner.net.supernet.stem[0].weight)
    assert not learner.warming_up()
    learner.meta_train_step(episodes)
    assert not torch.equal(logits, learner.net.arch_logits)


def test_metanas_holds_its_logits_during_the_warmup() -> None:
    learner = MetaArchitectureLearner(MetaSearchSettings(method="metanas", arch_warmup=1, **TINY), seed=0)
    episodes = EpisodeSampler(load_omniglot("meta-train"), 3, 1, 2, seed=0).batch(0, 2)
    logits, stem = learner.net.arch_logits.detach().clone(), learner.net.stem[0].weight.detach().clone()
    learner.start(2)
    learner.meta_train_step(episodes)
    assert torch.equal(logits, learner.net.arch_logits) and not torch.equal(stem, learner.net.stem[0].weight)
    learner.meta_train_step(episodes)
    assert not torch.equal(logits, learner.net.arch_logits)
