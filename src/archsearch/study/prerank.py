"""Zero-cost pre-ranking: score a random pool of archs with a zero-cost proxy, warm-start the strategy with
the best (Abdelfattah, Mehrotra, Dudziak & Lane, ICLR 2021, "Zero-Cost Proxies for Lightweight NAS",
Sec. 5: "zero-cost warmup" of random search, regularized evolution and others).

``--prerank synflow --prerank-pool 100 --prerank-top 10``: ``prerank_pool`` distinct random archs are
scored on freshly initialised networks (the study's estimator's network options; with a tabular benchmark
the benchmark dataset's shapes, which only the data-free proxies synflow, params and flops can use), and
the ``prerank_top`` best are asked first (regularized evolution takes them as initial population, local
search as its first seeds). The ranking is stored as a ``prerank`` record of the one-shot/epochs table and
its seconds count as cost, so a resumed study re-seeds from the store instead of scoring again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from archsearch.core.arch import Arch
from archsearch.core.errors import UserError
from archsearch.core.space import SearchSpace
from archsearch.store.base import EpochRecord

POOL_SEED = 0x5EED  # mixed with the study seed: the pool differs from the strategy's own samples


def check_prerank(config: Any, strategy: Any) -> None:
    """User errors before anything runs: a strategy that cannot take warm starts."""
    if config.prerank is not None and not strategy.supports_warm_start:
        raise UserError(f"strategy {strategy.name!r} cannot take a zero-cost pre-ranking (--prerank); "
                        f"it samples its own archs (use it without --prerank)")


def prerank_estimator(config: Any, space: SearchSpace) -> Any:
    from archsearch.estimators.zero_cost import DATA_FREE, ZeroCostEstimator

    options: dict[str, Any] = {"proxy": config.prerank, "seed": config.seed, "device": config.device,
                               "data_dir": config.data_dir, "download": config.download}
    if config.benchmark is not None:
        from archsearch.benchmarks.nb201 import DATASET_SHAPES

        if config.prerank not in DATA_FREE or config.dataset not in DATASET_SHAPES:
            raise UserError(f"--prerank {config.prerank} on a tabular benchmark needs a data-free proxy "
                            f"({', '.join(sorted(DATA_FREE))}) and a known dataset shape")
        shape, classes = DATASET_SHAPES[config.dataset]
        options.update(input_shape=shape, num_classes=classes)
    else:
        options["net"] = dict(config.estimator_options.get("net", {}))
    return ZeroCostEstimator(space, config.dataset, **options)


def rank_pool(config: Any, space: SearchSpace) -> EpochRecord:
    """Score ``prerank_pool`` distinct random archs; the record's ranking is best first."""
    started = time.perf_counter()
    estimator = prerank_estimator(config, space)
    rng = np.random.default_rng([config.seed, POOL_SEED])
    pool: dict[Arch, None] = {}
    for _ in range(min(config.prerank_pool, space.size())):
        pool[space.sample_unseen(rng, lambda arch: arch in pool)] = None
    scored = []
    for arch in pool:
        result = estimator.evaluate(arch)
        scored.append((arch, result.metric("score") if result.ok else -math.inf))
    ranked = sorted(scored, key=lambda pair: -pair[1])
    finite = [score for _, score in ranked if math.isfinite(score)]
    metrics = {"pool": float(len(ranked)), "top": float(min(config.prerank_top, len(ranked))),
               "best_score": finite[0] if finite else math.nan, "failed": float(len(ranked) - len(finite))}
    return EpochRecord(0, time.perf_counter() - started, metrics, dict(ranked[0][0]), "prerank",
                       [(dict(arch), score if math.isfinite(score) else None) for arch, score in ranked])


def top_archs(record: EpochRecord, count: int) -> Sequence[Arch]:
    return [Arch(arch) for arch, score in record.ranking[:count] if score is not None]
