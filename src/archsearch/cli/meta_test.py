"""``archsearch meta-test``: meta-train a few-shot baseline on Omniglot's meta-train split and report its
accuracy on meta-test episodes (or on Lake et al.'s 20 one-shot runs).

Meta-training and meta-testing are :func:`archsearch.meta_search.meta_train_baseline` and
:func:`archsearch.meta_search.meta_test`; the printing lives in :func:`report_learner`, so that any path that
ends with a trained :class:`~archsearch.fewshot.learners.FewShotLearner` (a baseline, or a stored
meta-architecture) reports the same way.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archsearch.cli.common import ExampleHelpFormatter
from archsearch.core.errors import UserError

# ---- defaults -----------------------------------------------------------------------------------------
WAYS, SHOTS, QUERIES = 5, 1, 15  # the standard 5-way 1-shot test, 15 queries per class
EPISODES = 600  # MAML / ProtoNet test protocol
META_ITERATIONS = 1000
VAL_EPISODES = 100
RUN_WAYS = 20  # Lake's one-shot runs are 20-way
MAX_PARAMS = 111_936  # = archsearch.meta_search.searched_protonet.MAX_PARAMS (the 4-conv ProtoNet's weights)
BASELINES = ("maml", "protonet", "relationnet", "reptile")  # = archsearch.fewshot.baselines.BASELINES (no torch here)

EXAMPLE = ("example: archsearch meta-test --baseline protonet --ways 5 --shots 1 --episodes 600 "
           "--meta-iterations 200 --json report.json")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "meta-test", help="meta-train a few-shot baseline on Omniglot and report meta-test accuracy",
        description="Meta-train the 4-conv baseline of MAML, Prototypical Networks, Relation Network or Reptile "
                    "(each at its paper's Omniglot settings) on the meta-train alphabets, then report mean "
                    "accuracy +- 95% CI, parameters and adaptation time per task on meta-test episodes.",
        epilog=EXAMPLE, formatter_class=ExampleHelpFormatter)
    parser.add_argument("name", nargs="?", default=None,
                        help="a stored meta-search (archsearch meta-search) to adapt per task; or give --baseline")
    parser.add_argument("--baseline", default=None, choices=BASELINES, help="few-shot learner to meta-train")
    parser.add_argument("--store", default="runs.db", help="store of NAME (default runs.db)")
    parser.add_argument("--ways", type=int, default=None,
                        help=f"classes per test episode (default {WAYS}; {RUN_WAYS} with --one-shot-runs)")
    parser.add_argument("--shots", type=int, default=SHOTS, help=f"support images per class (default {SHOTS})")
    parser.add_argument("--queries", type=int, default=QUERIES, help=f"query images per class (default {QUERIES})")
    parser.add_argument("--episodes", type=int, default=EPISODES, help=f"test episodes (default {EPISODES})")
    parser.add_argument("--meta-iterations", type=int, default=META_ITERATIONS,
                        help=f"outer steps of meta-training (default {META_ITERATIONS}; the papers use 40k-100k)")
    parser.add_argument("--meta-batch", type=int, default=None, help="tasks per outer step (default: the paper's)")
    parser.add_argument("--hidden", type=int, default=64, help="filters per conv layer (default 64)")
    parser.add_argument("--max-params", type=int, default=MAX_PARAMS,
                        help=f"a searched ProtoNet embedding (meta-search --method protonet) is retrained as wide as "
                             f"this many weights allow (default {MAX_PARAMS:,}: the 4-conv ProtoNet's)")
    parser.add_argument("--validate-every", type=int, default=0,
                        help=f"report accuracy on {VAL_EPISODES} meta-val episodes every N steps (default 0: never)")
    parser.add_argument("--one-shot-runs", action="store_true",
                        help="evaluate on Lake et al.'s 20 one-shot runs (20-way 1-shot) instead of meta-test episodes")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initialisation and the episodes")
    parser.add_argument("--device", default="cpu", help="cpu (default), auto, cuda or cuda:N")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the report as JSON to FILE")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(run=run)


def _positive(name: str, value: int, minimum: int = 1) -> None:
    if value < minimum:
        raise UserError(f"--{name.replace('_', '-')} must be >= {minimum}, got {value}")


def check_args(args: argparse.Namespace) -> None:
    """Every bad flag value is a one-line UserError before any work starts."""
    if (args.name is None) == (args.baseline is None):
        raise UserError("give either a stored meta-search NAME or --baseline maml|protonet|relationnet|reptile")
    if args.ways is None:
        args.ways = RUN_WAYS if args.one_shot_runs else WAYS
    for name in ("ways", "shots", "queries", "episodes", "hidden", "max_params"):
        _positive(name, getattr(args, name))
    _positive("meta-iterations", args.meta_iterations, 0)
    _positive("validate-every", args.validate_every, 0)
    _positive("seed", args.seed, 0)
    if args.ways < 2:
        raise UserError(f"--ways must be >= 2, got {args.ways}")
    if args.meta_batch is not None:
        _positive("meta-batch", args.meta_batch)
    if args.one_shot_runs:
        if args.shots != 1:
            raise UserError(f"the one-shot runs are 1-shot; drop --shots {args.shots}")
        if args.ways != RUN_WAYS and args.baseline in ("maml", "reptile"):
            raise UserError(f"the one-shot runs are {RUN_WAYS}-way and {args.baseline}'s head is fixed at "
                            f"meta-training; use --ways {RUN_WAYS} (the default with --one-shot-runs)")
    if args.json is not None and not Path(args.json).parent.is_dir():
        raise UserError(f"output folder does not exist: {Path(args.json).parent}")


def run(args: argparse.Namespace) -> int:
    from archsearch.meta_search import meta_test_sampler, meta_train_baseline

    check_args(args)
    if args.name is not None:
        return _run_stored(args)
    if not args.one_shot_runs:  # a test episode the split cannot give fails now, not after meta-training
        meta_test_sampler(args.ways, args.shots, args.queries, args.seed)
    say, log = (None, None) if args.quiet else _progress(args.meta_iterations)
    trained = meta_train_baseline(args.baseline, args.ways, args.shots, queries=args.queries,
                                  iterations=args.meta_iterations, meta_batch=args.meta_batch, hidden=args.hidden,
                                  validate_every=args.validate_every, val_episodes=VAL_EPISODES, seed=args.seed,
                                  device=args.device, say=say, log=log)
    report_learner(trained.learner, args, trained.summary())
    return 0


def _run_stored(args: argparse.Namespace) -> int:
    """Adapt a stored meta-architecture to every test task (its ways are fixed by the meta-search)."""
    from archsearch.meta_search import load_meta_architecture
    from archsearch.cli.common import open_store

    store = open_store(args.store, create=False, write=False)
    try:
        learner = load_meta_architecture(store, args.name)
    finally:
        store.close()
    if learner.settings.method == "protonet":
        return _run_searched_protonet(args, learner)
    if args.ways != learner.settings.ways:
        raise UserError(f"meta-search {args.name!r} was meta-trained {learner.settings.ways}-way; "
                        f"use --ways {learner.settings.ways}")
    result = report_learner(learner, args, {"meta_search": args.name, "method": learner.settings.method,
                                            "space": learner.settings.space})
    print(f"task-specific archs: {learner.deployed_parameters():,.0f} parameters on average "
          f"(the supernet has {result['params']:,})")
    if args.json is not None:  # the derived nets' size is known once every task has adapted
        result["derived_params_mean"] = learner.deployed_parameters()
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _run_searched_protonet(args: argparse.Namespace, learner: Any) -> int:
    """Retrain the searched embedding (as wide as --max-params allows) as a ProtoNet, then meta-test it."""
    from archsearch.fewshot.data import load_omniglot
    from archsearch.meta_search import meta_train_recipe, searched_protonet_baseline

    baseline, width = searched_protonet_baseline(learner, args.ways, args.shots, max_params=args.max_params,
                                                 seed=args.seed,
                                                 max_train_ways=load_omniglot("meta-train").num_classes)
    say, log = (None, None) if args.quiet else _progress(args.meta_iterations)
    trained = meta_train_recipe(f"protonet on the searched embedding of {args.name!r} ({width} channels)", baseline,
                                args.ways, args.shots, queries=args.queries, iterations=args.meta_iterations,
                                meta_batch=args.meta_batch, validate_every=args.validate_every,
                                val_episodes=VAL_EPISODES, seed=args.seed, device=args.device, say=say, log=log)
    arch = learner.net.derive()
    built = dict(baseline.learner.encoder.fixed)  # the arch without its dead edges
    report_learner(trained.learner, args, {**trained.summary(), "meta_search": args.name, "method": "protonet",
                                           "space": learner.settings.space, "arch": dict(arch),
                                           "embedding_arch": built, "channels": width})
    return 0


def _progress(iterations: int) -> tuple[Callable[[str], None], Callable[[int, float, float | None], None]]:
    """The plan line of meta-training (it starts the clock) and a line every tenth of the steps."""
    every = max(1, iterations // 10)
    start = [time.perf_counter()]

    def say(text: str) -> None:
        print(text, flush=True)
        start[0] = time.perf_counter()

    def log(step: int, loss: float, val_acc: float | None) -> None:
        if step % every == 0 or val_acc is not None:
            val = "" if val_acc is None else f", meta-val acc {100 * val_acc:.2f}%"
            print(f"  step {step}/{iterations}: loss {loss:.4f}{val} ({time.perf_counter() - start[0]:.0f} s)",
                  flush=True)

    return say, log


def report_learner(learner: Any, args: argparse.Namespace, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Meta-test a trained learner as ``args`` asks (meta-test episodes or the one-shot runs), print the
    result (one JSON object with ``--json``) and return it."""
    from archsearch.meta_search import meta_test

    tested = meta_test(learner, args.ways, args.shots, queries=args.queries, episodes=args.episodes, seed=args.seed,
                       one_shot_runs=args.one_shot_runs)
    result = tested.as_dict(extra)
    print(f"{tested.target}: {tested.report.line()}")
    if args.json is not None:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result
