"""``archsearch export``: write TorchScript, ONNX (checked by onnxruntime) and the genotype JSON of a trained
checkpoint, of the best arch of a stored search, or of an arch given on the command line (the networks are
:func:`archsearch.export.best_checkpoint` / :func:`~archsearch.export.arch_checkpoint`'s)."""

from __future__ import annotations

import argparse
from typing import Any

from archsearch.cli.common import add_store_argument, open_store
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
    from archsearch.export import arch_checkpoint, best_checkpoint

    if args.arch:
        options = parse_overrides(args.overrides)
        other = sorted(set(options) - {"net"})
        if other or not isinstance(options.get("net", {}), dict):
            raise UserError(f"export --set takes only net.<option>=VALUE, got {(other or ['net'])[0]!r}")
        return arch_checkpoint(args.space, args.arch, args.dataset, options.get("net", {}))
    store = open_store(args.store, create=False, write=False)
    try:
        return best_checkpoint(store, args.name)
    finally:
        store.close()
