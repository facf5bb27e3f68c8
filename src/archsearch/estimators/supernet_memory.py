"""Peak memory of a one-shot search, estimated before it starts from one measured small step.

tensors = weights x (1 value + 1 gradient + 1 momentum [+ 1 backup for second-order DARTS])
        + activations saved for the backward pass, measured on a probe batch and scaled to the batch size
          (``torch.autograd.graph.saved_tensors_hooks``, each storage once; x2 for second-order DARTS,
          whose unrolled step holds a second graph's worth) -- on the probe this equals the peak of live
          tensor memory the torch profiler records to within 2% (perf/oneshot_epoch.py)
peak    = on CPU: the process's resident memory now (torch, the data, the supernet) + ``CPU_SLACK`` x tensors
          + ``CPU_RUNTIME_MIB`` (allocator slack, oneDNN scratch and primitive caches, evaluation batches:
          calibrated on perf/oneshot_epoch.py's measured peaks, C=8..16, all strategies)
          on CUDA: memory allocated now + tensors (the probe's ``max_memory_allocated`` is reported beside).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

MIB = 2**20
PROBE_BATCH = 8
CPU_SLACK = 1.3
CPU_RUNTIME_MIB = 150.0


@dataclass(frozen=True)
class MemoryEstimate:
    weights_mib: float      # values, gradients, optimiser state
    activations_mib: float  # saved for backward at the full batch size
    resident_mib: float     # already in use before the search: process RSS on CPU, allocated memory on CUDA
    slack: float = 1.0      # allocator working memory on top of the tensors (CPU)
    runtime_mib: float = 0.0  # working memory of the runtime that appears once training runs (CPU)
    measured_probe_mib: float | None = None  # CUDA only

    @property
    def total_mib(self) -> float:
        return self.resident_mib + self.slack * (self.weights_mib + self.activations_mib) + self.runtime_mib

    def line(self, batch_size: int) -> str:
        measured = "" if self.measured_probe_mib is None else f"; probe measured {self.measured_probe_mib:.0f} MiB"
        runtime = f" + runtime {self.runtime_mib:.0f} MiB" if self.runtime_mib else ""
        return (f"estimated peak memory {self.total_mib:.0f} MiB (in use now {self.resident_mib:.0f} MiB + "
                f"{self.slack:g} x (weights+grads+optimiser {self.weights_mib:.0f} MiB + activations at batch "
                f"{batch_size} {self.activations_mib:.0f} MiB){runtime}{measured})")


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
             state_copies: int, device: torch.device, graphs: int = 1) -> MemoryEstimate:
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
    if device.type == "cuda":
        resident, slack, runtime = torch.cuda.memory_allocated(device) / MIB, 1.0, 0.0
    else:
        resident, slack, runtime = resident_mib(), CPU_SLACK, CPU_RUNTIME_MIB
    return MemoryEstimate(weight_bytes * state_copies / MIB, graphs * activations * batch_size / probe / MIB,
                          resident, slack, runtime, measured)


def resident_mib() -> float:
    """This process's resident memory (Linux /proc; 0 where it cannot be read)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
