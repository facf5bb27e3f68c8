"""Weight-sharing rankings against archsearch's own ground truth (issue 22, part 2).

An RS-WS supernet (Li & Talwalkar 2019: one uniformly sampled path per step, SPOS-style; ``--strategy darts|gdas|
snas``: a relaxed search's supernet instead) of the NB201 cell at the table's size (C=8, one cell per stage) is
trained on mnist5k; after selected epochs every one of ``--archs`` archs of the shipped table ``nb201-mnist5k`` is
scored on its own path with the shared weights, with BatchNorm from the evaluation batch (``bn 0``) or
recalibrated on ``b`` training batches of its own path (``bn b``; SPOS, Guo et al. 2020), by its held-out accuracy
and by its mean held-out loss, and ranked against the table (4-epoch validation accuracy; also its validation loss,
and the mean of both training seeds where the table has them): Kendall tau and Spearman rho (scipy). Budget: the
supernet's training seconds against the mean stand-alone train seconds of a table row, and the images its weight
steps passed against a table row's 4 x 4,000 (the issue's cap: 10 stand-alone trainings = 80 RS-WS epochs on the
2,000-image weights half). One run of ``--epochs`` epochs (cosine lr over the whole run); tau is read along it.
``--split DIM --split-epochs K``: few-shot supernets (Zhao et al. 2021), one copy per option of DIM for the last K
epochs, each arch scored by its option's copy. ``--plot FILES``: tau against epochs.

    .venv/bin/python perf/oneshot_ranking.py --epochs 80 --at 10,20,40,60,80 --archs 100 --bn 20 \\
        --out perf/results/oneshot_ranking_loss80.json
    .venv/bin/python perf/oneshot_ranking.py --epochs 64 --split edge_0_1 --split-epochs 4 --archs 100 --bn 20 \\
        --out perf/results/oneshot_ranking_fewshot.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
from scipy.stats import kendalltau, spearmanr  # noqa: E402

from archsearch.benchmarks import load_benchmark  # noqa: E402
from archsearch.benchmarks.shipped import NB201_MNIST5K_EPOCHS, NB201_MNIST5K_NET  # noqa: E402
from archsearch.estimators.few_shot import split_and_score  # noqa: E402
from archsearch.config import StudyConfig  # noqa: E402
from archsearch.core.threads import configure  # noqa: E402
from archsearch.study.components import build_components, one_shot_engine  # noqa: E402

NET = NB201_MNIST5K_NET  # the table's network


def engine_for(epochs: int, seed: int, strategy: str = "rsws", **options: object):  # type: ignore[no-untyped-def]
    own = {"candidates": 1} if strategy == "rsws" else {"hessian_every": 0}
    config = StudyConfig.from_mapping({"space": "nb201", "strategy": strategy, "estimator": "train",
                                       "dataset": "mnist5k", "max_trials": 1, "seed": seed, "device": "cpu",
                                       "strategy_options": {"epochs": epochs, "net": dict(NET), **own, **options}})
    components = build_components(config)
    components.bind_strategy(seed)
    return one_shot_engine(config, components)


def ground_truths(table, archs: list) -> dict[str, list[float]]:  # type: ignore[no-untyped-def, type-arg]
    """The table's rankings of ``archs``: validation accuracy, (minus) validation loss, and, where the table has the
    second seed, the mean validation accuracy over both seeds (less noisy: the 500-image split resolves 0.2 %)."""
    rows = [table.query(a, "mnist5k", 4) for a in archs]
    truths = {"valid_acc": [r["valid_acc"] for r in rows], "valid_loss": [-r["valid_loss"] for r in rows]}
    if all(math.isfinite(r.get("valid_acc_seed1", math.nan)) for r in rows):
        truths["valid_acc_2seeds"] = [(r["valid_acc"] + r["valid_acc_seed1"]) / 2 for r in rows]
    return truths


def agreement(scores: list[float], truth: list[float]) -> dict[str, float]:
    return {"kendall_tau": kendalltau(scores, truth)[0], "spearman": spearmanr(scores, truth)[0]}


def row(engine, truths: dict, scores: dict, trained: float, standalone: float, started: float, **extra) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """Agreement of each score with each ground truth, and the supernet's budget in stand-alone trainings: by its
    training seconds, and by the images its weight steps passed (one path each) against a table row's
    (4 epochs of the 4,000 training images), which CPU contention does not change."""
    images = len(engine.weights_part) * extra.pop("epochs_trained")
    first = next(iter(scores))
    return {**extra, **agreement(scores[first], truths["valid_acc"]),
            "by_score_and_truth": {f"{s}~{t}": agreement(scores[s], truth) for s in scores
                                   for t, truth in truths.items()},
            "supernet_seconds": trained, "budget_in_standalone_trainings": trained / standalone,
            "budget_in_standalone_images": images / (len(engine.data.train) * NB201_MNIST5K_EPOCHS),
            "scoring_seconds": time.perf_counter() - started}


def one_supernet(args: argparse.Namespace, archs: list, truths: dict, standalone: float) -> list[dict]:  # type: ignore[type-arg]
    """One supernet of ``--epochs`` (trained by ``--strategy``: RS-WS's uniform single paths, or a relaxed search's
    mixture / sampled paths with its logits learning); every arch scored on its own path (accuracy and loss) after
    each epoch in ``--at``."""
    engine = engine_for(args.epochs, args.seed, args.strategy)
    at, modes = {int(e) for e in args.at.split(",")}, [int(b) for b in args.bn.split(",")]
    rows, trained = [], 0.0
    while engine.epoch < args.epochs:
        started = time.perf_counter()
        engine.train_epoch()
        trained += time.perf_counter() - started
        for bn in modes if engine.epoch in at else []:
            started = time.perf_counter()
            shared = [engine.shared_evaluation(a, recalibrate=bn) for a in archs]
            scores = {"loss": [-loss for _, loss in shared], "acc": [acc for acc, _ in shared]}
            rows.append(row(engine, truths, scores, trained, standalone, started, epoch=engine.epoch, bn_batches=bn,
                            epochs_trained=engine.epoch, shared_acc_median=statistics.median(scores["acc"])))
            print(json.dumps(rows[-1]), flush=True)
    return rows


def few_shot(args: argparse.Namespace, archs: list, truths: dict, standalone: float) -> list[dict]:  # type: ignore[type-arg]
    """Few-shot supernets (Zhao et al. 2021): ``--epochs - --split-epochs`` shared epochs, then one copy per option of
    ``--split`` for the last ``--split-epochs``; each arch scored by its option's copy (by loss)."""
    bn = int(args.bn.split(",")[-1])
    engine = engine_for(args.epochs, args.seed, split=args.split, split_epochs=args.split_epochs, rank_by="loss",
                        bn_batches=bn)
    started = time.perf_counter()
    while engine.epoch < engine.shared_epochs:
        engine.train_epoch()
    scored = split_and_score(engine, archs)
    trained = time.perf_counter() - started  # includes the scoring (not split out)
    copies = len({a[args.split] for a in archs})
    result = row(engine, truths, {"loss": [score for _, score in scored]}, trained, standalone, time.perf_counter(),
                 epoch=args.epochs, bn_batches=bn, split=args.split, split_epochs=args.split_epochs, copies=copies,
                 epochs_trained=engine.shared_epochs + copies * args.split_epochs)
    print(json.dumps(result), flush=True)
    return [result]


def plot(results: list[Path], out: Path, ceiling: float | None) -> None:
    """Kendall tau against supernet epochs (one line per score, from each results file), the noise ceiling dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    for path in results:
        rows = [r for r in json.loads(path.read_text())["rows"] if "split" not in r and r["bn_batches"] == 20]
        for score, label in (("loss", "shared-weight loss"), ("acc", "shared-weight accuracy")):
            points = [(r["epoch"], r["by_score_and_truth"][f"{score}~valid_acc"]["kendall_tau"]) for r in rows
                      if f"{score}~valid_acc" in r["by_score_and_truth"]]
            if points:
                axes.plot(*zip(*points), marker="o", label=f"{label} ({path.stem})")
        for r in (r for r in json.loads(path.read_text())["rows"] if "split" in r):
            axes.scatter([8 * r["budget_in_standalone_images"]], [r["kendall_tau"]], marker="*", s=120,  # its total epochs
                         label=f"few-shot (loss), split {r['split']}, {r['copies']} copies")
    if ceiling is not None:
        axes.axhline(ceiling, linestyle="--", color="grey", label="table seed-to-seed tau (noise ceiling)")
    axes.set_xlabel("supernet epochs (80 = the images of 10 stand-alone trainings)")
    axes.set_ylabel("Kendall tau vs table valid acc")
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out, dpi=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--at", default="2,4,8,16,24", help="epochs after which the archs are scored")
    parser.add_argument("--archs", type=int, default=150)
    parser.add_argument("--bn", default="0,20", help="BatchNorm recalibration batches to compare (0: batch stats)")
    parser.add_argument("--split", default="", help="few-shot: split the supernet on this dim (e.g. edge_0_1)")
    parser.add_argument("--split-epochs", type=int, default=0, help="few-shot: epochs of each split copy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--archs-seed", type=int, default=0, help="seed of the uniform sample of table archs scored")
    parser.add_argument("--strategy", default="rsws", help="whose supernet: rsws, or a relaxed one (darts, gdas, snas)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "perf" / "results" / "oneshot_ranking.json"))
    parser.add_argument("--plot", nargs="+", default=None, help="only plot tau vs epochs from these results files")
    parser.add_argument("--ceiling", type=float, default=None, help="the table's seed-to-seed tau, for the plot")
    args = parser.parse_args()
    if args.plot:
        plot([Path(p) for p in args.plot], Path(args.out), args.ceiling)
        return 0
    configure(args.threads)
    table = load_benchmark("nb201-mnist5k")
    # a seeded uniform sample of the table's archs (its rows are sorted by arch: the first 100 all share edge_0_1)
    picked = np.random.default_rng(args.archs_seed).choice(len(table), size=min(args.archs, len(table)), replace=False)
    archs = [table.arch_at(int(i)) for i in sorted(picked)]
    truths = ground_truths(table, archs)
    standalone = statistics.mean(table.query(a, "mnist5k", 4)["train_seconds"] for a in archs)
    rows = (few_shot if args.split else one_supernet)(args, archs, truths, standalone)
    document = {"strategy": args.strategy, "archs": len(archs), "archs_seed": args.archs_seed, "standalone_train_seconds_mean": standalone, "net": NET, "seed": args.seed,
                "epochs": args.epochs, "threads": args.threads, "table_rows": len(table), "rows": rows}
    Path(args.out).write_text(json.dumps(document, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
