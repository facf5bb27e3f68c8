"""``--device auto|cpu|cuda[:N]``: one place that turns the user's choice into a ``torch.device``."""

from __future__ import annotations

from archsearch.core.errors import UserError
from archsearch.core.options import did_you_mean

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def check_device_name(name: object) -> str:
    """The device name in lower case when it is ``auto``, ``cpu``, ``cuda`` or ``cuda:N``; else a UserError.
    Cheap (no torch): a study config checks it for every estimator, also those that never build a network."""
    text = str(name).strip().lower()
    kind, colon, index = text.partition(":")
    if kind in DEVICE_CHOICES and not colon or kind == "cuda" and index.isdigit() and index.isascii():
        return text
    raise UserError(f"unknown device {name!r}{did_you_mean(text, DEVICE_CHOICES)}; choose auto, cpu, cuda or cuda:N")


def resolve_device(name: str = "auto") -> "torch.device":  # noqa: F821 - torch imported lazily
    """``auto``: CUDA when available, else CPU; ``cuda`` without a GPU is a user error."""
    text = check_device_name(name)
    import torch

    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():  # cuda or cuda:N
        raise UserError(f"device {name!r} requested but no CUDA GPU is available; use --device cpu or auto")
    device = torch.device(text)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    return device
