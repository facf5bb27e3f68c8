"""``archsearch train``: train one architecture fully and save a checkpoint (weights + arch + config)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from archsearch.cli.common import DEFAULT_STORE, ExampleHelpFormatter, format_metrics, open_store
from archsearch.config import set_dotted
from archsearch.core.errors import UserError

EXAMPLE = ("example: archsearch train --space nb201 --dataset mnist5k --epochs 30 --out best.pt "
           "--arch '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|' "
           "--set net.channels=16 --set lr=0.05")


FLAG_OPTIONS = {"dataset", "fidelity", "epochs", "seed", "device", "data_dir", "download", "fraction"}


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train", help="train one architecture and save a checkpoint",
        description="Train one architecture with the train estimator's recipe (SGD Nesterov, cosine lr) and save "
                    "a checkpoint loadable with torch.load(weights_only=True) and by 'archsearch export'.",
        epilog=EXAMPLE, formatter_class=ExampleHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--arch", help="architecture string (the space's native form or JSON)")
    source.add_argument("--from-study", metavar="NAME",
                        help="train the best arch of experiment NAME (in --store) with its space and network options")
    parser.add_argument("--store", default=DEFAULT_STORE, help=f"the store of --from-study (default {DEFAULT_STORE})")
    parser.add_argument("--space", default=None, help="search space (default: nb201)")
    parser.add_argument("--space-file", default=None, help="YAML/JSON file declaring the space (sets --space declared)")
    parser.add_argument("--dataset", default=None,
                        help="dataset (archsearch list datasets; default mnist5k, or the study's with --from-study)")
    parser.add_argument("--epochs", type=float, default=30.0, help="epochs (default 30)")
    parser.add_argument("--fraction", type=float, default=1.0, help="fraction of the train split to use")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initialisation and batches")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--data-dir", default=None, help="where a file dataset lives")
    parser.add_argument("--download", action="store_true", help="download the dataset where it can")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a training option, e.g. lr=0.05, batch_size=64, net.channels=16 (repeatable)")
    parser.add_argument("--out", default="model.pt", help="checkpoint file to write (default model.pt)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.set_defaults(run=run)


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs (values as YAML scalars); ``net.X=v`` sets ``X`` in the ``net`` mapping."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, eq, text = pair.partition("=")
        if not eq or not key.strip():
            raise UserError(f"--set needs key=value, got {pair!r}")
        try:
            value = yaml.safe_load(text) if text else ""
        except yaml.YAMLError:
            value = text
        set_dotted(options, key.strip(), value)
    return options


def run(args: argparse.Namespace) -> int:
    from archsearch.estimators.train import TrainEstimator, trial_seed
    from archsearch.estimators.trainer import TrialFailed, train
    from archsearch.export import save_checkpoint

    out = Path(args.out)
    if not out.parent.is_dir():
        raise UserError(f"output folder does not exist: {out.parent}")
    options = parse_overrides(args.overrides)
    flagged = sorted(set(options) & FLAG_OPTIONS)
    if flagged:
        raise UserError(f"set {flagged[0]} with its flag (--{flagged[0].replace('_', '-')}), not --set")
    space_name, space, arch = _space_and_arch(args, options)
    args.dataset = args.dataset or "mnist5k"
    estimator = TrainEstimator(space, args.dataset, fidelity=args.epochs, seed=args.seed, device=args.device,
                               data_dir=args.data_dir, download=args.download, fraction=args.fraction, **options)
    print(f"training {space.format(arch)} on {args.dataset} for {args.epochs:g} epochs on {estimator.device}",
          flush=True)
    try:
        model = estimator.build(arch)
        metrics = estimator.model_metrics(model)
        history = train(model, estimator.data(), estimator.recipe, seed=trial_seed(args.seed, arch) + 1)
    except TrialFailed as failure:
        raise UserError(f"training failed: {failure.reason}") from None
    except (RuntimeError, ValueError, TypeError) as exc:  # e.g. out of memory, an input too small for the net
        raise UserError(f"training failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                        ) from None
    metrics.update(history.metrics)
    dataset = estimator.dataset
    save_checkpoint(out, model, arch=dict(arch), space=space_name, space_options=space.space_options(),
                    net=estimator.net, input_shape=dataset.shape, num_classes=dataset.num_classes,
                    extra={"dataset": args.dataset, "options": _plain(estimator.options), "metrics": metrics,
                           "curves": history.curves})
    if args.json:
        print(json.dumps({"arch": space.format(arch), "metrics": metrics, "curves": history.curves,
                          "checkpoint": str(out)}))
    else:
        print(f"  {format_metrics(metrics)}\n  valid_acc by epoch: "
              + ", ".join(f"{v:.2f}" for v in history.curves["valid_acc"]) + f"\ncheckpoint saved to {out}")
    return 0


def _space_and_arch(args: argparse.Namespace, options: dict[str, Any]) -> tuple[str, Any, Any]:
    """The space's name, the space and the arch: from --arch (and --space / --space-file), or the best trial of
    --from-study with the study's space, its network options (under those given with --set) and its dataset
    (unless --dataset is given)."""
    if args.from_study is None:
        space_name, space = _space(args)
        return space_name, space, space.parse(args.arch)
    if args.space is not None or args.space_file is not None:
        raise UserError("--from-study takes the study's space; leave out --space and --space-file")
    from archsearch.study.records import stored_best

    store = open_store(args.store, create=False, write=False)
    try:
        best = stored_best(store, args.from_study)
    finally:
        store.close()
    if best.net is not None:
        options["net"] = {**best.net, **options.get("net", {})}
    if args.dataset is None:
        args.dataset = best.config.get("dataset")
    print(f"best of {args.from_study!r}: trial {best.trial.number}, {best.space.format(best.arch)}", flush=True)
    return str(best.config["space"]), best.space, best.arch


def _space(args: argparse.Namespace) -> tuple[str, Any]:
    """The space's name and the space: --space (nb201 by default), or the one --space-file declares."""
    from archsearch.spaces import create_space
    from archsearch.spaces.declared import load_space_file

    if args.space_file is None:
        return args.space or "nb201", create_space(args.space or "nb201")
    if args.space not in (None, "declared"):
        raise UserError(f"--space-file declares the space; it cannot be combined with --space {args.space}")
    return "declared", create_space("declared", load_space_file(args.space_file))


def _plain(options: dict[str, Any]) -> dict[str, Any]:
    """Options as JSON-plain values (a checkpoint holds only plain types besides tensors)."""
    return json.loads(json.dumps(options, default=str))
