"""Meta-architecture search on Omniglot (issue 7; not part of the test suite).

Meta-trains T-NAS and/or MetaNAS (``archsearch.meta_search``) on the meta-train alphabets (5-way 1-shot
episodes), then meta-tests on the disjoint meta-test alphabets: 5-way 1-shot and 5-way 5-shot, 600 episodes
each, every task adapting the meta-architecture (task-specific arch derived from the adapted logits, its
weights fine-tuned on the support set). Reports mean accuracy +- 95% CI, the mean parameter count of the
derived task networks, adaptation time per task and meta-training CPU time, beside the 4-conv baselines of
perf/results/fewshot_baselines.json when that file exists.

    .venv/bin/python perf/meta_search_omniglot.py [--methods tnas,metanas] [--iterations 200] [--episodes 600]

Writes perf/results/meta_search_omniglot.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from archsearch.fewshot.data import load_omniglot
from archsearch.fewshot.episodes import EpisodeSampler
from archsearch.fewshot.learners.base import evaluate, meta_train
from archsearch.meta_search import MetaArchitectureLearner, MetaSearchSettings

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="tnas,metanas")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--episodes", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out_path = RESULTS / "meta_search_omniglot.json"
    report = json.loads(out_path.read_text()) if out_path.is_file() else {"results": {}}
    report["protocol"] = {"train": "meta-train alphabets, 5-way 1-shot, 5 queries/class", "iterations": args.iterations,
                          "test": "meta-test alphabets (disjoint), 15 queries/class", "episodes": args.episodes,
                          "threads": args.threads}
    train = EpisodeSampler(load_omniglot("meta-train"), 5, 1, 5, seed=args.seed)
    for method in args.methods.split(","):
        learner = MetaArchitectureLearner(MetaSearchSettings(method=method), seed=args.seed)
        started = time.process_time()
        history = meta_train(learner, train, args.iterations,
                             log=lambda step, loss, _: print(f"{method} {step} {loss:.3f}", flush=True)
                             if step % 25 == 0 else None)
        Path(tempfile.gettempdir(), f"meta_search_{method}.pt").write_bytes(learner.to_bytes())  # to re-test
        entry = {"settings": learner.settings.__dict__, "meta_train_cpu_seconds": time.process_time() - started,
                 "meta_train_wall_seconds": history.seconds, "meta_architecture": dict(learner.net.derive())}
        for shots in (1, 5):
            learner.derived.clear()
            test = EpisodeSampler(load_omniglot("meta-test"), 5, shots, 15, seed=args.seed + 100)
            result = evaluate(learner, test, args.episodes)
            entry[f"5way{shots}shot"] = {"mean_acc": 100 * result.mean_acc, "ci95": 100 * result.ci95,
                                         "derived_params_mean": learner.deployed_parameters(),
                                         "supernet_params": result.params,
                                         "adapt_ms_per_task": 1000 * result.adapt_seconds_per_task}
            print(f"{method} 5-way {shots}-shot: {100 * result.mean_acc:.2f} +- {100 * result.ci95:.2f}, derived "
                  f"{learner.deployed_parameters():,.0f} params, {1000 * result.adapt_seconds_per_task:.0f} ms/task",
                  flush=True)
        report["results"][method] = entry
        RESULTS.mkdir(exist_ok=True)
        out_path.write_text(json.dumps(report, indent=1))
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
