"""``archsearch export``: write TorchScript, ONNX (checked by onnxruntime) and the genotype JSON of a trained
checkpoint, of the best arch of a stored search, or of an arch given on the command line."""

from __future__ import annotations

import argparse
from typing import Any

from archsearch.cli.common import add_store_argument, open_store, stored_goal, stored_objectives
from archsearch.core.errors import UserError

EXAMPLE = ("examples: archsearch export --checkpoint best.pt --out-dir exported\n"
           "          archsearch export demo --store runs.db --out-dir exported   (best arch, untrained weights)")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "export", help="export a network as TorchScript, ONNX and genotype JSON",
        description="Export a network. With --checkpoint (from 'archsearch train'): the trained weights. With an "
                    "experiment NAME or --arch: the architecture at its initial weights (seeded), for deployment "
                    "checks and latency measurements; train it first to export trained weights.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", help="experiment whose best arch to export")
    add_store_argument(parser)
    parser.add_argument("--checkpoint", help="checkpoint file written by 'archsearch train'")
    parser.add_argument("--arch", help="architecture string (with --space and --dataset)")
    parser.add_argument("--space", default="nb201", help="space of --arch (default nb201)")
    parser.add_argument("--dataset", default="mnist5k", help="dataset fixing the input shape and classes of --arch")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="network option for --arch, e.g. net.channels=8 (repeatable)")
    parser.add_argument("--out-dir", default="exported", help="folder to write into (created; default exported)")
    parser.add_argument("--formats", default="torchscript,onnx,genotype",
                        help="comma-separated subset of torchscript,onnx,genotype")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from archsearch.export import export_all

    sources = [bool(args.checkpoint), bool(args.arch), bool(args.name)]
    if sum(sources) != 1:
        raise UserError("give exactly one of: an experiment NAME, --checkpoint FILE or --arch ARCH")
    out = Path(args.out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out-dir is a file, not a folder: {out}")
    if not out.parent.is_dir():
        raise UserError(f"folder does not exist: {out.parent}")
    checkpoint: Any = args.checkpoint or _untrained_checkpoint(args)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    # export_all checks the formats and the checkpoint before it writes (creating the folder with the first
    # file), so a user error leaves no empty --out-dir behind
    for kind, path in export_all(checkpoint, out, formats).items():
        print(f"{kind:12s} {path}")
    if not args.checkpoint:
        print("note: weights are the arch's seeded initialisation; export a checkpoint of 'archsearch train' "
              "for trained weights")
    return 0


def _untrained_checkpoint(args: argparse.Namespace) -> Any:
    """A ``Checkpoint`` of the arch at its seeded initial weights (the best of NAME, or --arch)."""
    from archsearch.cli.train import parse_overrides
    from archsearch.spaces import create_space, space_from_config

    if args.arch:
        space = create_space(args.space)
        options = parse_overrides(args.overrides)
        other = sorted(set(options) - {"net"})
        if other or not isinstance(options.get("net", {}), dict):
            raise UserError(f"export --set takes only net.<option>=VALUE, got {(other or ['net'])[0]!r}")
        _check_net(space, args.space, options.get("net", {}))
        return _checkpoint(space, args.space, space.parse(args.arch), args.dataset, options, {})
    store = open_store(args.store, create=False, write=False)
    try:
        experiment = store.get_experiment(args.name)
        from archsearch.study import best_trial

        best = best_trial(store.trials(experiment.id), stored_goal(experiment.config))
    finally:
        store.close()
    if best is None:
        raise UserError(f"experiment {args.name!r} has no successful trial to export")
    config = experiment.config
    space = space_from_config(config)
    options = dict(config.get("estimator_options", {}))
    return _checkpoint(space, config["space"], space.validate(best.arch), config["dataset"], options, config,
                       metrics=best.metrics)


def _checkpoint(space: Any, space_name: str, arch: Any, dataset: str, options: dict[str, Any],
                config: dict[str, Any], metrics: dict[str, float] | None = None) -> Any:
    import torch

    from archsearch.estimators.train import load_dataset, trial_seed
    from archsearch.export import Checkpoint

    net = dict(options.get("net", {}))
    if config.get("estimator") == "tabular":
        from archsearch.benchmarks.nb201 import DATASET_SHAPES

        input_shape, num_classes = DATASET_SHAPES[dataset]
    else:
        data = load_dataset(dataset, config.get("data_dir"), False, options.get("dataset_options"))
        input_shape, num_classes = data.shape, data.num_classes
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(trial_seed(int(config.get("seed", 0)), arch))
        try:
            model = space.build(arch, num_classes=num_classes, in_channels=input_shape[0], **net)
        except (TypeError, ValueError, RuntimeError) as exc:  # a net option of a wrong type or size
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise UserError(f"cannot build the {space_name} network with net options {net}: "
                            f"{type(exc).__name__}: {first}") from None
    return Checkpoint(arch=dict(arch), space=space_name, net=net, input_shape=tuple(input_shape),
                      num_classes=num_classes, extra={"metrics": dict(metrics or {})}, state_dict=model.state_dict(),
                      space_options=space.space_options())


def _check_net(space: Any, space_name: str, net: dict[str, Any]) -> None:
    """Unknown ``net`` options are a user error (the space's ``build`` may swallow them with ``**_``)."""
    import inspect

    parameters = inspect.signature(space.build).parameters.items()
    known = sorted({n for n, p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
                   - {"num_classes", "in_channels"})  # set from the dataset
    wrong = sorted(set(net) - set(known))
    if known and wrong:
        raise UserError(f"unknown net option {wrong[0]!r} for space {space_name!r}; options: {', '.join(known)}")
