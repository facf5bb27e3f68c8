"""Training recipes: the settings of one SGD training, each a user option checked on the way in.

Two recipes derive from :class:`TrainingRecipe`: ``archsearch.estimators.trainer.Recipe`` trains one network
from scratch (NAS-Bench-201's settings, Dong & Yang, ICLR 2020) and
``archsearch.strategies.oneshot.base.SupernetRecipe`` trains a supernet (the DARTS search settings, Liu et al.
2019); each module keeps its defaults, with their sources, in one visible block. What every training has is
declared here once: SGD with momentum and weight decay over ``epochs`` in batches of ``batch_size``, an optional
gradient-norm clip, augmentation; and how a user's value of each setting is checked (:func:`setting`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from archsearch.core.options import check_bool, check_int, check_number

R = TypeVar("R", bound="TrainingRecipe")
KINDS = ("int", "number", "bool")


@dataclass(frozen=True)
class Check:
    """How a user's value of one setting is checked: ``int`` (>= ``minimum``), ``number`` (finite, within the
    bounds) or ``bool``; ``optional``: ``None`` is accepted too (the setting is off)."""

    kind: str
    minimum: float | None = None
    maximum: float | None = None
    optional: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a setting's kind is one of {', '.join(KINDS)}, not {self.kind!r}")

    def __call__(self, owner: str, option: str, value: Any) -> Any:
        if value is None and self.optional:
            return None
        if self.kind == "int":
            return check_int(owner, option, value, 1 if self.minimum is None else int(self.minimum))
        if self.kind == "number":
            return check_number(owner, option, value, self.minimum, self.maximum)
        return check_bool(owner, option, value)


def setting(default: Any = dataclasses.MISSING, *, kind: str, minimum: float | None = None,
            maximum: float | None = None, optional: bool = False) -> Any:
    """A recipe field with its default and its check. A subclass that redeclares the field plainly
    (``lr: float = 0.025``) changes the default and keeps this check; with ``setting`` it changes both."""
    return dataclasses.field(default=default, metadata={"check": Check(kind, minimum, maximum, optional)})


@dataclass(frozen=True)
class TrainingRecipe:
    """The settings every training recipe has (each a user option); a recipe gives them its defaults."""

    epochs: float = setting(kind="number", minimum=1e-12)  # fractional epochs allowed
    batch_size: int = setting(kind="int", minimum=1)
    lr: float = setting(kind="number", minimum=1e-12)
    momentum: float = setting(kind="number", minimum=0.0, maximum=1.0)
    weight_decay: float = setting(kind="number", minimum=0.0)
    grad_clip: float | None = setting(kind="number", minimum=1e-12, optional=True)  # max global gradient norm
    augment: bool = setting(True, kind="bool")  # random crop + flip on natural images

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_options(cls: type[R], owner: str, options: Mapping[str, Any]) -> R:
        """The recipe with ``options`` (known names) over the defaults, each value checked (``UserError``
        naming ``owner`` and the option for the first bad one, in field order)."""
        checked = dict(options)
        for name in cls.option_names():
            check = cls._check_of(name)
            if name in checked and check is not None:
                checked[name] = check(owner, name, checked[name])
        return cls(**checked)

    @classmethod
    def _check_of(cls, name: str) -> Check | None:
        """The check of setting ``name``: the one of the nearest class that declared it with :func:`setting`."""
        for klass in cls.__mro__:
            declared = getattr(klass, "__dataclass_fields__", {}).get(name)
            if declared is not None and "check" in declared.metadata:
                return declared.metadata["check"]
        return None
