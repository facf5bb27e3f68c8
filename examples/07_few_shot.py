"""Few-shot learning on Omniglot: meta-train a baseline, then meta-test it on unseen alphabets.

archsearch ships a small Omniglot (Lake et al.'s background-small sets): meta-train and meta-val
alphabets, and meta-test alphabets disjoint from them. A baseline is the papers' 4-conv network with its
learner: Prototypical Networks (a class is the mean embedding of its support images; queries go to the
nearest prototype), MAML (a few inner SGD steps from a meta-learned initialisation), Reptile or Relation
Network. Meta-testing reports the mean accuracy over N-way K-shot test episodes with its 95% confidence
interval (1.96 std / sqrt(episodes)), as the papers do.

Papers: Snell, Swersky & Zemel, "Prototypical Networks for Few-shot Learning", NeurIPS 2017; Finn, Abbeel &
Levine, "Model-Agnostic Meta-Learning" (MAML), ICML 2017; Lake, Salakhutdinov & Tenenbaum, Science 2015.

    python examples/07_few_shot.py                       # ProtoNet, 300 outer steps, 200 test episodes
    python examples/07_few_shot.py --baseline maml       # or reptile, relationnet
    python examples/07_few_shot.py --tiny                # 3 outer steps, 10 test episodes, 8 filters
"""

from __future__ import annotations

import argparse

import torch

from archsearch.fewshot.baselines import BASELINES, build_baseline
from archsearch.fewshot.data import load_omniglot
from archsearch.fewshot.episodes import EpisodeSampler
from archsearch.fewshot.learners import evaluate, meta_train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="protonet", choices=BASELINES)
    parser.add_argument("--ways", type=int, default=5)
    parser.add_argument("--shots", type=int, default=1)
    parser.add_argument("--queries", type=int, default=15)
    parser.add_argument("--iterations", type=int, default=300, help="outer steps (the papers: 40k-100k)")
    parser.add_argument("--episodes", type=int, default=200, help="meta-test episodes (the papers: 600)")
    parser.add_argument("--hidden", type=int, default=64, help="filters per conv layer")
    parser.add_argument("--tiny", action="store_true", help="3 steps, 10 test episodes, 8 filters")
    args = parser.parse_args()
    if args.tiny:
        args.iterations, args.episodes, args.hidden = 3, 10, 8

    train_set = load_omniglot("meta-train")  # with the 90/180/270-degree rotations as extra classes
    test_set = load_omniglot("meta-test")
    print(f"{train_set.name}: {train_set.num_classes} classes; {test_set.name}: {test_set.num_classes} classes")
    baseline = build_baseline(args.baseline, args.ways, args.shots, hidden=args.hidden, seed=0,
                              max_train_ways=train_set.num_classes)
    sampler = EpisodeSampler(train_set, baseline.train_ways, baseline.train_shots, baseline.train_queries, seed=0)
    print(f"meta-training {args.baseline} on {baseline.train_ways}-way {baseline.train_shots}-shot episodes "
          f"({baseline.train_queries} queries per class) for {args.iterations} steps")
    torch.manual_seed(0)
    history = meta_train(baseline.learner, sampler, args.iterations)
    print(f"  {history.seconds:.1f} s, last training loss {history.losses[-1]:.3f}")

    test = EpisodeSampler(test_set, args.ways, args.shots, args.queries, seed=2)
    report = evaluate(baseline.learner, test, args.episodes)
    print(f"meta-test {args.ways}-way {args.shots}-shot on {report.episodes} episodes: "
          f"accuracy {100 * report.mean_acc:.2f}% +- {100 * report.ci95:.2f}% (95% CI), "
          f"{report.params:,} params, {1000 * report.adapt_seconds_per_task:.1f} ms per task")


if __name__ == "__main__":
    main()
