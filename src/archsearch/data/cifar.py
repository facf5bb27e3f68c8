"""CIFAR-10 from its python batches (Krizhevsky 2009, "Learning Multiple Layers of Features from Tiny
Images"), with an optional download of the official archive (md5-checked, extracted without leaving the
data folder). The batches are read with ``safe_pickle``, never with ``pickle.load``.

Split: 45,000 / 5,000 train / valid, stratified, from the 50,000 training images (``SPLIT_SEED``);
the 10,000 images of ``test_batch`` are the test split.
"""

from __future__ import annotations

import hashlib
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from archsearch.core.errors import UserError
from archsearch.data.base import Dataset, build_dataset, cached_by_files, held_out_size
from archsearch.data.safe_pickle import load_numpy_pickle

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_FOLDER = "cifar-10-batches-py"  # what the archive extracts to
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CIFAR10_VALID_FRACTION = 0.1  # 5,000 of 50,000
NUM_CLASSES = 10
DOWNLOAD_CHUNK = 1 << 20


def load_cifar10(*, data_dir: str | None = None, download: bool = False) -> Dataset:
    """CIFAR-10 from ``data_dir`` (or ``data_dir/cifar-10-batches-py``); ``download`` fetches it there first."""
    if data_dir is None:
        raise UserError("dataset 'cifar10' needs --data-dir DIR: the folder with the CIFAR-10 python batches "
                        "(or where --download should put them)")
    root = Path(data_dir).expanduser()
    if download and _batch_folder(root) is None:
        download_cifar10(root)
    folder = _batch_folder(root)
    if folder is None:
        raise UserError(_missing_message(root))
    files = [folder / name for name in (*TRAIN_BATCHES, TEST_BATCH)]
    return cached_by_files("cifar10", files, lambda: _build(files))


def _batch_folder(root: Path) -> Path | None:
    for folder in (root, root / CIFAR10_FOLDER):
        if all((folder / name).is_file() for name in (*TRAIN_BATCHES, TEST_BATCH)):
            return folder
    return None


def _missing_message(root: Path) -> str:
    if not root.is_dir():
        return f"CIFAR-10 folder {root} does not exist; pass --download to fetch CIFAR-10 into it"
    folder = root / CIFAR10_FOLDER if (root / CIFAR10_FOLDER).is_dir() else root
    missing = next(name for name in (*TRAIN_BATCHES, TEST_BATCH) if not (folder / name).is_file())
    return f"CIFAR-10 file {folder / missing} is missing; pass --download to fetch CIFAR-10 into {root}"


def _build(files: list[Path]) -> Dataset:
    train = [read_batch(path) for path in files[:-1]]
    x = np.concatenate([batch[0] for batch in train])
    y = np.concatenate([batch[1] for batch in train])
    x_test, y_test = read_batch(files[-1])
    return build_dataset("cifar10", x, y, valid=held_out_size(len(y), CIFAR10_VALID_FRACTION),
                         x_test=x_test, y_test=y_test, num_classes=NUM_CLASSES, scale=255.0,
                         augment="crop-flip", crop_padding=4)


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(x uint8 (N, 3, 32, 32), y int64 (N,)) of one python batch file."""
    what = "a CIFAR-10 batch file"
    content = load_numpy_pickle(path, what)
    if not isinstance(content, dict):
        raise UserError(f"{path} is not {what} (no dict inside)")
    data, labels = _field(content, "data", path, what), _field(content, "labels", path, what)
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072):
        raise UserError(f"{path} is not {what} ('data' is not a uint8 array of shape (N, 3072))")
    try:
        y = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise UserError(f"{path} is not {what} ('labels' are not integers)") from None
    if y.shape != (len(data),) or (len(y) and (y.min() < 0 or y.max() >= NUM_CLASSES)):
        raise UserError(f"{path} is not {what} ('labels' must be {len(data)} integers in 0..9)")
    return data.reshape(-1, 3, 32, 32), y


def _field(content: dict, name: str, path: Path, what: str) -> object:
    """``content[b"name"]`` (how Python 2 pickles read with bytes keys) or ``content["name"]``."""
    for key in (name.encode(), name):
        if key in content:
            return content[key]
    raise UserError(f"{path} is not {what} (no {name!r} entry)")


def download_cifar10(root: Path) -> None:
    """Fetch the official archive into ``root`` (unless a verified copy is there) and extract it."""
    root.mkdir(parents=True, exist_ok=True)
    archive = root / CIFAR10_ARCHIVE
    if not (archive.is_file() and _md5(archive) == CIFAR10_MD5):
        _fetch(CIFAR10_URL, archive)
        if _md5(archive) != CIFAR10_MD5:
            archive.unlink()
            raise UserError(f"the download of {CIFAR10_URL} is corrupt (md5 differs from {CIFAR10_MD5}); try again")
    safe_extract(archive, root)


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(DOWNLOAD_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url: str, target: Path) -> None:
    """Download ``url`` to ``target`` (via ``target.part``), printing progress lines on stderr."""
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, partial.open("wb") as out:
            total, done, shown = int(response.headers.get("Content-Length") or 0), 0, -1
            for chunk in iter(lambda: response.read(DOWNLOAD_CHUNK), b""):
                out.write(chunk)
                done += len(chunk)
                percent = 100 * done // total if total else -1
                if percent // 10 > shown // 10:
                    shown = percent
                    print(f"downloading {url}: {percent}% of {total / 1e6:.0f} MB", file=sys.stderr, flush=True)
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", None) or error
        raise UserError(f"cannot download {url}: {reason}") from None
    partial.replace(target)


def safe_extract(archive: Path, root: Path) -> None:
    """Extract the tar ``archive`` into ``root``; refuse links, devices and paths that leave ``root``."""
    base = root.resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                inside = (base / member.name).resolve()
                if not (member.isfile() or member.isdir()) or not inside.is_relative_to(base):
                    raise UserError(f"{archive} holds an unsafe entry {member.name!r}; nothing extracted")
            if hasattr(tarfile, "data_filter"):
                tar.extractall(base, members=members, filter="data")
            else:  # pragma: no cover - Python without extraction filters; members were checked above
                tar.extractall(base, members=members)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise UserError(f"cannot extract {archive}: {error}") from None
