"""Zero-cost proxies: score a freshly initialised network from one batch, without training.

Abdelfattah, Mehrotra, Dudziak & Lane, ICLR 2021, "Zero-Cost Proxies for Lightweight NAS" (synflow, snip,
grad_norm, jacov as compared there); Tanaka et al. 2020 (SynFlow); Lee et al. 2019 (SNIP); Mellor et al.
2021, "Neural Architecture Search without Training" (jacov = v1 Jacobian covariance, naswot = log-det of
the ReLU activation-pattern kernel). Sums run over the weights of Conv2d and Linear layers, as in the
reference implementations (mohsaied/zero-cost-nas, NASLib ``predictors/utils/pruners/measures``).

``synflow`` needs no data: the network (BatchNorm removed, as the reference's ``bn=False``) is cast to
double, every parameter replaced by its absolute value, an all-ones input of one example is passed
forward, ``R = sum(output)`` backward, and the score is ``sum |theta * dR/dtheta|``.

``ZeroCostEstimator`` seeds each network exactly as ``TrainEstimator`` does (``trial_seed``); the batch
of the data proxies is the first ``batch_size`` train examples of the dataset.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from archsearch.core.arch import Arch
from archsearch.core.device import resolve_device
from archsearch.core.errors import ArchError, UserError
from archsearch.core.estimator import Estimator
from archsearch.core.options import check_bool, check_int
from archsearch.core.result import Result
from archsearch.core.space import SearchSpace
from archsearch.estimators.train import DEFAULT_DATASET, check_net_builds, load_dataset, trial_seed

Proxy = Callable[[nn.Module, torch.Tensor, torch.Tensor], float]
_WEIGHTED = (nn.Conv2d, nn.Linear)


def _weighted_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, _WEIGHTED)]


def _without_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every BatchNorm replaced by identity."""
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())
    return model


def synflow(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """SynFlow (data-free): sum |theta * dR/dtheta| with |theta| weights, R = sum(f(ones)), in double."""
    net = _without_batchnorm(model).double().train()
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.abs_()
    net.zero_grad()
    ones = torch.ones((1, *x.shape[1:]), dtype=torch.float64, device=x.device)
    net(ones).sum().backward()
    with torch.no_grad():
        return float(sum(float((m.weight * m.weight.grad).abs().sum())
                         for m in _weighted_layers(net) if m.weight.grad is not None))


def _loss_backward(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> nn.Module:
    net = copy.deepcopy(model).train()
    net.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    return net


def grad_norm(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Sum over Conv2d/Linear layers of the L2 norm of the cross-entropy gradient of the weight."""
    net = _loss_backward(model, x, y)
    return float(sum(float(m.weight.grad.norm()) for m in _weighted_layers(net) if m.weight.grad is not None))


def snip(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """SNIP connection sensitivity: sum |theta * dL/dtheta| (= |dL/dmask| at mask = 1)."""
    net = _loss_backward(model, x, y)
    with torch.no_grad():
        return float(sum(float((m.weight * m.weight.grad).abs().sum())
                         for m in _weighted_layers(net) if m.weight.grad is not None))


def jacov(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """Mellor et al. v1: -sum(log(v + k) + 1/(v + k)) over eigenvalues v of the input-Jacobian correlation."""
    net = copy.deepcopy(model).train()
    inputs = x.detach().clone().requires_grad_(True)
    output = net(inputs)
    output.backward(torch.ones_like(output))
    jacobian = inputs.grad.reshape(inputs.shape[0], -1).double().cpu().numpy()
    with np.errstate(all="ignore"):
        correlations = np.corrcoef(jacobian)
    if not np.all(np.isfinite(correlations)):
        return math.nan
    eigenvalues = np.linalg.eigvalsh(correlations)
    k = 1e-5
    return float(-np.sum(np.log(eigenvalues + k) + 1.0 / (eigenvalues + k)))


def naswot(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """NASWOT: log|K_H|, K_H[i, j] = number of ReLU units on which inputs i and j agree (both on/both off)."""
    net = copy.deepcopy(model).train()
    kernel = torch.zeros((x.shape[0], x.shape[0]), dtype=torch.float64, device=x.device)

    def record(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        codes = (inputs[0].detach().reshape(inputs[0].shape[0], -1) > 0).double()
        kernel.add_(codes @ codes.t()).add_((1.0 - codes) @ (1.0 - codes).t())

    hooks = [m.register_forward_pre_hook(record) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for hook in hooks:
            hook.remove()
    sign, logdet = torch.linalg.slogdet(kernel.cpu())
    return float(logdet) if float(sign) > 0 else math.nan


def params(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    from archsearch.metrics import count_parameters

    return float(count_parameters(model))


def flops(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    from archsearch.metrics import count_flops

    return float(count_flops(model, tuple(x.shape[1:])))


PROXIES: dict[str, Proxy] = {"synflow": synflow, "grad_norm": grad_norm, "snip": snip, "jacov": jacov,
                             "naswot": naswot, "params": params, "flops": flops}
PROXY_NAMES: tuple[str, ...] = tuple(PROXIES)
DATA_FREE: frozenset[str] = frozenset({"synflow", "params", "flops"})


class ZeroCostEstimator(Estimator):
    """``ZeroCostEstimator(space, "digits", proxy="synflow")``; metrics ``score`` and ``<proxy>``.

    With ``input_shape`` and ``num_classes`` given, a data-free proxy (synflow, params, flops) loads no
    dataset: e.g. ``input_shape=(3, 32, 32), num_classes=10`` scores NB201's CIFAR-10 networks.
    """

    name = "zero-cost"

    def __init__(self, space: SearchSpace, dataset: str = DEFAULT_DATASET, *, proxy: str = "synflow",
                 seed: int = 0, device: str = "auto", data_dir: str | None = None, download: bool = False,
                 batch_size: int = 64, net: Mapping[str, Any] | None = None,
                 input_shape: Sequence[int] | None = None, num_classes: int | None = None) -> None:
        owner = "estimator zero-cost"
        if proxy not in PROXIES:
            raise UserError(f"{owner}: unknown proxy {proxy!r}; choose from {', '.join(PROXIES)}")
        if (input_shape is None) != (num_classes is None):
            raise UserError(f"{owner}: give input_shape and num_classes together, or neither")
        self.space, self.dataset_name, self.proxy = space, dataset, proxy
        self.seed, self.batch_size = check_int(owner, "seed", seed, 0), check_int(owner, "batch_size", batch_size, 1)
        self.device_name, self.data_dir, self.download = device, data_dir, check_bool(owner, "download", download)
        self.net = dict(net or {})
        self.options = {"dataset": dataset, "proxy": proxy, "seed": seed, "device": device, "data_dir": data_dir,
                        "download": download, "batch_size": batch_size, "net": self.net,
                        "input_shape": None if input_shape is None else list(input_shape),
                        "num_classes": num_classes}
        self.device = resolve_device(device)
        self.dataset: Any = None
        self._batch: tuple[torch.Tensor, torch.Tensor] | None = None
        if input_shape is not None and proxy in DATA_FREE:
            self.input_shape = tuple(check_int(owner, "input_shape", d, 1) for d in input_shape)
            self.num_classes = check_int(owner, "num_classes", num_classes, 1)
        else:
            self.dataset = load_dataset(dataset, data_dir, download)  # errors now, not per trial
            self.input_shape, self.num_classes = tuple(self.dataset.shape), int(self.dataset.num_classes)
            if input_shape is not None and (tuple(input_shape), num_classes) != (self.input_shape, self.num_classes):
                raise UserError(f"{owner}: proxy {proxy!r} needs data; dataset {dataset!r} has shape "
                                f"{self.input_shape} and {self.num_classes} classes, not {tuple(input_shape)}, "
                                f"{num_classes}")
        if self.net:  # one network built with them (untrained, on the CPU): a bad value is a user error now
            sample = space.sample(np.random.default_rng(0))
            check_net_builds(owner, space.name, self.net, lambda net: space.build(
                sample, num_classes=self.num_classes, in_channels=self.input_shape[0], **net))

    def evaluate(self, arch: Arch, fidelity: float | None = None) -> Result:
        """The proxy's score of the freshly initialised network; a non-finite score is a failed result."""
        started = time.perf_counter()
        try:
            x, y = self.batch()
            score = PROXIES[self.proxy](self.build(arch), x, y)
        except torch.cuda.OutOfMemoryError as exc:
            return Result(arch, {}, time.perf_counter() - started, fidelity, "failed",
                          f"out of memory on {self.device}: {str(exc).splitlines()[0]}")
        except (ArchError, ValueError, RuntimeError, TypeError, np.linalg.LinAlgError) as exc:
            return Result(arch, {}, time.perf_counter() - started, fidelity, "failed",
                          f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        elapsed = time.perf_counter() - started
        if not math.isfinite(score):
            return Result(arch, {}, elapsed, fidelity, "failed", f"{self.proxy} score is not finite ({score})")
        return Result(arch, {"score": score, self.proxy: score}, elapsed, fidelity, "ok")

    def metrics(self) -> tuple[str, ...]:
        return ("score", self.proxy)

    def describe(self) -> dict[str, Any]:
        info = self.dataset.describe() if self.dataset is not None else None
        return {"estimator": self.name, **self.options, "dataset_info": info, "device_resolved": str(self.device)}

    def build(self, arch: Arch) -> nn.Module:
        """The network for ``arch`` on the device, initialised from the trial seed (as ``TrainEstimator``)."""
        arch = self.space.validate(arch)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(trial_seed(self.seed, arch))
            model = self.space.build(arch, num_classes=self.num_classes, in_channels=self.input_shape[0],
                                     **self.net)
        return model.to(self.device)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``batch_size`` train examples, prepared (data-free proxies: a zero batch of one)."""
        if self._batch is None:
            if self.dataset is None:
                self._batch = (torch.zeros((1, *self.input_shape), device=self.device),
                               torch.zeros(1, dtype=torch.int64, device=self.device))
            else:
                from archsearch.data.loader import DeviceData

                data = DeviceData(self.dataset, self.device)
                self._batch = (data.prepare(data.train.x[:self.batch_size]), data.train.y[:self.batch_size])
        return self._batch

    def __reduce__(self) -> tuple:
        """Pickles as its options: a worker rebuilds the estimator (and loads the cached dataset) itself."""
        return (_rebuild, (self.space, self.options))


def _rebuild(space: SearchSpace, options: dict[str, Any]) -> ZeroCostEstimator:
    options = dict(options)
    return ZeroCostEstimator(space, options.pop("dataset"), **options)
