"""MAML, Reptile, ProtoNet and Relation Network: the update rules against hand computations, and a tiny
meta-train + meta-test of each learner end to end."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from archsearch.fewshot import (EpisodeSampler, FewShotReport, conv4, count_parameters, evaluate, load_omniglot,
                                maml_adapt, meta_train, one_shot_episodes, reptile_adapt, reptile_outer_update)
from archsearch.fewshot.baselines import BASELINES, build_baseline
from archsearch.fewshot.learners import MAMLLearner, ProtoNetLearner, forward_with, prototypes


def tiny_task(ways: int = 3, per_class: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(ways * per_class, 1, 28, 28, generator=generator), torch.arange(ways).repeat(per_class)


def test_maml_one_step_is_a_manual_sgd_step() -> None:
    torch.manual_seed(0)
    model = conv4(3, hidden=4, track_running_stats=False)
    x, y = tiny_task()
    fast = maml_adapt(model, x, y, steps=1, inner_lr=0.4)
    params = dict(model.named_parameters())
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), list(params.values()))
    for (name, p), g in zip(params.items(), grads):
        torch.testing.assert_close(fast[name], p - 0.4 * g)
    head_only = maml_adapt(model, x, y, 1, 0.4, param_filter=lambda name: name.startswith("13."))
    assert head_only["0.weight"] is params["0.weight"]
    torch.testing.assert_close(head_only["13.weight"], fast["13.weight"])


class Linear1(nn.Module):
    """f(x) = x @ w with w (3,): the MAML gradients have a closed form under the squared loss."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.w


def test_second_order_has_the_hessian_term_first_order_does_not() -> None:
    model, lr = Linear1(), 0.1
    gen = torch.Generator().manual_seed(1)
    xs, ys = torch.randn(4, 3, generator=gen, dtype=torch.float64), torch.randn(4, generator=gen, dtype=torch.float64)
    xq, yq = torch.randn(5, 3, generator=gen, dtype=torch.float64), torch.randn(5, generator=gen, dtype=torch.float64)
    mse = F.mse_loss

    def meta_grad(first_order: bool) -> torch.Tensor:
        fast = maml_adapt(model, xs, ys, 1, lr, first_order=first_order, loss_fn=mse)
        return torch.autograd.grad(mse(forward_with(model, fast, xq), yq), model.w)[0]

    w = model.w.detach()
    phi = w - lr * 2 * xs.T @ (xs @ w - ys) / len(ys)  # support loss mean((Xw - y)^2)
    g_query = 2 * xq.T @ (xq @ phi - yq) / len(yq)
    hessian = 2 * xs.T @ xs / len(ys)
    torch.testing.assert_close(meta_grad(True), g_query)
    torch.testing.assert_close(meta_grad(False), (torch.eye(3, dtype=torch.float64) - lr * hessian) @ g_query)
    assert not torch.allclose(meta_grad(True), meta_grad(False))


def test_first_and_second_order_agree_when_the_hessian_vanishes() -> None:
    model = Linear1()
    x, q = torch.randn(4, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    linear_loss = lambda out, _: -out.mean()  # noqa: E731 - the loss is linear in w: zero Hessian
    grads = []
    for first_order in (True, False):
        fast = maml_adapt(model, x, None, 2, 0.3, first_order=first_order, loss_fn=linear_loss)
        grads.append(torch.autograd.grad(forward_with(model, fast, q).pow(2).mean(), model.w)[0])
    torch.testing.assert_close(grads[0], grads[1])


class WithArchLogits(nn.Module):
    """A supernet-like module: weights and architecture logits of one nn.Module, forward(x) only."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 3)
        self.alpha = nn.Parameter(torch.zeros(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mix = torch.softmax(self.alpha, 0)
        return mix[0] * self.body(x) + mix[1] * self.body(x).relu()


def test_maml_and_reptile_with_a_param_filter_on_any_module() -> None:
    torch.manual_seed(0)
    model = WithArchLogits()
    x, y = torch.randn(6, 4), torch.arange(3).repeat(2)
    fast = maml_adapt(model, x, y, 2, 0.5, param_filter=lambda n: n != "alpha")
    assert fast["alpha"] is model.alpha and not torch.equal(fast["body.weight"], model.body.weight)
    loss = F.cross_entropy(forward_with(model, fast, x), y)
    loss.backward()
    assert model.alpha.grad is not None and model.alpha.grad.abs().sum() > 0  # second order reaches alpha
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    phi = reptile_adapt(model, x, y, 3, 0.1, optimizer="sgd", param_filter=lambda n: n == "alpha")
    assert set(phi) == {"alpha"}
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())  # the module is unchanged


def test_reptile_sgd_step_and_outer_update() -> None:
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    x, y = torch.randn(6, 4), torch.arange(3).repeat(2)
    phi = reptile_adapt(model, x, y, 1, 0.2, optimizer="sgd")
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), [model.weight, model.bias])
    torch.testing.assert_close(phi["weight"], model.weight.detach() - 0.2 * grads[0])
    others = [{n: torch.randn_like(p) for n, p in model.named_parameters()} for _ in range(3)]
    theta = {n: p.detach().clone() for n, p in model.named_parameters()}
    reptile_outer_update(model, others, epsilon=0.25)
    for name, p in model.named_parameters():
        mean = torch.stack([o[name] for o in others]).mean(0)
        torch.testing.assert_close(p.detach(), theta[name] + 0.25 * (mean - theta[name]))


def test_prototypes_are_class_means_and_logits_squared_distances() -> None:
    embeddings = torch.tensor([[0.0, 2.0], [2.0, 4.0], [5.0, 5.0], [1.0, 1.0]])
    labels = torch.tensor([0, 0, 1, 1])
    torch.testing.assert_close(prototypes(embeddings, labels, 2), torch.tensor([[1.0, 3.0], [3.0, 3.0]]))
    learner = ProtoNetLearner(nn.Flatten())  # embedding = the pixels
    episode = EpisodeSampler(load_omniglot("meta-val"), 3, 2, 1, seed=0).episode(0)
    support = episode.support_x.flatten(1)
    means = torch.stack([support[episode.support_y == k].mean(0) for k in range(3)])
    expected = -torch.cdist(episode.query_x.flatten(1), means) ** 2
    torch.testing.assert_close(learner.predict(episode), expected, rtol=1e-4, atol=1e-3)


def test_maml_learner_step_matches_the_meta_gradient() -> None:
    torch.manual_seed(0)
    model = conv4(3, hidden=4, track_running_stats=False)
    episode = EpisodeSampler(load_omniglot("meta-train"), 3, 1, 1, seed=0).episode(0)
    learner = MAMLLearner(model, inner_lr=0.4, inner_steps=1, outer_lr=1e-3)
    learner.optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    fast = maml_adapt(model, episode.support_x, episode.support_y, 1, 0.4)
    grads = torch.autograd.grad(F.cross_entropy(forward_with(model, fast, episode.query_x), episode.query_y),
                                list(model.parameters()))
    learner.meta_train_step([episode])
    for (name, p), g in zip(model.named_parameters(), grads):
        torch.testing.assert_close(p.detach(), before[name] - 0.1 * g)


@pytest.mark.parametrize("name", BASELINES)
def test_each_learner_end_to_end(name: str) -> None:
    baseline = build_baseline(name, ways=5, shots=1, hidden=4, seed=0)
    learner = baseline.learner
    train = EpisodeSampler(load_omniglot("meta-train"), 5, 1, min(baseline.train_queries, 2), seed=0)
    history = meta_train(learner, train, 3, meta_batch=2)
    assert len(history.losses) == 3 and all(torch.isfinite(torch.tensor(history.losses)))
    test = EpisodeSampler(load_omniglot("meta-test"), 5, 1, 3, seed=1)
    report = evaluate(learner, test, 10)
    assert isinstance(report, FewShotReport) and report.episodes == 10 and report.ways == 5
    assert 0.0 <= report.mean_acc <= 1.0 and report.ci95 >= 0 and report.adapt_seconds_per_task > 0
    assert report.params == count_parameters(learner) > 0
    assert learner.training  # evaluate restores the mode
    again = build_baseline(name, ways=5, shots=1, hidden=4, seed=1).learner
    again.load_state_dict(learner.state_dict())
    assert evaluate(again, test, 3).accuracies == evaluate(learner, test, 3).accuracies


def test_metric_learners_take_the_one_shot_runs() -> None:
    learner = build_baseline("protonet", 5, 1, hidden=4).learner
    report = evaluate(learner, one_shot_episodes())
    assert report.episodes == 20 and report.ways == 20


def test_a_head_of_the_wrong_size_is_a_user_error() -> None:
    from archsearch.core.errors import UserError

    learner = build_baseline("maml", 5, 1, hidden=4).learner
    with pytest.raises(UserError, match="head must have 20 outputs"):
        evaluate(learner, one_shot_episodes(), 1)
