"""The cell topologies shared by spaces and networks: which NB201 edges are live."""

from __future__ import annotations

from archsearch.nn.topology import EDGE_DIMS, nb201_live_ops


def test_nb201_live_ops_keep_exactly_the_edges_on_input_to_output_paths() -> None:
    def cell(*ops: str) -> dict[str, str]:
        return dict(zip(EDGE_DIMS, ops))

    residual = cell("avg_pool_3x3", "none", "nor_conv_3x3", "avg_pool_3x3", "none", "nor_conv_3x3")
    assert nb201_live_ops(residual) == residual  # every op on a path 0 -> 3
    unused = cell("skip_connect", "nor_conv_3x3", "nor_conv_1x1", "nor_conv_3x3", "none", "none")
    assert nb201_live_ops(unused) == cell("none", "none", "none", "nor_conv_3x3", "none", "none")
    unfed = cell("none", "none", "nor_conv_3x3", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
    assert nb201_live_ops(unfed) == cell("none", "none", "none", "skip_connect", "none", "none")
    assert set(nb201_live_ops(cell(*["none"] * 6)).values()) == {"none"}
