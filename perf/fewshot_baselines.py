"""Few-shot baselines on the embedded Omniglot (issue 7; not part of the test suite).

MAML (Finn et al. 2017) and Prototypical Networks (Snell et al. 2017), both on the 4-conv backbone (64
filters), meta-trained on the meta-train split (116 characters x 4 rotations of 5 alphabets) and tested on
600 5-way 1-shot and 5-way 5-shot episodes (15 queries per class) of the 3 meta-test alphabets; the
ProtoNet 1-shot model is also tested on Lake et al.'s 20 one-shot runs (20-way 1-shot). Each learner at its
paper's settings except the number of outer steps (and MAML's meta-batch, see ``--maml-meta-batch``), which
are sized to fit ~10 minutes on the 2-core CPU machine; the papers use 40k-60k steps.

    .venv/bin/python perf/fewshot_baselines.py [--threads 1] [--maml-iterations 200 100]
        [--protonet-iterations 200 150] [--maml-meta-batch 8] [--episodes 600]

Writes perf/results/fewshot_baselines.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from archsearch.fewshot import EpisodeSampler, evaluate, load_omniglot, meta_train, one_shot_episodes
from archsearch.fewshot.baselines import build_baseline

RESULTS = Path(__file__).parent / "results" / "fewshot_baselines.json"
SHOTS = (1, 5)
WAYS = 5
QUERIES = 15


def run_one(name: str, shots: int, iterations: int, meta_batch: int | None, episodes: int, seed: int) -> tuple[dict, object]:
    train_set = load_omniglot("meta-train")
    baseline = build_baseline(name, WAYS, shots, seed=seed, max_train_ways=train_set.num_classes)
    sampler = EpisodeSampler(train_set, baseline.train_ways, baseline.train_shots, baseline.train_queries, seed=seed)
    cpu = time.process_time()
    history = meta_train(baseline.learner, sampler, iterations, meta_batch=meta_batch)
    cpu = time.process_time() - cpu
    test = EpisodeSampler(load_omniglot("meta-test"), WAYS, shots, QUERIES, seed=seed + 2)
    report = evaluate(baseline.learner, test, episodes)
    row = {"learner": name, "ways": WAYS, "shots": shots, "queries": QUERIES, "meta_iterations": iterations,
           "meta_batch": meta_batch or baseline.learner.meta_batch,
           "train_episode": [baseline.train_ways, baseline.train_shots, baseline.train_queries],
           "meta_train_wall_s": round(history.seconds, 1), "meta_train_cpu_s": round(cpu, 1),
           "first_loss": history.losses[0], "last10_loss": sum(history.losses[-10:]) / min(10, len(history.losses)),
           **report.as_dict()}
    print(f"{name} {WAYS}-way {shots}-shot, {iterations} iterations ({history.seconds:.0f} s): {report.line()}",
          flush=True)
    return row, baseline.learner


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: the 2 cores are shared)")
    parser.add_argument("--maml-iterations", type=int, nargs=2, default=[200, 100], help="1-shot, 5-shot")
    parser.add_argument("--protonet-iterations", type=int, nargs=2, default=[200, 150], help="1-shot, 5-shot")
    parser.add_argument("--maml-meta-batch", type=int, default=8, help="tasks per MAML outer step (paper: 32)")
    parser.add_argument("--episodes", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    rows = []
    for shots, maml_iters, proto_iters in zip(SHOTS, args.maml_iterations, args.protonet_iterations):
        rows.append(run_one("maml", shots, maml_iters, args.maml_meta_batch, args.episodes, args.seed)[0])
        row, learner = run_one("protonet", shots, proto_iters, None, args.episodes, args.seed)
        rows.append(row)
        if shots == 1:
            runs = evaluate(learner, one_shot_episodes())
            print(f"protonet (5-way 1-shot model) on the 20 one-shot runs: {runs.line()}", flush=True)
            one_shot = {"learner": "protonet", "trained_as": "5-way 1-shot (60-way training episodes)",
                        **runs.as_dict(with_accuracies=True)}
    result = {"command": "perf/fewshot_baselines.py " + " ".join(
                  f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                  for k, v in vars(args).items() if k != "out"),
              "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "torch": torch.__version__,
              "threads": args.threads, "total_wall_s": round(time.perf_counter() - start, 1),
              "meta_test": rows, "one_shot_runs": one_shot}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"total {result['total_wall_s']:.0f} s; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
