"""``archsearch meta-search``: T-NAS / MetaNAS meta-architecture search on Omniglot, stored in the store (the
search itself is :func:`archsearch.meta_search.run_meta_search`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from archsearch.cli.common import ExampleHelpFormatter, add_store_argument, format_arch, open_store

EXAMPLE = ("example: archsearch meta-search --dataset omniglot --ways 5 --shots 1 --method tnas --iterations 300 "
           "--store runs.db --name tnas-5w1s   (then: archsearch meta-test tnas-5w1s --store runs.db)")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "meta-search", help="meta-architecture search for few-shot learning (T-NAS, MetaNAS)",
        description="Meta-learn the weights and architecture logits of a few-shot network of NB201 or DARTS "
                    "supernet cells across Omniglot tasks (T-NAS: MAML over both; MetaNAS: Reptile over both; "
                    "protonet: a prototypical network's embedding by first-order DARTS). The "
                    "meta-architecture is stored every --checkpoint-every iterations; 'archsearch meta-test NAME' "
                    "adapts it to each test task (task-specific arch) and reports the accuracy.",
        epilog=EXAMPLE, formatter_class=ExampleHelpFormatter)
    parser.add_argument("--dataset", default="omniglot", help="few-shot dataset (omniglot)")
    parser.add_argument("--method", default="tnas",
                        help="tnas, metanas, or protonet (a prototypical network's embedding searched by "
                             "first-order DARTS; archsearch meta-test NAME retrains it) (default tnas)")
    parser.add_argument("--space", default="nb201",
                        help="cells of the few-shot supernet: nb201 (default) or darts (T-NAS's space)")
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
    from archsearch.meta_search import settings_from_options

    options = {"space": args.space, **parse_overrides(args.overrides)}
    return settings_from_options(args.method, args.ways, args.shots, options)


def run(args: argparse.Namespace) -> int:
    from archsearch.meta_search import prepare_meta_search

    search = prepare_meta_search(settings_from(args), name=args.name, dataset=args.dataset,
                                 iterations=args.iterations, seed=args.seed, val_every=args.val_every,
                                 val_episodes=args.val_episodes, checkpoint_every=args.checkpoint_every)
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    store = open_store(args.store, create=True)
    try:
        result = search.run(store, say)
    finally:
        store.close()
    print(f"finished {result.name!r}: {result.iterations} iterations in {result.seconds:.0f} s; meta-arch "
          f"{format_arch(search.settings.space, result.arch)}")
    print(f"stored in {args.store}; test it: archsearch meta-test {result.name} --store {args.store} --episodes 600")
    return 0
