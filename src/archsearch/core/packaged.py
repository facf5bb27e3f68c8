"""Arrays shipped inside the package (benchmark tables, embedded datasets), read without pickle."""

from __future__ import annotations

from importlib import resources

import numpy as np

from archsearch.core.errors import UserError


def load_packaged_npz(package: str, *path: str, missing: str | None = None) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file at ``path`` inside ``package`` (e.g. ``"archsearch.data", "files",
    "digits.npz"``); ``missing``: the UserError's text when the file is not installed (else FileNotFoundError)."""
    resource = resources.files(package)
    for part in path:
        resource = resource.joinpath(part)
    try:
        with resource.open("rb") as handle, np.load(handle, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except FileNotFoundError:
        if missing is None:
            raise
        raise UserError(missing) from None
