"""``archsearch meta-search``: T-NAS / MetaNAS meta-architecture search on Omniglot, stored in the store."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from archsearch.cli.common import ExampleHelpFormatter, add_store_argument, format_arch, open_store
from archsearch.core.errors import UserError
from archsearch.store.base import EpochRecord

EXAMPLE = ("example: archsearch meta-search --dataset omniglot --ways 5 --shots 1 --method tnas --iterations 300 "
           "--store runs.db --name tnas-5w1s   (then: archsearch meta-test tnas-5w1s --store runs.db)")
DATASETS = ("omniglot",)
KIND = "meta-search"


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "meta-search", help="meta-architecture search for few-shot learning (T-NAS, MetaNAS)",
        description="Meta-learn the weights and architecture logits of a few-shot network of NB201 supernet "
                    "cells across Omniglot tasks (T-NAS: MAML over both; MetaNAS: Reptile over both). The "
                    "meta-architecture is stored every --checkpoint-every iterations; 'archsearch meta-test NAME' "
                    "adapts it to each test task (task-specific arch) and reports the accuracy.",
        epilog=EXAMPLE, formatter_class=ExampleHelpFormatter)
    parser.add_argument("--dataset", default="omniglot", help="few-shot dataset (omniglot)")
    parser.add_argument("--method", default="tnas", help="tnas or metanas (default tnas)")
    parser.add_argument("--ways", type=int, default=5, help="classes per task (default 5)")
    parser.add_argument("--shots", type=int, default=1, help="support images per class (default 1)")
    parser.add_argument("--iterations", type=int, default=300, help="outer steps (default 300)")
    parser.add_argument("--val-every", type=int, default=50, help="meta-validation every N steps (0: never)")
    parser.add_argument("--val-episodes", type=int, default=50, help="meta-validation episodes (default 50)")
    parser.add_argument("--checkpoint-every", type=int, default=10, help="store the meta-architecture every N steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a meta-search setting, e.g. channels=16, meta_batch=4, inner_lr=0.4 (repeatable)")
    add_store_argument(parser)
    parser.add_argument("--name", default=None, help="experiment name (default: method-ways-shots-time)")
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(run=run)


def settings_from(args: argparse.Namespace) -> Any:
    from archsearch.cli.train import parse_overrides
    from archsearch.meta_search import MetaSearchSettings

    options = parse_overrides(args.overrides)
    known = set(MetaSearchSettings.__dataclass_fields__) - {"method", "ways", "shots"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise UserError(f"unknown meta-search setting {unknown[0]!r}; settings: {', '.join(sorted(known))}")
    return MetaSearchSettings(method=args.method, ways=args.ways, shots=args.shots, **options).check()


def run(args: argparse.Namespace) -> int:
    from archsearch.fewshot.data import load_omniglot
    from archsearch.fewshot.episodes import EpisodeSampler
    from archsearch.fewshot.learners.base import meta_train
    from archsearch.meta_search import MetaArchitectureLearner

    if args.dataset not in DATASETS:
        raise UserError(f"unknown few-shot dataset {args.dataset!r}; choose from: {', '.join(DATASETS)}")
    for flag in ("iterations", "checkpoint_every", "seed", "val_every", "val_episodes"):
        if getattr(args, flag) < (1 if flag in ("iterations", "checkpoint_every", "val_episodes") else 0):
            raise UserError(f"--{flag.replace('_', '-')} must be a non-negative integer (positive for counts), "
                            f"got {getattr(args, flag)}")
    settings = settings_from(args)
    name = args.name or f"{settings.method}-{settings.ways}w{settings.shots}s-{time.strftime('%Y%m%d-%H%M%S')}"
    train = EpisodeSampler(load_omniglot("meta-train"), settings.ways, settings.shots, settings.queries, args.seed)
    val = EpisodeSampler(load_omniglot("meta-val"), settings.ways, settings.shots, 15, args.seed + 1)
    learner = MetaArchitectureLearner(settings, seed=args.seed)
    config = {"name": name, "kind": KIND, "space": "nb201", "strategy": settings.method, "dataset": args.dataset,
              "benchmark": None, "objective": "val_acc:max", "report": "val_acc", "seed": args.seed,
              "iterations": args.iterations, "settings": {**settings.__dict__}}
    store = open_store(args.store, create=True)
    try:
        experiment = store.create_experiment(name, config, args.seed)
        say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
        say(f"meta-search {name!r}: {settings.method} on omniglot {settings.ways}-way {settings.shots}-shot, "
            f"{args.iterations} iterations x {settings.meta_batch} tasks, seed {args.seed}")
        losses: list[float] = []
        started = time.perf_counter()

        def log(step: int, loss: float, val_acc: float | None) -> None:
            losses.append(loss)
            if step % args.checkpoint_every and step != args.iterations and val_acc is None:
                return
            metrics = {"loss": sum(losses) / len(losses)}
            if val_acc is not None:
                metrics["val_acc"] = 100.0 * val_acc
            record = EpochRecord(step - 1, time.perf_counter() - started, metrics,
                                 dict(learner.net.derive()), kind="meta")
            store.record_epoch(experiment.id, record, learner.to_bytes())
            losses.clear()
            say(f"[{name}] step {step}/{args.iterations}: loss {metrics['loss']:.3f}"
                + (f", meta-val {metrics['val_acc']:.2f}%" if val_acc is not None else "")
                + f"; arch {format_arch('nb201', record.arch or {})}")

        meta_train(learner, train, args.iterations, val_sampler=val if args.val_every else None,
                   val_every=args.val_every, val_episodes=args.val_episodes, log=log)
        store.set_status(experiment.id, "finished")
    except BaseException:
        if "experiment" in locals():
            store.set_status(experiment.id, "failed")
        raise
    finally:
        store.close()
    print(f"finished {name!r}: {args.iterations} iterations in {time.perf_counter() - started:.0f} s; meta-arch "
          f"{format_arch('nb201', dict(learner.net.derive()))}")
    print(f"stored in {args.store}; test it: archsearch meta-test {name} --store {args.store} --episodes 600")
    return 0


def load_meta_architecture(store: Any, name: str) -> Any:
    """The stored learner of a meta-search experiment (UserError when NAME is not one or has no checkpoint)."""
    from archsearch.meta_search import MetaArchitectureLearner

    experiment = store.get_experiment(name)
    if experiment.config.get("kind") != KIND:
        raise UserError(f"experiment {name!r} is not a meta-search (it is a {experiment.config.get('strategy')} search)")
    blob = store.oneshot_state(experiment.id)
    if blob is None:
        raise UserError(f"meta-search {name!r} has no stored meta-architecture yet")
    return MetaArchitectureLearner.from_bytes(blob)
