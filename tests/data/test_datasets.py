"""archsearch.data datasets: shapes, dtypes, fixed stratified splits, file formats and every user error.

CIFAR-10, image folders and .npz files are tested on tiny files written here; nothing is downloaded
(the download path is exercised with a ``file://`` URL to a tiny archive).
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from archsearch.core.errors import UserError
from archsearch.data import cifar
from archsearch.data.datasets import (Dataset, load_cifar10, load_digits, load_image_folder, load_mnist1d,
                                      load_mnist5k, load_npz)
from archsearch.data.datasets import _embedded
from tests.conftest import write_cifar

EMBEDDED = {  # loader: (shape, dtype, scale, augment, padding, (train, valid, test))
    load_digits: ((1, 8, 8), torch.uint8, 16.0, "crop", 1, (1257, 270, 270)),
    load_mnist5k: ((1, 28, 28), torch.uint8, 255.0, "crop", 2, (4000, 500, 500)),
    load_mnist1d: ((1, 1, 40), torch.float32, 1.0, "none", 0, (3600, 400, 1000)),
}


def user_error(call: Callable[[], object], match: str) -> str:
    """Run ``call``; it must raise a one-line UserError matching ``match``."""
    with pytest.raises(UserError, match=match) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and message.strip() == message
    return message


def check_splits(data: Dataset, total: int) -> None:
    """Shapes and dtypes agree, labels are in range, and the splits partition 0..total-1."""
    for split in (data.train, data.valid, data.test):
        assert split.x.shape[1:] == data.shape and split.x.device.type == "cpu"
        assert split.y.dtype == torch.int64 and split.y.shape == (len(split),)
        assert split.index.dtype == np.int64 and split.index.shape == (len(split),)
        assert 0 <= int(split.y.min()) and int(split.y.max()) < data.num_classes
    indices = np.concatenate([data.train.index, data.valid.index, data.test.index])
    assert np.array_equal(np.sort(indices), np.arange(total))
    assert len(data.mean) == len(data.std) == data.shape[0] and min(data.std) > 0


def check_stratified(data: Dataset) -> None:
    """Each held-out part holds every class close to its share of the whole."""
    labels = torch.cat([data.train.y, data.valid.y, data.test.y]).numpy()
    share = np.bincount(labels, minlength=data.num_classes) / len(labels)
    for split in (data.valid, data.test):
        counts = np.bincount(split.y.numpy(), minlength=data.num_classes)
        assert np.all(np.abs(counts - share * len(split)) <= max(1.5, 0.25 * share.max() * len(split)))


# ---- embedded ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("loader", list(EMBEDDED), ids=lambda f: f.__name__)
def test_embedded_dataset(loader: Callable[[], Dataset]) -> None:
    shape, dtype, scale, augment, padding, sizes = EMBEDDED[loader]
    data = loader()
    assert data is loader()  # cached per process
    assert (data.shape, data.train.x.dtype, data.scale, data.augment, data.crop_padding) == \
        (shape, dtype, scale, augment, padding)
    assert data.num_classes == 10 and (len(data.train), len(data.valid), len(data.test)) == sizes
    check_splits(data, sum(sizes))
    if loader is not load_mnist1d:  # mnist1d's test set is its own; digits and mnist5k split all of it
        check_stratified(data)
    for split in (data.train, data.valid, data.test):
        values = split.x.float() / data.scale
        assert 0.0 <= float(values.min()) and float(values.max()) <= 1.0 or data.scale == 1.0
    assert data.describe() == {"name": data.name, "shape": list(shape), "num_classes": 10,
                               "sizes": dict(zip(("train", "valid", "test"), sizes)), "augment": augment}


@pytest.mark.parametrize("loader", list(EMBEDDED), ids=lambda f: f.__name__)
def test_embedded_split_is_fixed_and_indexes_the_source(loader: Callable[[], Dataset]) -> None:
    first = loader()
    loader.cache_clear()  # type: ignore[attr-defined]
    second = loader()
    assert first is not second
    for a, b in ((first.train, second.train), (first.valid, second.valid), (first.test, second.test)):
        assert np.array_equal(a.index, b.index) and torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    source = _embedded(first.name)
    x = np.concatenate([source["x"], source.get("x_test", source["x"][:0])]).reshape(-1, *first.shape)
    y = np.concatenate([source["y"], source.get("y_test", source["y"][:0])]).astype(np.int64)
    for split in (first.train, first.valid, first.test):
        assert np.array_equal(split.x.numpy(), x[split.index]) and np.array_equal(split.y.numpy(), y[split.index])


def test_train_statistics_normalise() -> None:
    data = load_mnist5k()
    values = data.train.x.float() / data.scale
    assert abs(float(values.mean()) - data.mean[0]) < 1e-4 and abs(float(values.std()) - data.std[0]) < 1e-3


# ---- CIFAR-10 ------------------------------------------------------------------------------------------

def test_cifar10_from_batches(tmp_path: Path) -> None:
    folder = write_cifar(tmp_path / cifar.CIFAR10_FOLDER)
    data = load_cifar10(data_dir=str(tmp_path))
    assert (data.shape, data.train.x.dtype, data.num_classes, data.augment, data.crop_padding) == \
        ((3, 32, 32), torch.uint8, 10, "crop-flip", 4)
    assert (len(data.train), len(data.valid), len(data.test)) == (90, 10, 10)
    check_splits(data, 110)
    assert sorted(data.valid.y.tolist()) == list(range(10))  # stratified: one of each class
    batches = [pickle.loads((folder / name).read_bytes()) for name in (*cifar.TRAIN_BATCHES, cifar.TEST_BATCH)]
    x = np.concatenate([b[b"data"] for b in batches]).reshape(-1, 3, 32, 32)
    y = np.concatenate([b[b"labels"] for b in batches])
    for split in (data.train, data.valid, data.test):
        assert np.array_equal(split.x.numpy(), x[split.index]) and np.array_equal(split.y.numpy(), y[split.index])
    assert data.test.index.tolist() == list(range(100, 110))
    again = load_cifar10(data_dir=str(folder))  # the batch folder itself works too
    assert np.array_equal(again.valid.index, data.valid.index)


def test_cifar10_refuses_code_in_pickle(tmp_path: Path) -> None:
    folder = write_cifar(tmp_path)
    marker = tmp_path / "executed"

    class Evil:
        def __reduce__(self) -> tuple:
            return (os.system, (f"touch {marker}",))

    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    message = user_error(lambda: load_cifar10(data_dir=str(tmp_path)), "is not a CIFAR-10 batch file")
    assert "data_batch_3" in message and "system" in message and not marker.exists()


@pytest.mark.parametrize("content", [{b"labels": [1]}, [1, 2],
                                     {b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]},
                                     {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 12]}])
def test_cifar10_bad_batch(tmp_path: Path, content: object) -> None:
    folder = write_cifar(tmp_path)
    (folder / "test_batch").write_bytes(pickle.dumps(content))
    user_error(lambda: load_cifar10(data_dir=str(tmp_path)), r"test_batch is not a CIFAR-10 batch file")


def test_cifar10_truncated_pickle(tmp_path: Path) -> None:
    folder = write_cifar(tmp_path)
    (folder / "data_batch_2").write_bytes((folder / "data_batch_2").read_bytes()[:100])
    user_error(lambda: load_cifar10(data_dir=str(tmp_path)), "data_batch_2 is not a CIFAR-10 batch file")


def test_cifar10_missing(tmp_path: Path) -> None:
    user_error(lambda: load_cifar10(), "--data-dir")
    user_error(lambda: load_cifar10(data_dir=str(tmp_path / "nowhere")), "does not exist.*--download")
    folder = write_cifar(tmp_path)
    (folder / "data_batch_4").unlink()
    user_error(lambda: load_cifar10(data_dir=str(tmp_path)), "data_batch_4 is missing.*--download")


def make_archive(tmp_path: Path, extra: tarfile.TarInfo | None = None) -> tuple[Path, str]:
    source = write_cifar(tmp_path / "source" / cifar.CIFAR10_FOLDER)
    archive = tmp_path / "fake.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname=cifar.CIFAR10_FOLDER)
        if extra is not None:
            tar.addfile(extra, io.BytesIO(b"x" * extra.size))
    return archive, hashlib.md5(archive.read_bytes()).hexdigest()


def test_cifar10_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive, md5 = make_archive(tmp_path)
    monkeypatch.setattr(cifar, "CIFAR10_URL", archive.as_uri())
    monkeypatch.setattr(cifar, "CIFAR10_MD5", md5)
    target = tmp_path / "downloaded"
    data = load_cifar10(data_dir=str(target), download=True)
    assert len(data.train) == 90 and (target / cifar.CIFAR10_ARCHIVE).is_file()
    assert load_cifar10(data_dir=str(target), download=True).valid.index.tolist() == data.valid.index.tolist()


def test_cifar10_download_checks_md5_and_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive, md5 = make_archive(tmp_path)
    monkeypatch.setattr(cifar, "CIFAR10_URL", archive.as_uri())
    monkeypatch.setattr(cifar, "CIFAR10_MD5", "0" * 32)
    user_error(lambda: load_cifar10(data_dir=str(tmp_path / "a"), download=True), "corrupt")
    assert not (tmp_path / "a" / cifar.CIFAR10_ARCHIVE).exists()
    escape = tarfile.TarInfo("../escaped.txt")
    escape.size = 3
    archive, md5 = make_archive(tmp_path, escape)
    monkeypatch.setattr(cifar, "CIFAR10_URL", archive.as_uri())
    monkeypatch.setattr(cifar, "CIFAR10_MD5", md5)
    user_error(lambda: load_cifar10(data_dir=str(tmp_path / "b"), download=True), "unsafe entry")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "b" / cifar.CIFAR10_FOLDER).exists()
    monkeypatch.setattr(cifar, "CIFAR10_URL", (tmp_path / "absent.tar.gz").as_uri())
    user_error(lambda: load_cifar10(data_dir=str(tmp_path / "c"), download=True), "cannot download")


# ---- image folder --------------------------------------------------------------------------------------

def write_images(root: Path, per_class: int = 10, size: tuple[int, int] = (12, 12), mode: str = "RGB") -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, name in enumerate(("cat", "dog", "emu")):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            channels = (3,) if mode == "RGB" else ()
            pixels = rng.integers(0, 256, (size[1], size[0], *channels), dtype=np.uint8)
            Image.fromarray(pixels, mode=mode).save(root / name / f"{i:02d}.png")
    (root / "cat" / "notes.txt").write_text("not an image")
    return root


def test_image_folder(tmp_path: Path) -> None:
    data = load_image_folder(data_dir=str(write_images(tmp_path, size=(16, 12))))
    assert (data.shape, data.train.x.dtype, data.num_classes, data.scale, data.augment) == \
        ((3, 12, 16), torch.uint8, 3, 255.0, "crop-flip")
    assert (len(data.train), len(data.valid), len(data.test)) == (24, 3, 3)
    check_splits(data, 30)
    check_stratified(data)
    assert sorted(data.test.y.tolist()) == [0, 1, 2]
    resized = load_image_folder(data_dir=str(tmp_path), image_size=8)
    assert resized.shape == (3, 8, 8) and np.array_equal(resized.valid.index, data.valid.index)


def test_image_folder_grayscale(tmp_path: Path) -> None:
    data = load_image_folder(data_dir=str(write_images(tmp_path, per_class=4, mode="L")))
    assert data.shape == (1, 12, 12) and len(data.mean) == 1
    check_splits(data, 12)


def test_image_folder_errors(tmp_path: Path) -> None:
    user_error(lambda: load_image_folder(), "--data-dir")
    user_error(lambda: load_image_folder(data_dir=str(tmp_path / "none")), "does not exist")
    root = write_images(tmp_path / "mixed", per_class=3)
    (root / "emu").rename(root / "emu-old")
    from PIL import Image

    (root / "emu").mkdir()
    Image.new("RGB", (20, 20)).save(root / "emu" / "big.png")
    user_error(lambda: load_image_folder(data_dir=str(root)), r"differ in size .*big\.png.*image_size")
    assert load_image_folder(data_dir=str(root), image_size=10).shape == (3, 10, 10)
    user_error(lambda: load_image_folder(data_dir=str(root), image_size=0), "positive integer")
    broken = write_images(tmp_path / "broken", per_class=3)
    (broken / "dog" / "01.png").write_bytes(b"\x89PNG not really")
    user_error(lambda: load_image_folder(data_dir=str(broken)), r"cannot read image .*01\.png")
    single = tmp_path / "single" / "only"
    single.mkdir(parents=True)
    user_error(lambda: load_image_folder(data_dir=str(single.parent)), "at least 2")


# ---- npz -----------------------------------------------------------------------------------------------

def save_npz(path: Path, **arrays: np.ndarray) -> str:
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize("raw, shape", [((60, 7), (1, 1, 7)), ((60, 5, 6), (1, 5, 6)), ((60, 3, 5, 6), (3, 5, 6)),
                                        ((60, 5, 6, 3), (3, 5, 6)), ((60, 5, 6, 1), (1, 5, 6))])
def test_npz_shapes(tmp_path: Path, raw: tuple[int, ...], shape: tuple[int, int, int]) -> None:
    x = np.random.default_rng(0).normal(size=raw)
    data = load_npz(data_dir=save_npz(tmp_path / "d.npz", x=x, y=np.arange(60) % 3))
    assert data.shape == shape and data.train.x.dtype == torch.float32 and data.scale == 1.0
    assert (len(data.train), len(data.valid), len(data.test), data.augment) == (48, 6, 6, "none")
    check_splits(data, 60)
    check_stratified(data)
    if len(raw) == 4 and raw[-1] in (1, 3):
        row = int(data.train.index[0])
        assert np.allclose(data.train.x[0].numpy(), x[row].transpose(2, 0, 1))


def test_npz_test_arrays_uint8_and_label_remap(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    labels = np.array([3, 7, 10])
    path = save_npz(tmp_path / "d.npz", x=rng.integers(0, 256, (40, 8, 8), dtype=np.uint8),
                    y=labels[np.arange(40) % 3], x_test=rng.integers(0, 256, (9, 8, 8), dtype=np.uint8),
                    y_test=labels[np.arange(9) % 3].astype(float))
    data = load_npz(data_dir=path)
    assert (data.num_classes, data.scale, data.train.x.dtype) == (3, 255.0, torch.uint8)
    assert (len(data.train), len(data.valid), len(data.test)) == (36, 4, 9)
    check_splits(data, 49)
    assert data.test.y.tolist() == [0, 1, 2] * 3 and data.test.index.min() == 40


def test_npz_errors(tmp_path: Path) -> None:
    user_error(lambda: load_npz(), "--data-dir")
    user_error(lambda: load_npz(data_dir=str(tmp_path / "none.npz")), "does not exist")
    (tmp_path / "text.npz").write_text("hello")
    user_error(lambda: load_npz(data_dir=str(tmp_path / "text.npz")), "not a readable .npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    user_error(lambda: load_npz(data_dir=str(tmp_path / "single.npy")), "single array")
    x = np.zeros((30, 4), np.float32)
    user_error(lambda: load_npz(data_dir=save_npz(tmp_path / "a.npz", x=x)), "must hold arrays x and y")
    user_error(lambda: load_npz(data_dir=save_npz(tmp_path / "b.npz", x=x, y=np.arange(30) % 2 + 0.5)),
               "integer class labels")
    user_error(lambda: load_npz(data_dir=save_npz(tmp_path / "c.npz", x=x, y=np.arange(29) % 2)), "one label per input")
    user_error(lambda: load_npz(data_dir=save_npz(tmp_path / "d.npz", x=x, y=np.zeros(30, int))), "at least 2")
    objects = np.array([{"a": 1}] * 30, dtype=object)
    user_error(lambda: load_npz(data_dir=save_npz(tmp_path / "e.npz", x=objects, y=np.arange(30) % 2)),
               "cannot read its arrays")
    five_d = np.zeros((30, 2, 2, 2, 2))
    user_error(lambda: load_npz(data_dir=save_npz(tmp_path / "f.npz", x=five_d, y=np.arange(30) % 2)), "expected")
    user_error(lambda: load_npz(data_dir=save_npz(tmp_path / "g.npz", x=np.full((30, 4), np.nan), y=np.arange(30) % 2)),
               "NaN")
    user_error(lambda: load_npz(data_dir=save_npz(tmp_path / "h.npz", x=x, y=np.arange(30) % 2, x_test=np.zeros((5, 3)),
                                                  y_test=np.arange(5) % 2)), "x_test inputs")
    user_error(lambda: load_npz(data_dir=save_npz(tmp_path / "i.npz", x=x[:2], y=np.arange(2))), "too few")
