"""NB201 encodings: the path encoding ignores dead edges, the one-hot encoding does not."""

from __future__ import annotations

import numpy as np

from archsearch.spaces.nb201 import NB201Space

SPACE = NB201Space()


def test_cells_differing_only_in_a_dead_edge_share_the_path_encoding() -> None:
    # edge 0->1 is 'none', so node 1 is always zero and edges 1->2, 1->3 are dead
    a = SPACE.parse("|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    b = SPACE.parse("|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    assert np.array_equal(SPACE.encode(a, "path"), SPACE.encode(b, "path"))
    assert not np.array_equal(SPACE.encode(a, "onehot"), SPACE.encode(b, "onehot"))


def test_path_encoding_counts_live_paths() -> None:
    resnet = SPACE.parse("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|")
    encoding = SPACE.encode(resnet, "path")
    assert encoding.shape == (100,)  # 4 + 16 + 16 + 64 labelled paths over the 4 live ops
    assert encoding.sum() == 2  # 0->3 (skip) and 0->1->2->3 (conv, conv, skip)
    changed = SPACE.encode(SPACE.parse("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"), "path")
    assert not np.array_equal(encoding, changed)
