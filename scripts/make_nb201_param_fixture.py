"""Convert NASLib's NAS-Bench-201 zero-cost subset (CIFAR-10) into the parameter-count test fixture.

Reads (relative to the repository root, overridable with --data):
  ../shared/data/naslib-zc-subsets/zc_nasbench201.json               (NASLib, Apache-2.0)
  ../shared/data/nb201-nats-tss-test-acc-200ep/nats_bench.csv        (row i = NB201 index i)
  ../shared/data/nb201-cifar10valid-200ep-landscapes/cifar10_avg.csv (cifar10-valid accuracies)
Writes tests/fixtures/nb201_naslib_cifar10_params.json and tests/fixtures/NB201_NASLIB_SOURCE.md.

NASLib's "arch" is a tuple of op indices (0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1,
4 avg_pool_3x3) over the edges (1,2),(1,3),(1,4),(2,3),(2,4),(3,4) in 1-based node numbers, i.e.
0-based (0,1),(0,2),(0,3),(1,2),(1,3),(2,3) -- not the NB201 string order (0,1),(0,2),(1,2),(0,3),...
NASLib's "idx" is NOT the NB201 index: it numbers the cells of the subset 0..724. So the NB201 index is
looked up by arch string in nats_bench.csv, and the decoding is verified through NASLib's "val_accuracy"
(200-epoch cifar10-valid accuracy, one run) against the mean-of-seeds table: under the mapping above every
cell agrees within MAX_ACC_GAP points, and no other (edge order, op order) of the 720 x 120 does.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import statistics
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
MAX_ACC_GAP = 3.5  # points; a single run vs the mean of seeds (measured max 2.87)
SOURCE_MD = """# NAS-Bench-201 parameter counts from NASLib (test fixture)

`nb201_naslib_cifar10_params.json` is derived from NASLib's zero-cost benchmark subset:

- Source: github.com/automl/NASLib, `naslib/data/zc_nasbench201.json` at commit
  1bdbd960ee3e08b4b71dfbae57ff4d4e43ec25c1 ("Update NB201 ZC benchmark", 2022-05-18). License: Apache-2.0.
- Key `cifar10` ({n} cells). Per cell: `idx` = NB201 index (looked up by arch string in the NATS-Bench TSS
  table; NASLib's own `idx`, a 0..724 subset number, is kept as `naslib_idx`), `nb201` = NB201 arch string
  decoded from NASLib's op tuple, `params_m` = NASLib `params.score` (millions), `flops_m` = NASLib
  `flops.score` (MFLOPs), both for 10 classes and 3x32x32 input, C=16, N=5.
- Decoding: NASLib op indices 0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3 over
  0-based edges (0,1),(0,2),(0,3),(1,2),(1,3),(2,3); verified by `scripts/make_nb201_param_fixture.py`
  against the 200-epoch cifar10-valid accuracies (max gap {gap:.2f} points, median {median:.2f}; the only
  (edge order, op order) within {bound} points).
- Regenerate: `.venv/bin/python scripts/make_nb201_param_fixture.py`.
"""


def decode(op_tuple: str, edges: tuple = NASLIB_EDGES, ops: tuple = NASLIB_OPS) -> str:
    """NASLib op-index tuple string '(0, 2, 3, 2, 3, 1)' -> NB201 string."""
    indices = [int(token) for token in op_tuple.strip("()").split(",")]
    if len(indices) != 6:
        raise ValueError(f"expected 6 op indices, got {op_tuple!r}")
    edge_op = {edge: ops[index] for edge, index in zip(edges, indices)}
    return "+".join("|" + "|".join(f"{edge_op[(i, j)]}~{i}" for i in range(j)) + "|" for j in (1, 2, 3))


def accuracy_gaps(cells: list[dict], valid_acc: dict[str, float], edges: tuple, ops: tuple,
                  stop_above: float | None = None) -> list[float]:
    gaps = []
    for cell in cells:
        gaps.append(abs(valid_acc[decode(cell["arch"], edges, ops)] - float(cell["val_accuracy"])))
        if stop_above is not None and gaps[-1] > stop_above:
            break
    return gaps


def check_unique_mapping(cells: list[dict], valid_acc: dict[str, float]) -> None:
    """No (edge order, op order) other than NASLib's keeps every cell within MAX_ACC_GAP."""
    for edges in itertools.permutations(NASLIB_EDGES):
        for ops in itertools.permutations(NASLIB_OPS):
            if (edges, ops) == (NASLIB_EDGES, NASLIB_OPS):
                continue
            gaps = accuracy_gaps(cells, valid_acc, edges, ops, stop_above=MAX_ACC_GAP)
            assert max(gaps) > MAX_ACC_GAP, f"ambiguous decoding: edges {edges}, ops {ops} also fit"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "fixtures")
    args = parser.parse_args()

    naslib = json.loads((args.data / "naslib-zc-subsets" / "zc_nasbench201.json").read_text())["cifar10"]
    with open(args.data / "nb201-nats-tss-test-acc-200ep" / "nats_bench.csv", newline="") as f:
        index_of = {row["ArchitectureString"]: i for i, row in enumerate(csv.DictReader(f))}
    with open(args.data / "nb201-cifar10valid-200ep-landscapes" / "cifar10_avg.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    valid_acc = {row["arch_str"]: float(row["valid-accuracy"]) for row in rows}
    assert len(index_of) == len(valid_acc) == 15625
    assert all(index_of[row["arch_str"]] == int(row["index"]) for row in rows), "index tables disagree"

    cells = list(naslib.values())
    assert all(key == cell["arch"] for key, cell in naslib.items()), "NASLib key != arch"
    gaps = accuracy_gaps(cells, valid_acc, NASLIB_EDGES, NASLIB_OPS)
    assert max(gaps) <= MAX_ACC_GAP, f"NASLib decoding disagrees with NB201 by {max(gaps):.2f} points"
    check_unique_mapping(cells, valid_acc)

    fixture = [{"idx": index_of[decode(cell["arch"])], "naslib_idx": int(cell["idx"]), "nb201": decode(cell["arch"]),
                "params_m": cell["params"]["score"], "flops_m": cell["flops"]["score"]} for cell in cells]
    fixture.sort(key=lambda entry: entry["idx"])
    assert len({entry["idx"] for entry in fixture}) == len(fixture), "duplicate NB201 cells"

    args.out.mkdir(parents=True, exist_ok=True)
    text = "[\n" + ",\n".join(json.dumps(entry, separators=(",", ":")) for entry in fixture) + "\n]\n"
    (args.out / "nb201_naslib_cifar10_params.json").write_text(text)
    (args.out / "NB201_NASLIB_SOURCE.md").write_text(
        SOURCE_MD.format(n=len(fixture), gap=max(gaps), median=statistics.median(gaps), bound=MAX_ACC_GAP))
    print(f"wrote {len(fixture)} cells; accuracy gap max {max(gaps):.3f}, median {statistics.median(gaps):.3f}")


if __name__ == "__main__":
    main()
