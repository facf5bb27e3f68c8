"""Convert Lake et al.'s Omniglot "background small" sets and one-shot runs into ``omniglot.npz``.

Run once by a developer from the repository root (``.venv/bin/python scripts/convert_omniglot.py``); it
needs only numpy and Pillow (Pillow comes with matplotlib) and reads, from ``../shared/data/omniglot-small``
(github.com/brendenlake/omniglot @ 057f034baf2ecb8530bc5710e5a23584d2a519cc, MIT):

- ``images_background_small1.zip``: 5 alphabets, 136 characters x 20 drawers;
- ``images_background_small2.zip``: 5 alphabets, 156 characters x 20 drawers. Two of its alphabets
  (Greek, Latin) are also in small1, with byte-identical images; they are stored once, under small1;
- ``all_runs.zip``: the 20 one-shot classification runs (20 training + 20 test images and
  ``class_labels.txt`` each; drawn from the evaluation alphabets, disjoint from the background set).

Every 105x105 1-bit image is converted to 8-bit grey, downsized to 28x28 with Pillow's antialiasing Lanczos
filter (the MAML preprocessing, cbfinn/maml ``data/omniglot_resized/resize_images.py``; ProtoNet used the
same 28x28 images) and inverted so that ink is 255 on a 0 background (MNIST's convention; MAML and ProtoNet
feed ``1 - pixel``, the same thing). The meta-validation characters (``VALID_FRACTION`` of small1's, whole
characters, ``np.random.default_rng(VALID_SEED)``) are chosen here and stored as split markers, so the
split never depends on the loader's numpy version. Writes ``src/archsearch/data/files/omniglot.npz`` and
copies the MIT licence to ``LICENSE-omniglot.txt``; ``SOURCE-omniglot.md`` is written by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]

# ---- defaults -----------------------------------------------------------------------------------------
SIZE = 28  # MAML / ProtoNet / Relation Network input size
VALID_FRACTION = 0.15  # of small1's 136 characters -> 20 meta-validation characters
VALID_SEED = 0
RUNS = 20
RUN_WAYS = 20
SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST = 0, 1, 2
PNG = re.compile(r"^images_background_small[12]/([^/]+)/(character\d+)/(\d+)_(\d+)\.png$")


def downsize(png: bytes) -> np.ndarray:
    """A 105x105 Omniglot PNG -> (28, 28) uint8, ink 255, antialiased."""
    with Image.open(io.BytesIO(png)) as image:
        grey = image.convert("L")
    small = grey.resize((SIZE, SIZE), resample=Image.Resampling.LANCZOS)
    return 255 - np.asarray(small, dtype=np.uint8)


def read_background(path: Path) -> dict[tuple[str, str], list[tuple[str, bytes]]]:
    """(alphabet, character) -> [(drawer file stem, png bytes)] in file order."""
    characters: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    with zipfile.ZipFile(path) as archive:
        for name in sorted(archive.namelist()):
            match = PNG.match(name)
            if match:
                alphabet, character, number, drawer = match.groups()
                characters.setdefault((alphabet, character), []).append((f"{number}_{drawer}", archive.read(name)))
    assert all(len(files) == 20 for files in characters.values()), "every character has 20 drawers"
    return characters


def merge(small1: dict, small2: dict) -> tuple[list[tuple[str, str]], dict, set[str]]:
    """All characters once (small1 first), their files, and the alphabets that are only in small2."""
    shared = {key for key in small2 if key in small1}
    for key in shared:
        assert small1[key] == small2[key], f"{key} differs between small1 and small2"
    alphabets1 = {alphabet for alphabet, _ in small1}
    only2 = {alphabet for alphabet, _ in small2} - alphabets1
    assert all(alphabet in alphabets1 for alphabet, _ in shared)
    keys = sorted(small1) + sorted(key for key in small2 if key[0] in only2)
    return keys, {**small2, **small1}, only2


def background(data: Path) -> dict[str, np.ndarray]:
    small1 = read_background(data / "images_background_small1.zip")
    small2 = read_background(data / "images_background_small2.zip")
    keys, files, only2 = merge(small1, small2)
    alphabets = sorted({alphabet for alphabet, _ in keys})
    images = np.stack([downsize(png) for key in keys for _, png in files[key]])  # (C*20, 28, 28)
    labels = np.repeat(np.arange(len(keys)), 20)
    split = np.array([SPLIT_TEST if alphabet in only2 else SPLIT_TRAIN for alphabet, _ in keys], dtype=np.int8)
    small1_ids = np.flatnonzero(split == SPLIT_TRAIN)
    rng = np.random.default_rng(VALID_SEED)
    split[rng.choice(small1_ids, size=round(VALID_FRACTION * len(small1_ids)), replace=False)] = SPLIT_VAL
    return {"images": images.astype(np.uint8), "labels": labels.astype(np.int16),
            "drawers": np.array([stem for key in keys for stem, _ in files[key]]),
            "class_names": np.array([f"{alphabet}/{character}" for alphabet, character in keys]),
            "class_alphabets": np.array([alphabets.index(alphabet) for alphabet, _ in keys], dtype=np.int8),
            "class_splits": split, "alphabet_names": np.array(alphabets)}


def one_shot_runs(path: Path) -> dict[str, np.ndarray]:
    """run_train / run_test (20, 20, 28, 28) uint8 and run_answers (20, 20): test item i's training class."""
    train = np.zeros((RUNS, RUN_WAYS, SIZE, SIZE), dtype=np.uint8)
    test = np.zeros_like(train)
    answers = np.full((RUNS, RUN_WAYS), -1, dtype=np.int8)
    with zipfile.ZipFile(path) as archive:
        for run in range(RUNS):
            folder = f"run{run + 1:02d}"
            for i in range(RUN_WAYS):
                train[run, i] = downsize(archive.read(f"{folder}/training/class{i + 1:02d}.png"))
                test[run, i] = downsize(archive.read(f"{folder}/test/item{i + 1:02d}.png"))
            for line in archive.read(f"{folder}/class_labels.txt").decode().split("\n"):
                if line.strip():
                    item, answer = line.split()
                    item_id = int(re.search(r"item(\d+)\.png$", item).group(1)) - 1
                    answers[run, item_id] = int(re.search(r"class(\d+)\.png$", answer).group(1)) - 1
    assert (answers >= 0).all() and all(sorted(row) == list(range(RUN_WAYS)) for row in answers)
    return {"run_train": train, "run_test": test, "run_answers": answers}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "omniglot-small")
    parser.add_argument("--out", type=Path, default=REPO / "src" / "archsearch" / "data" / "files")
    args = parser.parse_args(argv)

    arrays = {**background(args.data), **one_shot_runs(args.data / "all_runs.zip")}
    target = args.out / "omniglot.npz"
    np.savez_compressed(target, **arrays)
    with np.load(target, allow_pickle=False) as saved:
        assert all(np.array_equal(saved[k], v) and saved[k].dtype == v.dtype for k, v in arrays.items())
    (args.out / "LICENSE-omniglot.txt").write_text((args.data / "LICENSE").read_text())
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    print(f"wrote {target.name} ({target.stat().st_size:,} bytes, sha256 {digest[:16]})")
    for key, value in arrays.items():
        print(f"  {key}: {value.dtype} {value.shape}")
    splits = arrays["class_splits"]
    print("characters per split (train/val/test):", [int((splits == s).sum()) for s in range(3)])
    for name in ("images_background_small1.zip", "images_background_small2.zip", "all_runs.zip"):
        print(f"  {name}: sha256 {hashlib.sha256((args.data / name).read_bytes()).hexdigest()}")
    import PIL

    print(f"numpy {np.__version__}, Pillow {PIL.__version__}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
