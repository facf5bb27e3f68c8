"""The budgeted trainer: one network, one dataset, a recipe, a budget; learning curve and final metrics.

The default recipe follows NAS-Bench-201's training setup (Dong & Yang, ICLR 2020, Sec. 2.3 / App.):
SGD with Nesterov momentum 0.9, learning rate 0.1 annealed by a cosine schedule to 0 over the run
(stepped per batch), weight decay 5e-4, cross-entropy without label smoothing, random crop + flip on
natural images. The inner-loop approximations of the NAS literature are options: fewer epochs (the
fidelity; fractional epochs allowed), a fixed subsample of the train set (``fraction``), a wall-clock
limit (``max_seconds``) and early termination when validation accuracy stops improving (``patience``).

A non-finite loss, the time limit or an out-of-memory error raise ``TrialFailed`` with the reason and
the history so far. On CUDA the step runs under bf16 autocast. Models and batches are channels_last
(NHWC) on every device: oneDNN's CPU convolutions are 1.3-1.6x faster that way for NB201 networks.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from archsearch.core.recipe import TrainingRecipe, setting
from archsearch.data.loader import DeviceData, DeviceSplit

# -- the default recipe, in one visible block ---------------------------------------------------
EPOCHS = 5.0
BATCH_SIZE = 128
LEARNING_RATE = 0.1
MOMENTUM = 0.9
NESTEROV = True
WEIGHT_DECAY = 5e-4
LABEL_SMOOTHING = 0.0
GRAD_CLIP: float | None = None  # max global gradient norm (DARTS uses 5; NB201 does not clip)
EVAL_BATCH_SIZE = 1024
COMPILE = False  # torch.compile the network for training (perf/README.md "Issue 25": when it repays on a CPU)
COMPILE_BACKEND = "inductor"


@dataclass(frozen=True)
class Recipe(TrainingRecipe):
    """How one network is trained (every field is an option of the train estimator and ``archsearch train``);
    the settings every recipe has, and their checks, are :class:`archsearch.core.recipe.TrainingRecipe`'s."""

    epochs: float = EPOCHS
    batch_size: int = BATCH_SIZE
    lr: float = LEARNING_RATE
    momentum: float = MOMENTUM
    weight_decay: float = WEIGHT_DECAY
    grad_clip: float | None = GRAD_CLIP
    nesterov: bool = setting(NESTEROV, kind="bool")
    label_smoothing: float = setting(LABEL_SMOOTHING, kind="number", minimum=0.0, maximum=1.0)
    # wall-clock limit of one training; exceeded -> failed
    max_seconds: float | None = setting(None, kind="number", minimum=1e-12, optional=True)
    # stop when valid accuracy has not improved for this many epochs
    patience: int | None = setting(None, kind="int", minimum=1, optional=True)
    eval_batch_size: int = setting(EVAL_BATCH_SIZE, kind="int", minimum=1)
    # train through torch.compile (inductor): the first step pays the compilation (minutes on a laptop CPU; inductor
    # caches it on disk by the graph, so the same arch and shapes compile once per machine); later steps measured
    # 1.01-1.11x faster on NB201 networks on a 2-core CPU (perf/README.md, issue 25)
    compile: bool = setting(COMPILE, kind="bool")


@dataclass
class History:
    """What a training produced so far: per-epoch curves and the final metrics."""

    curves: dict[str, list[float]] = field(default_factory=lambda: {"train_loss": [], "valid_acc": []})
    metrics: dict[str, float] = field(default_factory=dict)
    steps: int = 0


class TrialFailed(Exception):
    """Training could not finish (non-finite loss, time limit, out of memory); ``history`` has what was done."""

    def __init__(self, reason: str, history: History) -> None:
        super().__init__(reason)
        self.reason, self.history = reason, history


def train(model: nn.Module, data: DeviceData, recipe: Recipe, *, seed: int, evaluate_test: bool = True) -> History:
    """Train ``model`` (already on ``data.device``) by ``recipe``; returns curves and metrics."""
    history, started = History(), time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    steps_per_epoch = math.ceil(len(data.train) / recipe.batch_size)
    total_steps = max(1, round(recipe.epochs * steps_per_epoch))
    optimizer = _sgd(model, recipe)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    stepped = torch.compile(model, backend=COMPILE_BACKEND) if recipe.compile else model  # shares model's weights
    try:
        while history.steps < total_steps:
            _train_epoch(stepped, data, recipe, optimizer, schedule, generator, history, total_steps, started)
            _, valid_acc = evaluate(model, data, data.valid, recipe.eval_batch_size)
            history.curves["valid_acc"].append(valid_acc)
            if _no_progress(history.curves["valid_acc"], recipe.patience):
                break
        _final_metrics(model, data, recipe, history, evaluate_test)
    except torch.cuda.OutOfMemoryError as exc:  # also what torch >= 2.5 raises as torch.OutOfMemoryError
        raise TrialFailed(f"out of memory on {data.device}: {str(exc).splitlines()[0]}", history) from None
    history.metrics["train_seconds"] = time.perf_counter() - started
    return history


def _sgd(model: nn.Module, recipe: Recipe) -> torch.optim.SGD:
    """SGD (Nesterov); the fused kernel where this torch has it for the device (~7% faster steps on CPU)."""
    options = dict(lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov and recipe.momentum > 0,
                   weight_decay=recipe.weight_decay)
    try:
        return torch.optim.SGD(model.parameters(), fused=True, **options)
    except (RuntimeError, TypeError, ValueError):  # an older torch or a device without the fused kernel
        return torch.optim.SGD(model.parameters(), **options)


def _train_epoch(model: nn.Module, data: DeviceData, recipe: Recipe, optimizer: torch.optim.Optimizer,
                 schedule: torch.optim.lr_scheduler.LRScheduler, generator: torch.Generator, history: History,
                 total_steps: int, started: float) -> None:
    """One pass over the (subsampled) train set, or fewer steps when the budget ends inside it."""
    model.train()
    loss_sum, correct, seen = torch.zeros((), device=data.device), torch.zeros((), device=data.device), 0
    check_every = 1 if data.device.type == "cpu" else 25  # a finiteness check syncs a GPU
    for x, y in data.batches(data.train, recipe.batch_size, generator=generator, augment=recipe.augment):
        with _autocast(data.device):
            logits = model(x)  # (B, classes)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=recipe.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if recipe.grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
        optimizer.step()
        schedule.step()
        history.steps += 1
        loss_sum += loss.detach() * len(y)
        correct += (logits.argmax(1) == y).sum()
        seen += len(y)
        if history.steps % check_every == 0 and not torch.isfinite(loss).item():
            raise TrialFailed(f"non-finite loss ({loss.item()}) at step {history.steps}", history)
        if recipe.max_seconds is not None and time.perf_counter() - started > recipe.max_seconds:
            raise TrialFailed(f"time limit of {recipe.max_seconds:g} s exceeded at step {history.steps} "
                              f"of {total_steps}", history)
        if history.steps >= total_steps:
            break
    train_loss = (loss_sum / max(seen, 1)).item()
    if not math.isfinite(train_loss):
        raise TrialFailed(f"non-finite loss ({train_loss}) at step {history.steps}", history)
    history.curves["train_loss"].append(train_loss)
    history.metrics["train_loss"] = train_loss
    history.metrics["train_acc"] = 100.0 * correct.item() / max(seen, 1)


def _final_metrics(model: nn.Module, data: DeviceData, recipe: Recipe, history: History,
                   evaluate_test: bool) -> None:
    valid_loss, _ = evaluate(model, data, data.valid, recipe.eval_batch_size)
    history.metrics.update(valid_loss=valid_loss, valid_acc=history.curves["valid_acc"][-1],
                           epochs=history.steps / math.ceil(len(data.train) / recipe.batch_size))
    if evaluate_test:
        history.metrics["test_loss"], history.metrics["test_acc"] = evaluate(model, data, data.test,
                                                                             recipe.eval_batch_size)


@torch.no_grad()
def evaluate(model: nn.Module, data: DeviceData, split: DeviceSplit, batch_size: int = EVAL_BATCH_SIZE
             ) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (%) of ``model`` on ``split``, in eval mode."""
    was_training = model.training
    model.eval()
    loss_sum, correct = torch.zeros((), device=data.device), torch.zeros((), device=data.device)
    for x, y in data.batches(split, batch_size):
        with _autocast(data.device):
            logits = model(x).float()
        loss_sum += F.cross_entropy(logits, y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
    model.train(was_training)
    count = max(len(split), 1)
    return loss_sum.item() / count, 100.0 * correct.item() / count


def _no_progress(valid_acc: list[float], patience: int | None) -> bool:
    """Early termination: the best accuracy is older than ``patience`` epochs."""
    if patience is None or len(valid_acc) <= patience:
        return False
    return max(valid_acc[-patience:]) <= max(valid_acc[:-patience])


def _autocast(device: torch.device) -> torch.autocast:
    """bf16 autocast on CUDA; a disabled context elsewhere (CPU trains in float32)."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
