"""``--device auto|cpu|cuda[:N]``: one place that turns the user's choice into a ``torch.device``."""

from __future__ import annotations

from archsearch.core.errors import UserError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> "torch.device":  # noqa: F821 - torch imported lazily
    """``auto``: CUDA when available, else CPU; ``cuda`` without a GPU is a user error."""
    import torch

    text = str(name).strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "cuda" or text.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UserError(f"device {name!r} requested but no CUDA GPU is available; use --device cpu or auto")
        device = torch.device(text)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) here")
        return device
    raise UserError(f"unknown device {name!r}; choose auto, cpu, cuda or cuda:N")
