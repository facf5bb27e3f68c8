"""The one-shot memory estimate and the --max-memory parser."""

from __future__ import annotations

import pytest
import torch

from archsearch.core.options import parse_memory
from archsearch.estimators import supernet_memory
from archsearch.spaces.nb201 import NB201Space


def estimate_at(batch_size: int) -> supernet_memory.MemoryEstimate:
    torch.manual_seed(0)
    supernet = NB201Space().supernet(channels=4, cells_per_stage=1, in_channels=1)
    x, y = torch.randn(batch_size, 1, 16, 16), torch.randint(0, 10, (batch_size,))
    weights = {k: torch.full((5,), 0.2) for k in supernet.choices}

    def step(batch: int) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(supernet(x[:batch], weights), y[:batch])

    return supernet_memory.estimate(supernet, step, batch_size=batch_size, state_copies=3,
                                    device=torch.device("cpu"))


def test_estimate_counts_weights_and_scales_activations_with_the_batch() -> None:
    small, large = estimate_at(16), estimate_at(64)
    params = sum(p.numel() for p in NB201Space().supernet(channels=4, cells_per_stage=1, in_channels=1).parameters())
    assert small.weights_mib >= 3 * params * 4 / 2**20
    assert large.activations_mib == pytest.approx(4 * small.activations_mib, rel=1e-6) and large.activations_mib > 0
    assert small.resident_mib > 50 and small.slack == supernet_memory.CPU_SLACK  # the process itself
    assert large.total_mib > small.total_mib
    assert "estimated peak memory" in large.line(64)


@pytest.mark.parametrize("text, mib", [(2048, 2048.0), ("512MiB", 512.0), ("2GiB", 2048.0), ("1.5G", 1536.0),
                                       ("256mb", 256.0), ("300", 300.0)])
def test_parse_memory(text: object, mib: float) -> None:
    assert parse_memory(text) == mib  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["lots", "-1GiB", "0", "GiB", "nan"])
def test_parse_memory_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError):
        parse_memory(text)
