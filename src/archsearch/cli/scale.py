"""``archsearch scale``: EfficientNet compound scaling of one architecture (see :mod:`archsearch.scaling`)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from archsearch.cli.common import add_store_argument, format_arch, open_store, stored_objectives
from archsearch.core.errors import UserError
from archsearch.scaling import GRID_STEP, MAX_CANDIDATES, PHI_MAX, TOLERANCE, ScaledRun

EXAMPLE = ("examples: archsearch scale --space mobile --arch 'e1k3-re-L1-w1.0|e6k3-re-L2-w1.0|...' --dataset mnist5k "
           "--epochs 1 --phi-max 3\n"
           "          archsearch scale --from-study demo --store runs.db --grid-step 0.1 --max-candidates 6 --json s.json")
FLAG_OPTIONS = {"dataset", "fidelity", "epochs", "seed", "device", "fraction"}


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "scale", help="EfficientNet compound scaling (depth, width, resolution) of one architecture",
        description="Step 1: train the base arch scaled by each (alpha, beta, gamma) of a grid with "
                    "alpha*beta^2*gamma^2 ~ 2 at phi = 1 and keep the best validation accuracy. Step 2: report the "
                    "networks scaled by phi = 1..--phi-max (params, FLOPs; accuracy with --train-scaled).",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", help="base architecture string (the space's native form or JSON)")
    parser.add_argument("--from-study", metavar="NAME", help="use the best arch of this stored experiment")
    add_store_argument(parser)
    parser.add_argument("--space", default=None, help="space of --arch (default mobile, or the study's)")
    parser.add_argument("--dataset", default=None, help="dataset (default digits, or the study's)")
    parser.add_argument("--epochs", type=float, default=1.0, help="training epochs of every candidate (default 1)")
    parser.add_argument("--fraction", type=float, default=1.0, help="fraction of the train split to use")
    parser.add_argument("--phi-max", type=int, default=PHI_MAX, help=f"largest phi of step 2 (default {PHI_MAX})")
    parser.add_argument("--grid-step", type=float, default=GRID_STEP, help=f"grid spacing (default {GRID_STEP})")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE,
                        help=f"keep |alpha*beta^2*gamma^2 - 2| <= this (default {TOLERANCE})")
    parser.add_argument("--max-candidates", type=int, default=MAX_CANDIDATES,
                        help=f"train at most this many grid points, evenly spaced (default {MAX_CANDIDATES})")
    parser.add_argument("--train-scaled", action="store_true", help="also train the networks of step 2")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initialisation and batches")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a training or network option, e.g. lr=0.05, net.head_channels=256 (repeatable)")
    parser.add_argument("--json", dest="json_out", metavar="FILE", help="also write the results as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archsearch.cli.train import parse_overrides
    from archsearch.estimators.train import TrainEstimator
    from archsearch.spaces import create_space
    from archsearch.scaling import base_resolution, check_scalable, coefficient_grid, scale_family, search_coefficients

    _check_flags(args)
    space_name, arch_text, study = _source(args)
    space = create_space(space_name, study.get("space_options"))
    check_scalable(space)
    arch = space.parse(arch_text) if isinstance(arch_text, str) else space.validate(arch_text)
    options = {**study.get("options", {}), **parse_overrides(args.overrides)}
    flagged = sorted(set(options) & FLAG_OPTIONS)
    if flagged:
        raise UserError(f"set {flagged[0]} with its flag (--{flagged[0].replace('_', '-')}), not --set")
    base_net = dict(options.pop("net", {}) or {})
    dataset = args.dataset or study.get("dataset") or "digits"
    candidates = coefficient_grid(args.grid_step, args.tolerance, args.max_candidates)

    def make_estimator(net: dict[str, Any]) -> TrainEstimator:
        return TrainEstimator(space, dataset, fidelity=args.epochs, seed=args.seed, device=args.device,
                              fraction=args.fraction, net=net, measure=("params", "flops"), **options)

    resolution = base_resolution(make_estimator(base_net).dataset.shape)
    print(f"base arch: {space.format(arch)}\nstep 1: {len(candidates)} candidates (alpha, beta, gamma) with "
          f"|alpha*beta^2*gamma^2 - 2| <= {args.tolerance:g} on a {args.grid_step:g} grid, phi = 1, {dataset} "
          f"({resolution}x{resolution}), {args.epochs:g} epochs", flush=True)
    _print_header()
    step1 = search_coefficients(make_estimator, arch, candidates, resolution, base_net, progress=_print_row)
    best = step1[0]
    if not math.isfinite(best.valid_acc):
        raise UserError(f"every candidate failed to train, e.g. {best.metrics.get('error', 'unknown error')}")
    print(f"best: {best.coefficients.label()} (valid_acc {best.valid_acc:.2f})\nstep 2: phi = 0..{args.phi_max}"
          f"{' (trained)' if args.train_scaled else ''}", flush=True)
    _print_header()
    step2 = scale_family(make_estimator, arch, best.coefficients, resolution, args.phi_max, base_net,
                         train=args.train_scaled, progress=_print_row)
    if args.json_out:
        document = {"space": space_name, "arch": space.format(arch), "dataset": dataset, "base_resolution": resolution,
                    "epochs": args.epochs, "fraction": args.fraction, "best": best.to_dict(),
                    "candidates": [r.to_dict() for r in step1], "scaled": [r.to_dict() for r in step2]}
        Path(args.json_out).write_text(json.dumps(document, indent=1, default=str) + "\n")
        print(f"results written to {args.json_out}")
    return 0


def _check_flags(args: argparse.Namespace) -> None:
    if bool(args.arch) == bool(args.from_study):
        raise UserError("give exactly one of --arch ARCH or --from-study NAME")
    if args.phi_max < 0:
        raise UserError(f"--phi-max must be >= 0, got {args.phi_max}")
    if not (math.isfinite(args.epochs) and args.epochs > 0) or not 0 < args.fraction <= 1:
        raise UserError(f"--epochs must be > 0 and --fraction in (0, 1]; got {args.epochs:g}, {args.fraction:g}")
    if args.json_out and not Path(args.json_out).parent.is_dir():
        raise UserError(f"folder of --json does not exist: {Path(args.json_out).parent}")


def _source(args: argparse.Namespace) -> tuple[str, Any, dict[str, Any]]:
    """(space name, arch string or mapping, the study's dataset and estimator options) of --arch / --from-study."""
    if args.arch:
        return args.space or "mobile", args.arch, {}
    from archsearch.study import best_trial

    store = open_store(args.store, create=False)
    try:
        experiment = store.get_experiment(args.from_study)
        best = best_trial(store.trials(experiment.id), stored_objectives(experiment.config)[0])
    finally:
        store.close()
    if best is None:
        raise UserError(f"experiment {args.from_study!r} has no successful trial to scale")
    config = experiment.config
    if args.space and args.space != config["space"]:
        raise UserError(f"experiment {args.from_study!r} searched space {config['space']!r}, not {args.space!r}")
    options = {"net": dict(config.get("estimator_options", {}).get("net", {}))}
    print(f"best arch of {args.from_study!r} (trial {best.number}): {format_arch(config['space'], best.arch)}")
    return config["space"], best.arch, {"dataset": config.get("dataset"), "options": options,
                                        "space_options": config.get("space_options")}


def _print_header() -> None:
    print(f"  {'alpha':>5} {'beta':>5} {'gamma':>5} {'prod':>5} {'phi':>3} {'depth':>5} {'width':>5} {'res':>4} "
          f"{'params':>10} {'MFLOPs':>9} {'valid_acc':>9} {'seconds':>8}")


def _print_row(run: ScaledRun) -> None:
    c, net = run.coefficients, run.net
    resolution = "base" if net.get("resolution") is None else str(net["resolution"])
    accuracy = f"{run.valid_acc:9.2f}" if math.isfinite(run.valid_acc) else f"{'-' if run.status != 'failed' else 'failed':>9}"
    print(f"  {c.alpha:5.2f} {c.beta:5.2f} {c.gamma:5.2f} {c.product:5.2f} {run.phi:3.0f} {net['depth_mult']:5.2f} "
          f"{net['width_mult']:5.2f} {resolution:>4} {run.params:10,.0f} {run.flops / 1e6:9.2f} {accuracy} "
          f"{run.seconds:8.1f}", flush=True)
