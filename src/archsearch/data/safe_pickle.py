"""Reading pickled numpy data (CIFAR-10's python batches, MNIST-1D) without running code from the file.

``pickle.load`` would call whatever the file names; this unpickler resolves only numpy's array
reconstruction (``_reconstruct``, ``ndarray``, ``dtype``, ``_frombuffer``) and ``_codecs.encode`` with
latin-1 (how protocol 2 from Python 3 stores bytes). Any other global refuses the file before it runs.
"""

from __future__ import annotations

import codecs
import importlib
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from archsearch.core.errors import UserError


def _numpy_function(name: str, modules: tuple[str, ...]) -> Any:
    for module in modules:  # numpy >= 2 names numpy._core, numpy 1.x numpy.core
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"numpy has no {name}")


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    if codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError(f"_codecs.encode with {encoding!r}")
    return codecs.encode(text, encoding)


def _allowed() -> dict[tuple[str, str], Any]:
    reconstruct = _numpy_function("_reconstruct", ("numpy._core.multiarray", "numpy.core.multiarray"))
    frombuffer = _numpy_function("_frombuffer", ("numpy._core.numeric", "numpy.core.numeric"))
    allowed: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                                           ("_codecs", "encode"): _latin1_encode}
    for package in ("numpy._core", "numpy.core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{package}.numeric", "_frombuffer")] = frombuffer
    return allowed


class _Refused(Exception):
    """The pickle names a global outside the allow-list."""


class NumpyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings, numbers and numpy arrays; refuses every other global."""

    _ALLOWED: dict[tuple[str, str], Any] | None = None

    def find_class(self, module: str, name: str) -> Any:
        if NumpyUnpickler._ALLOWED is None:
            NumpyUnpickler._ALLOWED = _allowed()
        found = NumpyUnpickler._ALLOWED.get((module, name))
        if found is None:
            raise _Refused(f"it refers to {module}.{name}, which is not allowed")
        return found


def load_numpy_pickle(path: Path, what: str, encoding: str = "bytes") -> Any:
    """The object pickled in ``path``; a refused or malformed pickle raises "<path> is not <what> (...)"."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        return NumpyUnpickler(io.BytesIO(data), encoding=encoding).load()
    except _Refused as error:
        raise UserError(f"{path} is not {what} ({error})") from None
    except Exception as error:  # noqa: BLE001 - any failure to parse an untrusted file is the file's fault
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"{path} is not {what} (unreadable pickle: {reason})") from None
