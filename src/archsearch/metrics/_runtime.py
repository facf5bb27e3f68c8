"""Shared plumbing of the metrics: checking an input shape, a dummy input, and running a model in eval mode
on a chosen device with its train/eval flags and device put back afterwards."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from archsearch.core.errors import UserError


def check_input_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    """``input_shape`` (one sample, no batch axis, e.g. ``(C, H, W)``) as a tuple of positive ints."""
    message = f"input shape must be a sequence of positive integers like (3, 32, 32), got {input_shape!r}"
    if isinstance(input_shape, (str, bytes)):
        raise UserError(message)
    try:
        shape = tuple(int(size) for size in input_shape)
    except (TypeError, ValueError):
        raise UserError(message) from None
    if not shape or any(size < 1 for size in shape):
        raise UserError(message)
    return shape


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (or buffer); CPU for a model with neither."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        return tensor.device
    return torch.device("cpu")


def dummy_input(input_shape: Sequence[int], batch_size: int, device: torch.device, seed: int = 0) -> torch.Tensor:
    """A reproducible standard-normal batch of shape ``(batch_size, *input_shape)`` on ``device``."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn((batch_size, *check_input_shape(input_shape)), generator=generator).to(device)


@contextmanager
def evaluating(model: nn.Module, device: torch.device | str | None = None) -> Iterator[torch.device]:
    """Run ``model`` in eval mode under ``no_grad`` (moved to ``device`` if given); yields the device used.

    Every submodule's ``training`` flag is restored on exit (not just the top-level one), and a model
    that was moved is moved back to where it was.
    """
    modes = [(module, module.training) for module in model.modules()]
    home = model_device(model)
    target = home if device is None else torch.device(device)
    if target != home:
        model.to(target)
    model.eval()
    try:
        with torch.no_grad():
            yield target
    finally:
        if target != home:
            model.to(home)
        for module, training in modes:
            module.training = training
