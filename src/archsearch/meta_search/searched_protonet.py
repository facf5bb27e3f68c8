"""A searched embedding for Prototypical Networks: the metric-based meta-architecture of Auto-Meta (Kim et al.,
"Auto-Meta: Automated Gradient Based Meta Learner Search", NeurIPS 2018 workshop: search the network of the
meta-learner itself), found here by the one-shot machinery of the meta-search instead of PNAS.

The search is ``MetaSearchSettings(method="protonet")``: a supernet embedding (NB201 or DARTS cells, no head)
trained on the prototypical loss of Snell et al. 2017, weights and architecture logits alternating over the
episodes of each batch (first-order DARTS, Liu et al. 2019), the softmax temperature annealed as in MetaNAS.
:func:`derived_embedding` turns the meta-architecture into a stand-alone embedding (its dead edges dropped),
as wide as a parameter budget allows (by default the 4-conv ProtoNet's 111,936 parameters), and :func:`searched_protonet_baseline`
makes it a ProtoNet recipe (its paper's optimiser and 60-way training episodes) that
:func:`~archsearch.meta_search.meta_test.meta_train_recipe` trains from scratch, as NAS retrains a found cell.
"""

from __future__ import annotations

import torch
from torch import nn

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.fewshot.baselines import Baseline
from archsearch.fewshot.learners import protonet
from archsearch.meta_search.learner import NETWORKS, MetaArchitectureLearner
from archsearch.nn.topology import nb201_live_ops

# ---- defaults -----------------------------------------------------------------------------------------
MAX_PARAMS = 111_936  # the 4-conv ProtoNet embedding (64 filters) of perf/README's baselines
WIDTHS = range(4, 257, 2)  # candidate channel counts of the derived embedding


def live_arch(space: str, arch: Arch) -> Arch:
    """``arch`` without the ops whose features never reach the embedding, so that the width budget buys only
    weights that matter (NB201: :func:`~archsearch.nn.topology.nb201_live_ops`; a DARTS genotype has none)."""
    return Arch(nb201_live_ops(dict(arch))) if space == "nb201" else arch


def build_embedding(space: str, arch: Arch, channels: int, stages: int) -> nn.Module:
    """The stand-alone embedding of ``arch``: the few-shot network of ``space`` with only ``arch``'s live ops."""
    return NETWORKS[space](None, channels=channels, stages=stages).fix(live_arch(space, arch)).prune()


def parameters_of(module: nn.Module) -> int:
    """Weights of an embedding (its architecture logits, unused once fixed, not counted)."""
    return sum(p.numel() for name, p in module.named_parameters() if name != "arch_logits")


def derived_embedding(learner: MetaArchitectureLearner, max_params: int = MAX_PARAMS,
                      seed: int = 0) -> tuple[nn.Module, int]:
    """The searched arch's embedding at the largest width of :data:`WIDTHS` within ``max_params`` weights
    (freshly initialised from ``seed``) and that width (a ``UserError`` when even the narrowest is over)."""
    if learner.settings.method != "protonet":
        raise UserError(f"a {learner.settings.method} meta-search has no searched embedding (use --method protonet)")
    space, stages, arch = learner.settings.space, learner.settings.stages, learner.net.derive()
    width = None
    for channels in WIDTHS:  # the weights grow with the width: stop at the first one over the budget
        if parameters_of(build_embedding(space, arch, channels, stages)) > max_params:
            break
        width = channels
    if width is None:
        raise UserError(f"the searched embedding has more than {max_params:,} parameters at {WIDTHS[0]} channels")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        embedding = build_embedding(space, arch, width, stages)
    logits = embedding.arch_logits.detach()
    del embedding.arch_logits  # a fixed net never reads its logits: kept as a buffer, not a weight
    embedding.register_buffer("arch_logits", logits)
    return embedding, width


def searched_protonet_baseline(learner: MetaArchitectureLearner, ways: int, shots: int, *,
                               max_params: int = MAX_PARAMS, seed: int = 0, max_train_ways: int | None = None
                               ) -> tuple[Baseline, int]:
    """A ProtoNet recipe (Snell et al.'s Omniglot settings) on the searched embedding, and its width."""
    embedding, width = derived_embedding(learner, max_params, seed)
    train_ways = max(ways, protonet.TRAIN_WAYS)
    if max_train_ways is not None:
        train_ways = min(train_ways, max_train_ways)
    return Baseline(protonet.ProtoNetLearner(embedding), train_ways, shots, protonet.TRAIN_QUERIES), width
