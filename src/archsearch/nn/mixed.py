"""Mixed ops and supernets: every candidate op of an edge in one module, weights shared by all archs.

A supernet's architecture parameters are one logit vector per *choice key* (``Supernet.choices``:
key -> option names). A forward pass takes ``paths``, one :data:`Selection` per key that is computed:

- a float tensor ``(num_options,)``: the relaxed mixture ``sum_o w_o * op_o(x)`` (DARTS softmax,
  SNAS Gumbel-softmax); ``none`` contributes exactly zero and is never computed;
- an ``int``: that option alone (a discrete arch; random search with weight sharing);
- :class:`Scaled` ``(index, scale)``: that option alone times a constant (a derived discrete arch that keeps
  the chosen op's mixture weight, T-NAS's task nets in :mod:`archsearch.meta_search`);
- ``(weights, index)``: GDAS's hard sample, ``op_index(x) * w_index + sum_{o != index} w_o`` where the
  one-hot straight-through ``weights`` are 1 at ``index`` and 0 elsewhere (the forward computes one op;
  the backward reaches every logit), as D-X-Y/AutoDL-Projects ``search_model_gdas.py``. Since the
  weights are exactly one-hot in value, :class:`StraightThrough` returns ``op_index(x)`` itself and puts
  that expression's gradients in its backward (no extra pass over the activations in the forward); when the
  weights need no gradient (a weight step, logits detached) the op runs alone, without that backward.
- a float tensor, relaxed: ops built as ``ReLU, ..., BatchNorm2d`` (ReLUConvBN, SepConv, DilConv) share one ReLU of
  the edge's input and take ``w_o`` in their BatchNorm's affine weight and bias (``w * BN(h)`` in BN's own pass).

A key missing from ``paths`` is an edge that is not there (DARTS cells use 2 of a node's edges).
The candidate ops are the stand-alone networks' own modules (same names, same parameters), so
``Supernet.standalone(arch)`` copies the shared weights into ``space.build(arch)`` and the two compute
the same function; this differs from the DARTS search network's affine-free BatchNorm on purpose.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Union

import torch
import torch.nn.functional as F
from torch import nn

from archsearch.core.arch import Arch



@dataclass(frozen=True)
class Scaled:
    """One option times a constant ``scale`` (no other option computed)."""

    index: int
    scale: float


Selection = Union[torch.Tensor, int, Scaled, tuple[torch.Tensor, int]]
Paths = Mapping[str, Selection]
PARAMETER_FREE_OPS = frozenset({"none", "skip_connect", "max_pool_3x3", "avg_pool_3x3"})


class MixedOp(nn.Module):
    """Every candidate op of one edge, in a ``ModuleDict`` keyed by op name (its option order)."""

    def __init__(self, ops: Mapping[str, nn.Module]) -> None:
        super().__init__()
        self.names = tuple(ops)
        self.ops = nn.ModuleDict(dict(ops))
        self.calls = 0  # ops computed so far (tests count them)

    def forward(self, x: torch.Tensor, choice: Selection) -> torch.Tensor:
        # (B, C, H, W) -> (B, C, H/stride, W/stride)
        if isinstance(choice, int):
            return self._run(choice, x)
        if isinstance(choice, Scaled):
            return self._run(choice.index, x) * choice.scale
        if isinstance(choice, tuple):
            weights, index = choice  # (num_options,), one-hot in value
            if not weights.requires_grad:  # a weight step: the op alone, as the forward below computes it
                return self._run(index, x)
            return StraightThrough.apply(self._run(index, x), weights, index)
        return self._mixture(x, choice)

    def is_zero(self, choice: Selection) -> bool:
        """Whether ``choice`` makes this edge an exact zero with no gradient to carry (``none`` alone, or GDAS's
        ``none`` sample in a weight step): the cell may leave the term out of its sum, as the stand-alone cell does."""
        if isinstance(choice, tuple):
            weights, index = choice
            if weights.requires_grad:
                return False
        else:
            index = choice.index if isinstance(choice, Scaled) else choice
        return isinstance(index, int) and self.names[index] == "none"

    def _mixture(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """``sum_o w_o * op_o(x)``: ops that open with a ReLU and close with a BatchNorm share one ReLU of ``x``
        and take ``w_o`` in their BatchNorm's affine (no pass over the activations to scale them); ``none`` skipped."""
        total: torch.Tensor | None = None
        activated: torch.Tensor | None = None
        for index, name in enumerate(self.names):
            if name == "none":
                continue
            layers = _relu_to_batchnorm(self.ops[name])
            if layers is None:
                out = self._run(index, x)
                total = out * weights[index] if total is None else torch.addcmul(total, out, weights[index])
                continue
            self.calls += 1
            activated = torch.relu(x) if activated is None else activated
            out = scaled_relu_op(layers, activated, weights[index])
            total = out if total is None else total + out
        return total if total is not None else self._run(self.names.index("none"), x)

    def _run(self, index: int, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.ops[self.names[index]](x)


def _relu_to_batchnorm(op: nn.Module) -> nn.Sequential | None:
    """The layers of an op built as ``Sequential(ReLU, ..., BatchNorm2d)`` in its ``op`` attribute (ReLUConvBN,
    SepConv, DilConv), else ``None``."""
    layers = getattr(op, "op", None)
    if (isinstance(layers, nn.Sequential) and len(layers) > 2 and isinstance(layers[0], nn.ReLU)
            and isinstance(layers[-1], nn.BatchNorm2d)):
        return layers
    return None


def scaled_relu_op(layers: nn.Sequential, activated: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``scale * layers(x)`` for ``layers`` = ReLU, ..., BatchNorm2d, given ``activated`` = relu(x): the scale
    multiplies the BatchNorm's affine weight and bias (or is its weight when it has none)."""
    h = activated
    for layer in layers[1:-1]:
        h = layer(h)
    return scaled_batch_norm(layers[-1], h, scale)


def scaled_batch_norm(bn: nn.BatchNorm2d, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``scale * bn(x)`` in one pass, with ``bn``'s running statistics updated as its own forward does."""
    factor = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
    use_batch = bn.training or (bn.running_mean is None and bn.running_var is None)
    track = not bn.training or bn.track_running_stats
    weight = scale.expand(bn.num_features) if bn.weight is None else bn.weight * scale
    bias = None if bn.bias is None else bn.bias * scale
    return F.batch_norm(x, bn.running_mean if track else None, bn.running_var if track else None, weight, bias,
                        use_batch, factor, bn.eps)


class StraightThrough(torch.autograd.Function):
    """``y * w[k] + sum_{o != k} w[o]`` for one-hot (in value) ``w``: returns ``y``; backward as that sum."""

    @staticmethod
    def forward(ctx: Any, y: torch.Tensor, weights: torch.Tensor, index: int) -> torch.Tensor:
        ctx.save_for_backward(y, weights)
        ctx.index = index
        return y.view_as(y)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
        y, weights = ctx.saved_tensors
        grad_weights = grad.sum().expand(weights.shape).clone()     # d/dw_o of w_o (o != k): sum of grad
        grad_weights[ctx.index] = (grad * y).sum()                  # d/dw_k of y * w_k
        return grad * weights[ctx.index], grad_weights, None


class Supernet(nn.Module):
    """Base of the supernets: ``choices`` (key -> options), ``forward(x, paths)``, arch <-> paths."""

    choices: dict[str, tuple[str, ...]]
    net_options: dict[str, Any]

    def paths_of(self, arch: Arch) -> dict[str, int]:
        """The discrete paths of ``arch`` (only its ops computed)."""
        raise NotImplementedError

    def resolve(self, paths: Paths | Arch) -> Paths:
        """``forward`` takes relaxed paths or a discrete ``Arch``."""
        return self.paths_of(paths) if isinstance(paths, Arch) else paths

    def derive(self, logits: Mapping[str, torch.Tensor]) -> Arch:
        """The discrete arch the logits stand for."""
        raise NotImplementedError

    def standalone_key(self, arch: Arch, key: str) -> str | None:
        """The stand-alone network's state-dict key of a supernet key (``None``: not in that arch)."""
        raise NotImplementedError

    def standalone(self, space: Any, arch: Arch) -> nn.Module:
        """``space.build(arch)`` at this supernet's size carrying the shared weights of ``arch``'s paths."""
        model = space.build(arch, **self.net_options)
        own = {}
        for key, value in self.state_dict().items():
            target = self.standalone_key(arch, key)
            if target is not None:
                own[target] = value
        model.load_state_dict(own, strict=True)
        return model.to(next(self.parameters()).device)

    def mixed_ops(self) -> list[MixedOp]:
        return [m for m in self.modules() if isinstance(m, MixedOp)]


def prune_mixed_ops(net: nn.Module, keep: Callable[[str], bool]) -> None:
    """Delete every op of ``net``'s :class:`MixedOp` s that owns parameters none of which ``keep`` accepts (by
    their names in ``net``); the op names stay, so option indices stay valid (a discrete net then holds only
    its own weights)."""
    names = [name for name, _ in net.named_parameters()]
    for module_name, module in net.named_modules():
        if isinstance(module, MixedOp):
            for op_name in list(module.ops):
                prefix = f"{module_name}.ops.{op_name}."
                owned = [name for name in names if name.startswith(prefix)]
                if owned and not any(keep(name) for name in owned):
                    del module.ops[op_name]


def prune_to_fixed(net: nn.Module) -> None:
    """:func:`prune_mixed_ops` of a network with a ``fixed`` arch and a ``uses(name, arch)`` test (the few-shot
    supernets): it keeps only the weights of ``net.fixed``."""
    if net.fixed is None:
        raise ValueError("prune needs a fixed arch: call fix(arch) first")
    prune_mixed_ops(net, lambda name: net.uses(name, net.fixed))


def entropy(logits: Mapping[str, torch.Tensor]) -> float:
    """Mean entropy (nats) of softmax(logits) over the choice keys; log(n) when uniform."""
    values = [float(-(p * p.clamp_min(1e-12).log()).sum()) for p in (t.detach().softmax(-1) for t in logits.values())]
    return sum(values) / len(values) if values else math.nan


def op_key_rewrite(key: str, marker: str, choice_of: Mapping[str, str]) -> str | None:
    """``...<edge>.ops.<op>.rest`` -> ``...<edge>.rest`` when ``op`` is the chosen op of ``edge``."""
    head, found, tail = key.partition(marker)
    if not found:
        return key
    edge = head.rsplit(".", 1)[-1]
    op, _, rest = tail.partition(".")
    if choice_of.get(edge) != op:
        return None
    return f"{head}.{rest}" if rest else head
