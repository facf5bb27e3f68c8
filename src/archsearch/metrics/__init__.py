"""Cost metrics of a network: parameter count, multiply-adds (FLOPs) and measured latency.

These are the hardware-cost objectives of multi-objective NAS (e.g. MnasNet, Tan et al., CVPR 2019;
NSGA-Net, Lu et al., GECCO 2019) and the ``params`` / ``flops`` / ``latency`` columns of NAS-Bench-201
(Dong & Yang, ICLR 2020). Importing this package imports torch and nothing else heavy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from archsearch.core.errors import UserError
from archsearch.metrics.flops import count_flops
from archsearch.metrics.latency import measure_latency
from archsearch.metrics.params import count_parameters

MEASURES: tuple[str, ...] = ("params", "flops", "latency")


def model_metrics(model: nn.Module, input_shape: Sequence[int], *, latency_batch: int | None = 32,
                  measure: Iterable[str] = MEASURES, device: torch.device | str | None = None) -> dict[str, float]:
    """The metrics ``measure`` names, as floats: ``params`` -> ``params``; ``flops`` -> ``flops``
    (multiply-adds of one input); ``latency`` -> ``latency_ms`` (batch 1) and ``latency_batch_ms``
    (a batch of ``latency_batch``; left out when it is None)."""
    wanted = list(measure)
    unknown = [name for name in wanted if name not in MEASURES]
    if unknown:
        raise UserError(f"unknown metric(s) {', '.join(map(repr, unknown))}; choose from: {', '.join(MEASURES)}")
    out: dict[str, float] = {}
    if "params" in wanted:
        out["params"] = float(count_parameters(model))
    if "flops" in wanted:
        out["flops"] = float(count_flops(model, input_shape, device=device))
    if "latency" in wanted:
        out["latency_ms"] = measure_latency(model, input_shape, batch_size=1, device=device)
        if latency_batch is not None:
            out["latency_batch_ms"] = measure_latency(model, input_shape, batch_size=latency_batch, device=device)
    return out


__all__ = ["MEASURES", "count_flops", "count_parameters", "measure_latency", "model_metrics"]
