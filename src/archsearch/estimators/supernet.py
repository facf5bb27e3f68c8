"""The one-shot engine: trains a space's supernet for a one-shot strategy and derives its architecture(s).

Weight sharing (Pham et al. 2018; Bender et al. 2018) and differentiable search (Liu et al. 2019): one
network holds every candidate op; the strategy (:mod:`archsearch.strategies.oneshot`) decides how the
architecture logits are relaxed, this engine owns the data, the weights and the optimisers:

- the training split is cut once (fixed seed) into a weights part (``train_portion``) and an
  architecture part; "bilevel" strategies (DARTS, GDAS) alternate a logit step on an architecture
  batch and a weight step on a weights batch; "joint" ones (SNAS) update both from one batch of the
  whole training split; RS-WS has no logits and ranks ``strategy.candidates()`` at the end;
- weights: SGD with momentum, cosine learning rate per epoch, gradient clipping (the recipe);
  logits: Adam, initialised 1e-3 * N(0, 1) as the reference code;
- after every epoch an :class:`EpochRecord`: losses and accuracies, the derived arch, its shared-weight
  accuracy on the held-out part, the logits' mean entropy, the share of parameter-free ops in the
  derived arch, the temperature, and every ``hessian_every`` epochs the dominant eigenvalue of the
  held-out loss' Hessian w.r.t. the logits (:mod:`.curvature`), with RobustDARTS's early stop by option;
- shared-weight evaluations use batch statistics in BatchNorm (weights are shared by many paths, so
  running statistics fit none of them), as the NB201 one-shot baselines do;
- ``state()`` / ``load()`` carry everything (weights, logits, optimisers, generator, strategy) so a
  killed search resumes after its last finished epoch.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
import torch.nn.functional as F

from archsearch.core.arch import Arch
from archsearch.core.device import resolve_device
from archsearch.core.errors import UserError
from archsearch.data.loader import DeviceData, DeviceSplit
from archsearch.estimators import curvature, few_shot, supernet_memory
from archsearch.estimators.batchnorm import recalibrate_batchnorm
from archsearch.estimators.train import load_dataset
from archsearch.nn.mixed import PARAMETER_FREE_OPS, entropy
from archsearch.core.result import EpochRecord
from archsearch.strategies.oneshot.base import EARLY_STOP_RATIO, OneShotStrategy

ARCH_SPLIT_SEED = 0     # the weights / architecture cut of the training split, the same for every search
LOGIT_INIT_SCALE = 1e-3
EVAL_BATCH = 256
RECALIBRATION_SEED = 0  # the training batches that recalibrate BatchNorm, the same for every arch
HESSIAN_BATCH = 64
PROGRESS_SECONDS = 10.0  # an epoch longer than this reports its progress this often (``on_progress``)


class OneShotSearch:
    """``OneShotSearch(space, strategy, "mnist5k", seed=0).run(on_epoch)`` -> the derived archs, best first."""

    def __init__(self, space: Any, strategy: OneShotStrategy, dataset: str, *, seed: int = 0, device: str = "auto",
                 data_dir: str | None = None, download: bool = False,
                 dataset_options: Mapping[str, Any] | None = None) -> None:
        self.space, self.strategy, self.recipe = space, strategy, strategy.recipe
        self.device = resolve_device(device)
        self.dataset = load_dataset(dataset, data_dir, download, dataset_options)
        self.data = DeviceData(self.dataset, self.device, fraction=self.recipe.fraction, channels_last=True)
        self.weights_part, self.arch_part = _cut(self.data.train, self.recipe.train_portion)
        self.holdout = self.data.valid if strategy.arch_step == "joint" else self.arch_part
        self.progress_holdout = _subset(self.holdout, self.recipe.derived_eval_images)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            try:
                self.supernet = space.supernet(num_classes=self.dataset.num_classes, in_channels=self.dataset.shape[0],
                                               **self.recipe.net)
            except TypeError as exc:
                raise UserError(f"strategy {strategy.name}: bad supernet option in net={self.recipe.net}: {exc}") from None
            init = torch.Generator().manual_seed(seed)
            self.logits = {key: (LOGIT_INIT_SCALE * torch.randn(len(options), generator=init)).to(self.device)
                           .requires_grad_(strategy.arch_step != "none")
                           for key, options in self.supernet.choices.items()}
        self.supernet.to(self.device).to(memory_format=torch.channels_last)
        recipe = self.recipe
        self.weight_optimizer = torch.optim.SGD(self.supernet.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                                                weight_decay=recipe.weight_decay)
        self.arch_optimizer = (torch.optim.Adam(self.logits.values(), lr=recipe.arch_lr, betas=(0.5, 0.999),
                                                weight_decay=recipe.arch_weight_decay)
                               if strategy.arch_step != "none" else None)
        self.generator = torch.Generator().manual_seed(seed + 1)
        self.epoch = 0
        self.eigenvalues: list[tuple[int, float, dict[str, Any]]] = []  # (epoch, eigenvalue, derived arch)
        self.stopped_early: dict[str, Any] | None = None
        self.on_progress: Callable[[int, int, int, float], None] | None = None  # (epoch, step, steps, seconds)

    # -- the search ---------------------------------------------------------------------------
    def run(self, on_epoch: Callable[[EpochRecord], None] | None = None) -> list[Arch]:
        """Epochs from the current one to ``recipe.epochs`` (or an early stop); then the final answer."""
        while self.epoch < self.shared_epochs and self.stopped_early is None:
            record = self.train_epoch()
            if on_epoch is not None:
                on_epoch(record)
        ranked, record = self.final_answer(on_epoch)
        if on_epoch is not None and record is not None:
            on_epoch(record)
        return ranked

    def train_epoch(self) -> EpochRecord:
        started, epoch, strategy = time.perf_counter(), self.epoch, self.strategy
        lr = self.recipe.lr_min + 0.5 * (self.recipe.lr - self.recipe.lr_min) * (
            1 + math.cos(math.pi * epoch / self.recipe.epochs))
        for group in self.weight_optimizer.param_groups:
            group["lr"] = lr
        self.supernet.train()
        sums: dict[str, float] = {}
        steps, last_report = self._steps_per_epoch(), started
        learn_logits = self._logits_learn()
        for step, ((x, y), arch_batch) in enumerate(self._batches(), 1):
            if strategy.arch_step == "bilevel" and learn_logits:
                _accumulate(sums, "arch", *self._arch_step(*arch_batch, x, y, lr))
            _accumulate(sums, "train", *self._weight_step(x, y))
            if self.on_progress is not None and time.perf_counter() - last_report >= PROGRESS_SECONDS:
                last_report = time.perf_counter()
                self.on_progress(epoch, step, steps, last_report - started)
        metrics = {name: total / sums[f"{name.split('_')[0]}_count"] for name, total in sums.items()
                   if not name.endswith("_count")}
        metrics.update(lr=lr, **({"temperature": t} if (t := strategy.temperature(epoch)) is not None else {}))
        derived = self.derived_arch()
        if derived is not None:
            metrics.update(derived_valid_acc=self.shared_accuracy(derived, self.progress_holdout),
                           entropy=entropy(self.logits),
                           param_free_share=param_free_share(derived))
            self._measure_curvature(epoch, derived, metrics)
        self.epoch += 1
        return EpochRecord(epoch, time.perf_counter() - started, metrics, dict(derived) if derived else None)

    @property
    def shared_epochs(self) -> int:
        """Epochs of the one supernet; a few-shot split trains the rest per option (:mod:`.few_shot`)."""
        return self.recipe.epochs - self.strategy.split_epochs

    def final_answer(self, on_epoch: Callable[[EpochRecord], None] | None = None
                     ) -> tuple[list[Arch], EpochRecord | None]:
        """Strategy's candidates ranked by shared-weight score (:meth:`shared_score`), or the derived
        (early-stopped) arch."""
        candidates = self.strategy.candidates()
        if not candidates:
            arch = Arch(self.stopped_early) if self.stopped_early is not None else self.derived_arch()
            return [arch], None
        started = time.perf_counter()
        if self.strategy.split_dim:
            scored = few_shot.split_and_score(self, candidates, on_epoch)
        else:
            scored = [(arch, self.shared_score(arch)) for arch in candidates]
        ranked = sorted(scored, key=lambda pair: -pair[1])
        name = "best_shared_acc" if self.strategy.rank_by == "accuracy" else "best_shared_score"
        record = EpochRecord(self.epoch, time.perf_counter() - started,
                             {"candidates": float(len(ranked)), name: ranked[0][1]},
                             dict(ranked[0][0]), "ranking", [(dict(a), acc) for a, acc in ranked])
        return [arch for arch, _ in ranked], record

    # -- steps --------------------------------------------------------------------------------
    def _batches(self) -> Iterator[tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]]:
        """(weights batch, architecture batch) pairs; the architecture part is cycled as needed."""
        recipe, data = self.recipe, self.data
        weights = self.data.train if self.strategy.arch_step == "joint" else self.weights_part
        arch_batches = iter(())
        for batch in data.batches(weights, recipe.batch_size, generator=self.generator, augment=recipe.augment):
            arch_batch = next(arch_batches, None) if self.strategy.arch_step == "bilevel" else batch
            if arch_batch is None:
                arch_batches = data.batches(self.arch_part, recipe.batch_size, generator=self.generator,
                                            augment=recipe.augment)
                arch_batch = next(arch_batches)
            yield batch, arch_batch

    def _steps_per_epoch(self) -> int:
        weights = self.data.train if self.strategy.arch_step == "joint" else self.weights_part
        return math.ceil(len(weights) / self.recipe.batch_size)

    def _logits_learn(self) -> bool:
        """Whether this epoch updates the logits (not during the recipe's ``warmup_epochs``)."""
        return self.epoch >= self.recipe.warmup_epochs

    def _paths(self, chosen: Any) -> Any:
        return self.supernet.paths_of(chosen) if isinstance(chosen, Arch) else chosen

    def _weight_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float, int]:
        joint = self.strategy.arch_step == "joint"
        logits = self.logits if joint else {k: v.detach() for k, v in self.logits.items()}
        paths = self._paths(self.strategy.weight_paths(logits, self.epoch, self.generator))
        self.weight_optimizer.zero_grad(set_to_none=True)
        if joint:
            self.arch_optimizer.zero_grad(set_to_none=True)
        out = self.supernet(x, paths)
        loss = F.cross_entropy(out, y)
        _check_finite(loss, "weight")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.supernet.parameters(), self.recipe.grad_clip)
        self.weight_optimizer.step()
        if joint and self._logits_learn():
            self.arch_optimizer.step()
        return float(loss.detach()), 100.0 * float((out.argmax(1) == y).float().mean()), len(y)

    def _arch_step(self, x: torch.Tensor, y: torch.Tensor, x_train: torch.Tensor, y_train: torch.Tensor,
                   lr: float) -> tuple[float, float, int]:
        self.arch_optimizer.zero_grad(set_to_none=True)
        keys = list(self.logits)
        if getattr(self.strategy, "order", 1) == 2:
            loss, out, grads = self._unrolled_gradient(x, y, x_train, y_train, lr)
        else:
            out = self.supernet(x, self._paths(self.strategy.arch_paths(self.logits, self.epoch, self.generator)))
            loss = F.cross_entropy(out, y)
            grads = _grads(loss, [self.logits[k] for k in keys])
        _check_finite(loss, "architecture")
        for key, grad in zip(keys, grads):
            self.logits[key].grad = grad
        self.arch_optimizer.step()
        return float(loss.detach()), 100.0 * float((out.argmax(1) == y).float().mean()), len(y)

    def _unrolled_gradient(self, x: torch.Tensor, y: torch.Tensor, x_train: torch.Tensor, y_train: torch.Tensor,
                           lr: float) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Second-order DARTS (Eq. 7-8): grad_a L_val(w', a) - lr * finite-difference Hessian-vector product."""
        params = [p for p in self.supernet.parameters()]
        alphas = list(self.logits.values())
        paths = lambda: self.strategy.arch_paths(self.logits, self.epoch, self.generator)  # noqa: E731
        train_loss = F.cross_entropy(self.supernet(x_train, _detached(paths())), y_train)
        grad_w = _grads(train_loss, params)
        backup = [p.detach().clone() for p in params]
        momentum, decay = self.recipe.momentum, self.recipe.weight_decay
        with torch.no_grad():  # w' = w - lr * (momentum buffer + grad + weight decay), as quark0/darts
            for p, g in zip(params, grad_w):
                buffer = self.weight_optimizer.state.get(p, {}).get("momentum_buffer")
                step = g + decay * p + (momentum * buffer if buffer is not None else 0.0)
                p.sub_(lr * step)
        out = self.supernet(x, paths())
        loss = F.cross_entropy(out, y)
        grads = _grads(loss, [*alphas, *params])
        grad_alpha, grad_w_prime = grads[:len(alphas)], grads[len(alphas):]
        eps = 0.01 / torch.sqrt(sum((g * g).sum() for g in grad_w_prime)).clamp_min(1e-12)
        finite_difference = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for p, b, g in zip(params, backup, grad_w_prime):
                    p.copy_(b + sign * eps * g)
            finite_difference.append(_grads(F.cross_entropy(self.supernet(x_train, paths()), y_train), alphas))
        with torch.no_grad():
            for p, b in zip(params, backup):
                p.copy_(b)
        hessian_vector = [(gp - gn) / (2 * eps) for gp, gn in zip(*finite_difference)]
        return loss, out, [ga - lr * hv for ga, hv in zip(grad_alpha, hessian_vector)]

    # -- measurements ---------------------------------------------------------------------------
    def derived_arch(self) -> Arch | None:
        return None if self.strategy.arch_step == "none" else self.supernet.derive(self.logits)

    def shared_score(self, arch: Arch) -> float:
        """How the strategy ranks a candidate, higher better: shared-weight accuracy, or minus the mean loss
        (``rank_by=loss``), with its BatchNorm recalibration."""
        accuracy, loss = self.shared_evaluation(arch, recalibrate=self.strategy.bn_recalibration)
        return -loss if self.strategy.rank_by == "loss" else accuracy

    def shared_accuracy(self, arch: Arch, split: DeviceSplit | None = None, recalibrate: int = 0) -> float:
        """Accuracy (%) of ``arch``'s paths with the shared weights (see :meth:`shared_evaluation`)."""
        return self.shared_evaluation(arch, split, recalibrate)[0]

    @torch.no_grad()
    def shared_evaluation(self, arch: Arch, split: DeviceSplit | None = None, recalibrate: int = 0
                          ) -> tuple[float, float]:
        """(accuracy %, mean cross-entropy) of ``arch``'s paths with the shared weights: BatchNorm with the
        statistics of each evaluation batch, or (``recalibrate`` > 0) with running statistics recomputed for this
        path on that many batches of the weights' part of the training split, then frozen (SPOS, Guo et al. ECCV
        2020, Sec. 3.3; Yu et al. ICLR 2020: BN recalibration before a sub-network is scored)."""
        split, paths, correct, loss = split or self.holdout, self.supernet.paths_of(arch), 0, 0.0
        if recalibrate:
            order = torch.Generator().manual_seed(RECALIBRATION_SEED)  # the same batches for every arch
            batches = self.data.batches(self.weights_part, self.recipe.batch_size, generator=order)
            recalibrate_batchnorm(self.supernet, (self.supernet(x, paths) for x, _ in batches), recalibrate)
        self.supernet.train(not recalibrate)
        for x, y in self.data.batches(split, EVAL_BATCH):
            out = self.supernet(x, paths)
            correct += int((out.argmax(1) == y).sum())
            loss += float(F.cross_entropy(out, y, reduction="sum"))
        self.supernet.train()
        count = max(1, len(split))
        return 100.0 * correct / count, loss / count

    def hessian_eigenvalue(self) -> float:
        """Dominant eigenvalue of the held-out loss' Hessian w.r.t. the logits (softmax relaxation)."""
        x, y = next(self.data.batches(self.holdout, HESSIAN_BATCH))
        logits = list(self.logits.values())
        paths = lambda: {k: v.softmax(-1) for k, v in self.logits.items()}  # noqa: E731
        return curvature.dominant_eigenvalue(lambda: F.cross_entropy(self.supernet(x, paths()), y), logits,
                                             iterations=self.recipe.hessian_iterations,
                                             generator=torch.Generator().manual_seed(self.epoch))

    def _measure_curvature(self, epoch: int, derived: Arch, metrics: dict[str, float]) -> None:
        every = self.recipe.hessian_every
        if not every or (epoch + 1) % every:
            return
        metrics["hessian_eigenvalue"] = value = self.hessian_eigenvalue()
        self.eigenvalues.append((epoch, value, dict(derived)))
        window = self.recipe.early_stop_window
        if self.recipe.early_stop and curvature.early_stop([v for _, v, _ in self.eigenvalues], window,
                                                           EARLY_STOP_RATIO):
            back = self.eigenvalues[-window - 1]  # the arch at the end of the previous window (DARTS-ES)
            self.stopped_early = back[2]
            metrics["early_stop_epoch"] = float(back[0])

    def memory_estimate(self) -> supernet_memory.MemoryEstimate:
        """Peak memory of the heaviest step, from one probe step (see :mod:`.supernet_memory`)."""
        x, y = next(self.data.batches(self.weights_part, self.recipe.batch_size))

        def step(batch: int) -> torch.Tensor:
            paths = self.strategy.arch_paths(self.logits, 0, torch.Generator().manual_seed(0))
            return F.cross_entropy(self.supernet(x[:batch], self._paths(paths)), y[:batch])

        second_order = getattr(self.strategy, "order", 1) == 2
        self.supernet.train()
        estimate = supernet_memory.estimate(self.supernet, step, batch_size=self.recipe.batch_size,
                                            state_copies=4 if second_order else 3, device=self.device,
                                            graphs=2 if second_order else 1)
        for alpha in self.logits.values():
            alpha.grad = None
        return estimate

    # -- state ----------------------------------------------------------------------------------
    def state(self) -> bytes:
        buffer = io.BytesIO()
        torch.save({"epoch": self.epoch, "supernet": self.supernet.state_dict(),
                    "logits": {k: v.detach().cpu() for k, v in self.logits.items()},
                    "weight_optimizer": self.weight_optimizer.state_dict(),
                    "arch_optimizer": self.arch_optimizer.state_dict() if self.arch_optimizer else None,
                    "generator": self.generator.get_state(), "eigenvalues": self.eigenvalues,
                    "stopped_early": self.stopped_early, "strategy": self.strategy.state_dict()}, buffer)
        return buffer.getvalue()

    def load(self, blob: bytes) -> None:
        state = torch.load(io.BytesIO(blob), map_location=self.device, weights_only=True)
        self.supernet.load_state_dict(state["supernet"])
        with torch.no_grad():
            for key, value in state["logits"].items():
                self.logits[key].copy_(value)
        self.weight_optimizer.load_state_dict(state["weight_optimizer"])
        if self.arch_optimizer is not None:
            self.arch_optimizer.load_state_dict(state["arch_optimizer"])
        self.generator.set_state(state["generator"].cpu())
        self.epoch, self.eigenvalues = int(state["epoch"]), [tuple(e) for e in state["eigenvalues"]]
        self.stopped_early = state["stopped_early"]
        self.strategy.load_state_dict(state["strategy"])


def param_free_share(arch: Mapping[str, Any]) -> float:
    """Share of the arch's op choices that have no parameters (none, skip, pooling): DARTS's collapse sign."""
    ops = [value for value in arch.values() if isinstance(value, str)]
    return sum(op in PARAMETER_FREE_OPS for op in ops) / max(1, len(ops))


def _cut(split: DeviceSplit, portion: float) -> tuple[DeviceSplit, DeviceSplit]:
    """A fixed random cut of the training split: (weights part, architecture part)."""
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(ARCH_SPLIT_SEED)).to(split.y.device)
    count = max(1, min(len(split) - 1, round(len(split) * portion)))
    first, second = order[:count].sort().values, order[count:].sort().values
    return DeviceSplit(split.x[first], split.y[first]), DeviceSplit(split.x[second], split.y[second])


def _subset(split: DeviceSplit, count: int) -> DeviceSplit:
    """A fixed random subset of ``count`` examples of ``split`` (all of it when ``count`` is 0 or not smaller)."""
    if count == 0 or count >= len(split):
        return split
    return _cut(split, count / len(split))[0]  # the first part of the same fixed kind of cut


def _accumulate(sums: dict[str, float], prefix: str, loss: float, accuracy: float, count: int) -> None:
    sums[f"{prefix}_loss"] = sums.get(f"{prefix}_loss", 0.0) + loss * count
    sums[f"{prefix}_acc"] = sums.get(f"{prefix}_acc", 0.0) + accuracy * count
    sums[f"{prefix}_count"] = sums.get(f"{prefix}_count", 0.0) + count


def _grads(loss: torch.Tensor, params: list[torch.Tensor]) -> list[torch.Tensor]:
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


def _detached(paths: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in paths.items()}


def _check_finite(loss: torch.Tensor, step: str) -> None:
    if not torch.isfinite(loss):
        raise UserError(f"one-shot search diverged: non-finite {step} loss; lower strategy.lr or strategy.arch_lr")
