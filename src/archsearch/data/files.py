"""Datasets read from a user's files: a folder of images (one sub-folder per class) and an ``.npz`` file.

Both are split stratified with ``SPLIT_SEED`` (80 / 10 / 10; with ``x_test`` in the .npz, 90 / 10 of
``x`` plus that test set). Images are decoded with Pillow (imported only here), arrays with
``np.load(allow_pickle=False)``; every problem with the files ends in one ``UserError`` line.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from archsearch.core.errors import UserError
from archsearch.data.base import Dataset, build_dataset, cached_by_files, held_out_size

VALID_FRACTION = 0.1
TEST_FRACTION = 0.1
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm",
                            ".pbm"})
GRAY_MODES = frozenset({"1", "L", "LA"})


# ---- image folder -------------------------------------------------------------------------------------

def load_image_folder(*, data_dir: str | None = None, image_size: int | None = None) -> Dataset:
    """Images under ``data_dir/<class>/``; class ids follow the sorted folder names.

    RGB (or grayscale when every image is), resized to ``image_size`` x ``image_size`` when given;
    otherwise all images must share one size. Files without an image suffix and hidden files are skipped.
    """
    if data_dir is None:
        raise UserError("dataset 'image-folder' needs --data-dir DIR with one sub-folder of images per class")
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int)
                                   or image_size < 1):
        raise UserError(f"image_size must be a positive integer, got {image_size!r}")
    files, labels = _image_files(Path(data_dir).expanduser())
    return cached_by_files(("image-folder", image_size), files, lambda: _build_image_folder(files, labels, image_size))


def _image_files(root: Path) -> tuple[list[Path], np.ndarray]:
    if not root.is_dir():
        raise UserError(f"image folder {root} does not exist or is not a folder")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise UserError(f"image folder {root} needs one sub-folder per class (at least 2), found {len(classes)}")
    files: list[Path] = []
    labels: list[int] = []
    for label, folder in enumerate(classes):
        images = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                        and p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise UserError(f"class folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        files += images
        labels += [label] * len(images)
    return files, np.asarray(labels, dtype=np.int64)


def _build_image_folder(files: list[Path], labels: np.ndarray, image_size: int | None) -> Dataset:
    headers = [_image_header(path) for path in files]  # (mode, (width, height))
    mode = "L" if all(m in GRAY_MODES for m, _ in headers) else "RGB"
    if image_size is None:
        odd = next((i for i, (_, size) in enumerate(headers) if size != headers[0][1]), None)
        if odd is not None:
            raise UserError(f"images differ in size ({_wxh(headers[0][1])} {files[0]}, {_wxh(headers[odd][1])} "
                            f"{files[odd]}); pass image_size to resize them")
        width, height = headers[0][1]
    else:
        width = height = image_size
    channels = 1 if mode == "L" else 3
    x = np.empty((len(files), height, width, channels), dtype=np.uint8)
    for i, path in enumerate(files):
        x[i] = _read_image(path, mode, (width, height)).reshape(height, width, channels)
    x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    count = len(labels)
    return build_dataset("image-folder", x, labels, valid=held_out_size(count, VALID_FRACTION),
                         test=held_out_size(count, TEST_FRACTION), num_classes=int(labels.max()) + 1,
                         scale=255.0, augment="crop-flip", crop_padding=max(1, min(height, width) // 8))


def _wxh(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _image_header(path: Path) -> tuple[str, tuple[int, int]]:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.mode, image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise UserError(f"cannot read image {path}: {_one_line(error)}") from None


def _read_image(path: Path, mode: str, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image = image.convert(mode)
            if image.size != size:
                image = image.resize(size, getattr(Image, "Resampling", Image).BILINEAR)
            return np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise UserError(f"cannot read image {path}: {_one_line(error)}") from None


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# ---- .npz ---------------------------------------------------------------------------------------------

def load_npz(*, data_dir: str | None = None) -> Dataset:
    """Arrays ``x`` (N, ...) and ``y`` (N,) of the .npz file ``data_dir``; optional ``x_test``, ``y_test``.

    x (N, L) -> (N, 1, 1, L); (N, H, W) -> (N, 1, H, W); (N, C, H, W) as is; (N, H, W, C) with C in (1, 3)
    (and the second axis not) -> transposed. uint8 stays uint8 (scale 255), other numbers become float32
    (scale 1). Integer labels are renumbered 0..K-1 in sorted order.
    """
    if data_dir is None:
        raise UserError("dataset 'npz' needs --data-dir FILE.npz with arrays x and y (optionally x_test, y_test)")
    path = Path(data_dir).expanduser()
    if not path.is_file():
        raise UserError(f"npz file {path} does not exist or is not a file")
    return cached_by_files("npz", [path], lambda: _build_npz(path))


def _build_npz(path: Path) -> Dataset:
    arrays = _read_npz(path)
    x, y = _inputs(arrays["x"], path, "x"), arrays["y"]
    x_test = _inputs(arrays["x_test"], path, "x_test") if "x_test" in arrays else None
    y_test = arrays.get("y_test")
    if x_test is not None and x_test.shape[1:] != x.shape[1:]:
        raise UserError(f"{path}: x_test inputs are {x_test.shape[1:]}, x inputs are {x.shape[1:]}")
    if x_test is not None and x_test.dtype != x.dtype:
        x_test = x_test.astype(np.float32)
        x = x.astype(np.float32)
    classes, y, y_test = _labels(path, y, len(x), y_test, None if x_test is None else len(x_test))
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    count = len(y)
    return build_dataset("npz", x, y, valid=held_out_size(count, VALID_FRACTION),
                         test=None if x_test is not None else held_out_size(count, TEST_FRACTION),
                         x_test=x_test, y_test=y_test, num_classes=len(classes), scale=scale,
                         augment="none", crop_padding=0)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise UserError(f"{path} is not a readable .npz file ({_one_line(error)})") from None
    if not hasattr(loaded, "files"):
        raise UserError(f"{path} holds a single array; expected an .npz archive with arrays x and y")
    with loaded:
        missing = [key for key in ("x", "y") if key not in loaded.files]
        if missing or (("x_test" in loaded.files) != ("y_test" in loaded.files)):
            raise UserError(f"{path} must hold arrays x and y (and x_test with y_test, or neither); "
                            f"it holds: {', '.join(loaded.files) or 'nothing'}")
        keys = [key for key in ("x", "y", "x_test", "y_test") if key in loaded.files]
        try:
            return {key: loaded[key] for key in keys}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise UserError(f"{path}: cannot read its arrays ({_one_line(error)})") from None


def _inputs(x: np.ndarray, path: Path, name: str) -> np.ndarray:
    """x as (N, C, H, W): uint8 kept, other numbers as finite float32."""
    if x.dtype.kind not in "biuf":
        raise UserError(f"{path}: {name} must hold numbers, not {x.dtype}")
    if x.ndim == 2:
        x = x[:, None, None, :]
    elif x.ndim == 3:
        x = x[:, None, :, :]
    elif x.ndim == 4 and x.shape[3] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    elif x.ndim != 4:
        raise UserError(f"{path}: {name} has shape {x.shape}; expected (N, L), (N, H, W), (N, C, H, W) or (N, H, W, C)")
    if x.dtype != np.uint8:
        x = x.astype(np.float32)
        if not np.isfinite(x).all():
            raise UserError(f"{path}: {name} holds NaN or infinite values")
    return np.ascontiguousarray(x)


def _labels(path: Path, y: np.ndarray, count: int, y_test: np.ndarray | None,
            test_count: int | None) -> tuple[np.ndarray, np.ndarray, Any]:
    """(classes, y, y_test) with labels renumbered 0..K-1 over the sorted union of both."""
    parts = [("y", y, count)] + ([("y_test", y_test, test_count)] if y_test is not None else [])
    for name, labels, expected in parts:
        if labels.shape != (expected,):
            raise UserError(f"{path}: {name} has shape {labels.shape}; expected ({expected},), one label per input")
        whole = labels.dtype.kind in "biu" or (labels.dtype.kind == "f" and np.isfinite(labels).all()
                                                and (labels == np.round(labels)).all())
        if not whole:
            raise UserError(f"{path}: {name} must hold integer class labels, not {labels.dtype} values")
    classes = np.unique(np.concatenate([labels.astype(np.int64) for _, labels, _ in parts]))
    if len(classes) < 2:
        raise UserError(f"{path}: the labels name {len(classes)} class; a classifier needs at least 2")
    renumber = [np.searchsorted(classes, labels.astype(np.int64)).astype(np.int64) for _, labels, _ in parts]
    return classes, renumber[0], renumber[1] if y_test is not None else None
