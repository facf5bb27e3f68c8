"""Device names are checked without torch, for every estimator."""

from __future__ import annotations

import pytest

from archsearch.core.device import check_device_name
from archsearch.core.errors import UserError


@pytest.mark.parametrize("name, expected", [("auto", "auto"), ("CPU", "cpu"), (" cuda ", "cuda"), ("cuda:1", "cuda:1")])
def test_valid_names(name: str, expected: str) -> None:
    assert check_device_name(name) == expected


@pytest.mark.parametrize("name", ["tpu", "cuda:", "cuda:-1", "cuda:x", "cpu:0", "", "mps"])
def test_invalid_names_are_user_errors(name: str) -> None:
    with pytest.raises(UserError, match="unknown device"):
        check_device_name(name)
