"""Arrays shipped in the package: read without pickle; a missing file is one UserError line when asked."""

from __future__ import annotations

import pytest

from archsearch.core.errors import UserError
from archsearch.core.packaged import load_packaged_npz


def test_an_embedded_dataset_reads_as_arrays() -> None:
    arrays = load_packaged_npz("archsearch.data", "files", "digits.npz")
    assert arrays and all(hasattr(value, "shape") for value in arrays.values())


def test_a_missing_file_is_a_user_error_when_a_message_is_given() -> None:
    with pytest.raises(UserError, match="reinstall"):
        load_packaged_npz("archsearch.data", "files", "nothing.npz", missing="nothing.npz is missing; reinstall")
    with pytest.raises(FileNotFoundError):
        load_packaged_npz("archsearch.data", "files", "nothing.npz")
