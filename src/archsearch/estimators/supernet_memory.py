"""Peak memory of a one-shot search, estimated before it starts from one measured small step.

peak ~ weights x (1 value + 1 gradient + 1 momentum [+ 1 backup for second-order DARTS])
     + activations saved for the backward pass, measured on a probe batch and scaled to the batch size
       (counted with ``torch.autograd.graph.saved_tensors_hooks``, each storage once, on any device)
     + the dataset's tensors when they live on the accelerator.
On CUDA the probe's measured peak (``torch.cuda.max_memory_allocated``) is reported beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

MIB = 2**20
PROBE_BATCH = 8


@dataclass(frozen=True)
class MemoryEstimate:
    weights_mib: float      # values, gradients, optimiser state
    activations_mib: float  # saved for backward at the full batch size
    data_mib: float         # dataset tensors on the device
    measured_probe_mib: float | None = None  # CUDA only

    @property
    def total_mib(self) -> float:
        return self.weights_mib + self.activations_mib + self.data_mib

    def line(self, batch_size: int) -> str:
        measured = "" if self.measured_probe_mib is None else f"; probe measured {self.measured_probe_mib:.0f} MiB"
        return (f"estimated peak memory {self.total_mib:.0f} MiB (weights+grads+optimiser {self.weights_mib:.0f} MiB, "
                f"activations at batch {batch_size} {self.activations_mib:.0f} MiB, data {self.data_mib:.0f} MiB"
                f"{measured})")


def saved_activation_bytes(step: Callable[[], torch.Tensor]) -> int:
    """Bytes autograd saves during ``step()`` (a forward returning a loss): per distinct storage the
    largest tensor saved from it (a view of a bigger batch counts its own size); then runs the backward."""
    seen: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        pointer = tensor.untyped_storage().data_ptr()
        seen[pointer] = max(seen.get(pointer, 0), tensor.numel() * tensor.element_size())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = step()
    loss.backward()
    return sum(seen.values())


def estimate(model: torch.nn.Module, step: Callable[[int], torch.Tensor], *, batch_size: int,
             state_copies: int, data_bytes: int, device: torch.device) -> MemoryEstimate:
    """``step(b)`` runs the search's heaviest forward on a batch of ``b`` and returns its loss."""
    probe = min(PROBE_BATCH, batch_size)
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    weight_bytes += sum(b.numel() * b.element_size() for b in model.buffers())
    measured = None
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    activations = saved_activation_bytes(lambda: step(probe))
    if device.type == "cuda":
        measured = torch.cuda.max_memory_allocated(device) / MIB
    model.zero_grad(set_to_none=True)
    on_device = data_bytes if device.type != "cpu" else 0
    return MemoryEstimate(weight_bytes * state_copies / MIB, activations * batch_size / probe / MIB,
                          on_device / MIB, measured)
