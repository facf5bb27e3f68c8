"""Multi-objective NAS: NSGA-II trades accuracy against parameters on the NAS-Bench-201 table.

Two objectives (``valid_acc:max`` and ``params:min``; the NB201 table carries every cell's params and
FLOPs, so the search is free) make a multi-objective search: NSGA-II keeps a population ranked by
non-dominated sorting and crowding distance, children come from uniform crossover and the space's
mutation. At the end the script prints the Pareto front of all evaluated archs and its hypervolume
w.r.t. a reference point (one raw value per objective). An optional constraint (``--max-params``) makes
infeasible archs lose to every feasible one (Deb's constrained domination).

Papers: Deb et al., "A fast and elitist multiobjective genetic algorithm: NSGA-II", IEEE TEVC 2002;
Zitzler & Thiele 1998 (hypervolume); Dong & Yang, ICLR 2020 (NAS-Bench-201).

    python examples/03_multi_objective.py                   # 300 trials at the 200-epoch fidelity
    python examples/03_multi_objective.py --max-params 1e6  # only archs under a million parameters count
    python examples/03_multi_objective.py --tiny            # 40 trials
"""

from __future__ import annotations

import argparse

from archsearch.config import StudyConfig
from archsearch.report.pareto import front_hypervolume, front_indices
from archsearch.spaces.nb201 import NB201Space
from archsearch.store import InMemoryStore
from archsearch.study import Study, stored_result

REFERENCE_POINT = (0.0, 1.6e6)  # valid_acc 0 %, 1.6 M params: the worst corner the hypervolume counts from


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--max-params", type=float, default=None, help="a hard constraint params <= this")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="40 trials")
    args = parser.parse_args()
    if args.tiny:
        args.trials = 40

    config = StudyConfig.from_mapping({
        "name": "front", "seed": args.seed, "fidelity": 200, "max_trials": args.trials,
        "strategy": {"name": "nsga2", "population_size": 20},
        "objective": ["valid_acc:max", "params:min"],              # several objectives: multi-objective
        "constraint": None if args.max_params is None else f"params<={args.max_params:g}",
    })
    config.finish_budget()
    study = Study.create(config, InMemoryStore()).run()

    goal = study.components.goal
    results = [stored_result(trial) for trial in study.trials]
    front = front_indices(results, goal)  # ok, feasible, non-dominated; best valid_acc first
    print(f"{len(study.trials)} trials, {goal.describe()}")
    print(f"Pareto front: {len(front)} archs, hypervolume {front_hypervolume(results, goal, REFERENCE_POINT):.6g} "
          f"(reference point {REFERENCE_POINT})")
    space = NB201Space()
    for index in front:
        trial = study.trials[index]
        print(f"  valid {trial.metrics['valid_acc']:6.2f}%  params {trial.metrics['params']:>10,.0f}  "
              f"{space.format(trial.arch)}")


if __name__ == "__main__":
    main()
