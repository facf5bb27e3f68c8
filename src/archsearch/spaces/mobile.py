"""The ``mobile`` space: MnasNet's factorized hierarchical search space (Tan et al., CVPR 2019, "MnasNet:
Platform-Aware Neural Architecture Search for Mobile", Sec. 4.1 and Fig. 4) on MobileNetV2's skeleton
(Sandler et al., CVPR 2018, Table 2), with MobileNetV3's h-swish as an activation choice (Howard et al., ICCV
2019).

The network is a stem (conv3x3 stride 2, 32 channels), 7 stages and a head (conv1x1 to 1280, pool, dropout 0.2,
linear). Stage i has MnasNet-A1's base channels (16, 24, 40, 80, 112, 160, 320) and MobileNetV2's first-layer
strides (1, 2, 2, 2, 1, 2, 1); every layer of a stage is the same block, its first layer strides. Per stage
the dims are (42 in all):

- ``s{i}_block``  mbconv1 / mbconv3 / mbconv6 (the expansion ratio; MnasNet's ConvOp choices)
- ``s{i}_kernel`` 3 / 5 / 7
- ``s{i}_se``     false / true (squeeze-and-excitation, MnasNet's SERatio 0 / 0.25)
- ``s{i}_act``    relu / hswish
- ``s{i}_layers`` 1..4 (MnasNet's N_i)
- ``s{i}_width``  0.75 / 1.0 / 1.25 (multiplier of the base channels, rounded to a multiple of 8; MnasNet's F_i)

The native string has one token per stage, ``|``-separated: ``e6k5se-hs-L3-w1.0`` is mbconv6, kernel 5, SE,
h-swish, 3 layers, width 1.0 (``e1k3-re-L1-w0.75`` has no SE and ReLU). ``build`` takes EfficientNet's global
width and depth multipliers (Tan & Le, ICML 2019: ``round_filters``, ``round_repeats``) and an input
``resolution`` for compound scaling (:mod:`archsearch.scaling`).
"""

from __future__ import annotations

import math
import re
from typing import Any

from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Dim, Integer
from archsearch.core.errors import ArchError
from archsearch.core.options import check_int, check_number
from archsearch.core.space import SearchSpace

# -- defaults: MnasNet-A1 channels, MobileNetV2 strides and head -----------------------------------------------
BASE_CHANNELS: tuple[int, ...] = (16, 24, 40, 80, 112, 160, 320)
STRIDES: tuple[int, ...] = (1, 2, 2, 2, 1, 2, 1)
BLOCKS: tuple[str, ...] = ("mbconv1", "mbconv3", "mbconv6")
KERNELS: tuple[int, ...] = (3, 5, 7)
WIDTHS: tuple[float, ...] = (0.75, 1.0, 1.25)
MAX_LAYERS = 4
STEM_CHANNELS, HEAD_CHANNELS, DROPOUT = 32, 1280, 0.2
STAGES = len(BASE_CHANNELS)
PARTS: tuple[str, ...] = ("block", "kernel", "se", "act", "layers", "width")

# integers of at most 9 digits: int() refuses more than 4300, and no valid choice is near either limit
_TOKEN = re.compile(r"^e(?P<e>\d{1,9})k(?P<k>\d{1,9})(?P<se>se)?-(?P<act>[a-z]+)-L(?P<layers>\d{1,9})"
                    r"-w(?P<width>\d+(?:\.\d+)?)$")


def dim_name(stage: int, part: str) -> str:
    """``s{stage}_{part}``, stages numbered from 1."""
    return f"s{stage}_{part}"


class MobileSpace(SearchSpace):
    """MnasNet's per-stage choices: block (expansion), kernel, SE, activation, layers, width."""

    name = "mobile"

    def __init__(self) -> None:
        from archsearch.nn.mobile import ACTIVATIONS

        self._dims: dict[str, Dim] = {}
        for stage in range(1, STAGES + 1):
            self._dims.update({dim_name(stage, "block"): Categorical(BLOCKS),
                               dim_name(stage, "kernel"): Categorical(KERNELS),
                               dim_name(stage, "se"): Categorical((False, True)),
                               dim_name(stage, "act"): Categorical(ACTIVATIONS),
                               dim_name(stage, "layers"): Integer(1, MAX_LAYERS),
                               dim_name(stage, "width"): Categorical(WIDTHS)})

    def dims(self) -> dict[str, Dim]:
        return dict(self._dims)

    # -- native strings ---------------------------------------------------------------------
    def format(self, arch: Arch) -> str:
        from archsearch.nn.mobile import ACTIVATION_TAGS

        tokens = []
        for stage in range(1, STAGES + 1):
            c = {part: arch[dim_name(stage, part)] for part in PARTS}
            se = "se" if c["se"] else ""
            tokens.append(f"e{_expansion(c['block'])}k{c['kernel']}{se}-{ACTIVATION_TAGS[c['act']]}"
                          f"-L{c['layers']}-w{c['width']}")
        return "|".join(tokens)

    def parse(self, text: str) -> Arch:
        """A ``|``-separated string of 7 stage tokens like ``e6k5se-hs-L3-w1.0``, or the JSON key of an arch."""
        if not isinstance(text, str):
            raise ArchError(f"an arch of space 'mobile' must be a string, got {type(text).__name__}")
        text = text.strip()
        if text.startswith("{"):
            return super().parse(text)
        tokens = text.split("|")
        if len(tokens) != STAGES:
            raise ArchError(f"malformed mobile arch string {text!r}: expected {STAGES} '|'-separated stages "
                            "like 'e6k5se-hs-L3-w1.0'")
        choices: dict[str, Any] = {}
        for stage, token in enumerate(tokens, start=1):
            choices.update(_parse_token(stage, token.strip(), text))
        return self.validate(choices)

    # -- networks ---------------------------------------------------------------------------
    def build(self, arch: Arch, *, num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0,
              depth_mult: float = 1.0, resolution: int | None = None, dropout: float = DROPOUT,
              stem_channels: int = STEM_CHANNELS, head_channels: int = HEAD_CHANNELS) -> Any:
        """The MobileNetwork of ``arch``; ``width_mult`` scales every channel count (stem and head too) and
        ``depth_mult`` every stage's layers, as EfficientNet; ``resolution`` resizes the input first."""
        from archsearch.nn.mobile import MobileNetwork, make_divisible

        arch = self.validate(arch)
        owner = "space mobile"
        width_mult = check_number(owner, "width_mult", width_mult, 1e-3)
        depth_mult = check_number(owner, "depth_mult", depth_mult, 1e-3)
        if resolution is not None:
            resolution = check_int(owner, "resolution", resolution, 1)
        stem = make_divisible(check_int(owner, "stem_channels", stem_channels) * width_mult)
        head = make_divisible(check_int(owner, "head_channels", head_channels) * width_mult)
        blocks = self.block_specs(arch, width_mult, depth_mult, stem)
        return MobileNetwork(blocks, in_channels=check_int(owner, "in_channels", in_channels),
                             num_classes=check_int(owner, "num_classes", num_classes), stem_channels=stem,
                             head_channels=head, dropout=check_number(owner, "dropout", dropout, 0.0, 0.99),
                             resolution=resolution)

    def block_specs(self, arch: Arch, width_mult: float = 1.0, depth_mult: float = 1.0,
                    stem_channels: int = STEM_CHANNELS) -> list[Any]:
        """One ``BlockSpec`` per layer: stage i's channels ``make_divisible(base * width * width_mult)``, its
        layers ``ceil(layers * depth_mult)`` (EfficientNet's round_repeats), the first of them strided."""
        from archsearch.nn.mobile import BlockSpec, make_divisible

        specs, c_in = [], stem_channels
        for stage in range(1, STAGES + 1):
            c = {part: arch[dim_name(stage, part)] for part in PARTS}
            c_out = make_divisible(BASE_CHANNELS[stage - 1] * c["width"] * width_mult)
            for layer in range(int(math.ceil(c["layers"] * depth_mult))):
                specs.append(BlockSpec(_expansion(c["block"]), c["kernel"], STRIDES[stage - 1] if layer == 0 else 1,
                                       c["se"], c["act"], c_in, c_out))
                c_in = c_out
        return specs


def _expansion(block: str) -> int:
    return int(block.removeprefix("mbconv"))


def _parse_token(stage: int, token: str, text: str) -> dict[str, Any]:
    """The six dims of one stage token; the values are checked by ``validate`` afterwards."""
    from archsearch.nn.mobile import ACTIVATION_TAGS

    match = _TOKEN.match(token)
    if match is None:
        raise ArchError(f"malformed stage {stage} {token!r} in mobile arch {text!r}: expected a token like "
                        "'e6k5se-hs-L3-w1.0' (expansion, kernel, optional se, re|hs, layers, width)")
    acts = {tag: name for name, tag in ACTIVATION_TAGS.items()}
    if match["act"] not in acts:
        raise ArchError(f"unknown activation {match['act']!r} in stage {stage} of {text!r}; use re or hs")
    values = {"block": f"mbconv{int(match['e'])}", "kernel": int(match["k"]), "se": match["se"] is not None,
              "act": acts[match["act"]], "layers": int(match["layers"]), "width": float(match["width"])}
    return {dim_name(stage, part): values[part] for part in PARTS}
