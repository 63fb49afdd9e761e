"""MNIST and Fashion-MNIST, read from the standard IDX files (gzipped or not), like torchvision's.

    from minigrad.data.datasets import MNIST, FashionMNIST
    train = MNIST(train=True)                 # no files anywhere: the embedded 10k subset (see below)
    train = MNIST("data", download=True)      # the full 60,000 / 10,000 set, under data/MNIST/raw

Items are ``(image, label)``, ``label`` a Python int. Without a ``transform``, ``image`` is a float32 tensor
of shape ``(1, 28, 28)`` scaled to [0, 1] (what torchvision's ``ToTensor()`` gives). A ``transform``
receives what torchvision's would, the raw image, as a uint8 NumPy array ``(28, 28)`` in place of a PIL
image (``minigrad.vision.transforms`` take both), and ``target_transform`` the int label. ``DataLoader``
builds whole batches by one fancy-index (``get_batch``) instead of one call per sample: without
transforms, or with a ``transform`` that is ``batchable`` (``minigrad.vision.transforms``: its ``batch``
gets the uint8 stack ``(B, 28, 28)``). ``.data`` holds the raw uint8 images ``(N, 28, 28)`` and
``.targets`` the int64 labels, as in torchvision.

Where the files are looked for (the first folder holding the two files of the split wins):

* with ``root``: ``root/<ClassName>/raw`` (torchvision's layout, e.g. ``root/MNIST/raw``,
  ``root/FashionMNIST/raw``; where ``download=True`` writes), then ``root/<ClassName>``, then ``root``;
* without ``root``: the same under the data home (``$MINIGRAD_DATA``, else ``~/.cache/minigrad``),
  and, for Fashion-MNIST only, Debian's ``dataset-fashion-mnist`` package
  (``/usr/share/datasets/fashion-mnist``).

File names are ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``, each also as ``.gz`` and with ``.idx`` for ``-idx`` (``train-images.idx3-ubyte``).

When nothing is found and ``download=False``: ``MNIST()`` without ``root`` uses the embedded default,
10,000 real MNIST digits (8,000 train / 2,000 test, a fixed stratified split shipped in
``minigrad/data/embedded/mnist_10k.npz``), and says so once per process on stderr. ``FashionMNIST``
has no embedded default, and an explicit ``root`` with no files never falls back: both raise
``FileNotFoundError`` listing where they looked and how to get the data.

``download=True`` fetches the four ``.gz`` files into ``root/<ClassName>/raw`` from the class attribute
``mirrors`` (tried in order), checks their MD5 against ``resources`` and writes each atomically (a
temporary file in the same folder, checked, then ``os.replace``); files already there with the right
checksum, or a complete set found in the search folders, are not fetched again.
"""
import functools
import gzip
import hashlib
import os
import sys
import urllib.error
import urllib.request

import numpy as np

from . import Dataset
from ..device import backend as _backend
from ..files import atomic_write
from ..tensor import Tensor

__all__ = ["MNIST", "FashionMNIST", "IDXError", "DownloadError", "read_idx", "write_idx",
           "data_home", "embedded_mnist_path"]


class IDXError(ValueError):
    """A file that is not a valid IDX file (or not what the dataset expects)."""


class DownloadError(RuntimeError):
    """No mirror gave a file with the expected checksum."""


# ----- IDX files -----------------------------------------------------------------------------------
# IDX: two zero bytes, a type code, the number of dimensions; then each dimension as a big-endian
# uint32; then the values, row-major, big-endian.
_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
              np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


def _is_gzip(path):
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _read_bytes(path):
    path = os.fspath(path)
    if _is_gzip(path):
        try:
            with gzip.open(path, "rb") as f:
                return f.read()
        except (OSError, EOFError, gzip.BadGzipFile) as error:
            raise IDXError(f"IDX file {path}: corrupt gzip data ({error}); delete it and get it "
                           f"again") from None
    with open(path, "rb") as f:
        return f.read()


def read_idx(path):
    """The array stored in an IDX file (gzipped or not, told apart by content, not by name), in
    native byte order. A bad header or a wrong size raises ``IDXError`` naming the file."""
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IDXError(f"IDX file {path}: truncated: expected at least a 4-byte header, got "
                       f"{len(raw)} bytes")
    magic = int.from_bytes(raw[:4], "big")
    code, ndim = raw[2], raw[3]
    if raw[0] != 0 or raw[1] != 0 or code not in _IDX_TYPES:
        raise IDXError(f"IDX file {path}: bad magic number 0x{magic:08X} (expected two zero bytes, a "
                       f"type code among {', '.join(f'0x{c:02X}' for c in _IDX_TYPES)}, and the number "
                       f"of dimensions): not an IDX file, or a corrupted one")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"IDX file {path}: truncated: expected a {header}-byte header for {ndim} "
                       f"dimensions, got {len(raw)} bytes")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_TYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) < expected:
        raise IDXError(f"IDX file {path}: truncated: expected {expected} bytes for shape {shape} of "
                       f"{dtype.name}, got {len(raw)}")
    if len(raw) > expected:
        raise IDXError(f"IDX file {path}: {len(raw) - expected} unexpected trailing bytes: expected "
                       f"{expected} bytes for shape {shape} of {dtype.name}, got {len(raw)}")
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path, array):
    """Write an array (uint8, int8, int16, int32, float32 or float64) as an IDX file, gzipped when
    ``path`` ends in ``.gz``; written atomically."""
    path = os.fspath(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _IDX_CODES:
        raise TypeError(f"write_idx: IDX cannot store {array.dtype}; use one of "
                        f"{', '.join(d.name for d in _IDX_CODES)}")
    if array.ndim > 255:
        raise ValueError("write_idx: at most 255 dimensions")
    header = bytes([0, 0, _IDX_CODES[native], array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    body = np.ascontiguousarray(array, dtype=native.newbyteorder(">")).tobytes()
    data = header + body
    if path.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with atomic_write(path) as file:
        file.write(data)


# ----- where the data lives ------------------------------------------------------------------------
def data_home():
    """Where datasets go when no root is given: ``$MINIGRAD_DATA``, else ``~/.cache/minigrad``."""
    return os.path.expanduser(os.environ.get("MINIGRAD_DATA") or os.path.join("~", ".cache", "minigrad"))


def embedded_mnist_path():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "embedded", "mnist_10k.npz")


@functools.lru_cache(maxsize=1)
def _embedded_mnist():
    path = embedded_mnist_path()
    if not os.path.exists(path):
        raise FileNotFoundError(f"the embedded MNIST subset {path} is missing from this installation; "
                                f"reinstall minigrad or use MNIST(root, download=True)")
    with np.load(path) as f:
        arrays = {key: f[key] for key in ("images", "labels", "train_indices", "test_indices")}
    for value in arrays.values():
        value.setflags(write=False)
    return arrays


_notice_shown = False


def _embedded_notice():
    global _notice_shown
    # one notice per job, not per rank: looked up, not imported (distributed sits beside data)
    distributed = sys.modules.get("minigrad.distributed")
    if distributed is not None and distributed.is_initialized() and distributed.get_rank() != 0:
        _notice_shown = True
    if not _notice_shown:
        _notice_shown = True
        print("minigrad: MNIST() found no MNIST files, so it uses the embedded 10,000-digit subset "
              "(8,000 train / 2,000 test); for the full 60,000/10,000 set use "
              "MNIST(root, download=True)", file=sys.stderr)


# ----- the datasets --------------------------------------------------------------------------------
class MNIST(Dataset):
    """MNIST digits: ``MNIST(root=None, train=True, download=False, transform=None,
    target_transform=None)``; see the module documentation for the search paths, the embedded default
    and downloading."""

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    resources = [("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                 ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                 ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                 ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]
    extra_dirs = []          # folders searched after the data home when no root is given
    has_embedded = True      # MNIST() without files falls back to the embedded subset
    timeout = 60             # seconds per network request when downloading

    def __init__(self, root=None, train=True, download=False, transform=None, target_transform=None):
        self.root = None if root is None else os.path.expanduser(os.fspath(root))
        self.train, self.transform, self.target_transform = bool(train), transform, target_transform
        if download:
            self.download()
        stems = self._stems(self.train)
        found = self._find(stems)
        if found is not None:
            images_path, labels_path = found
            images, labels = read_idx(images_path), read_idx(labels_path)
            self._check(images, labels, images_path, labels_path)
            self.source = os.path.dirname(images_path)
        elif self.root is None and self.has_embedded:
            arrays = _embedded_mnist()
            which = arrays["train_indices" if self.train else "test_indices"]
            images, labels = arrays["images"][which], arrays["labels"][which]
            self.source = "<embedded 10k subset>"
            _embedded_notice()
        else:
            raise FileNotFoundError(self._not_found_message(stems))
        self._images = np.ascontiguousarray(images, dtype=np.uint8)
        self._labels = np.asarray(labels, dtype=np.int64)
        cpu = _backend("cpu")
        self.data = Tensor._make(self._images, cpu)
        self.targets = Tensor._make(self._labels, cpu)

    # --- items -----------------------------------------------------------------------------------
    def __len__(self):
        return len(self._labels)

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index.item()
        image = self._images[index]  # IndexError for an out-of-range index, as NumPy says it
        label = int(self._labels[index])
        if self.transform is not None:
            image = self.transform(image.copy())  # the transform may write into what it is given
        else:
            image = Tensor._make((image.astype(np.float32) / np.float32(255))[None], _backend("cpu"))
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def get_batch(self, indices):
        """The batch ``[images, labels (B,) int64]`` by one fancy-index (DataLoader's fast path):
        images ``(B, 1, 28, 28)`` float32, or what a batchable transform makes of the uint8 stack;
        ``None`` when a transform or target_transform must run per sample."""
        if self.target_transform is not None or (
                self.transform is not None and not getattr(self.transform, "batchable", False)):
            return None
        cpu = _backend("cpu")
        labels = Tensor._make(self._labels[indices], cpu)
        if self.transform is not None:
            images = self.transform.batch(self._images[indices])
            return [images if isinstance(images, Tensor) else Tensor._make(np.asarray(images), cpu),
                    labels]
        images = self._images[indices].astype(np.float32)
        images /= np.float32(255)
        return [Tensor._make(images[:, None], cpu), labels]

    @property
    def class_to_idx(self):
        return {name: i for i, name in enumerate(self.classes)}

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.source}", f"    Split: {'Train' if self.train else 'Test'}"]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"    Target transform: {self.target_transform!r}")
        return "\n".join(lines)

    # --- files -----------------------------------------------------------------------------------
    @staticmethod
    def _stems(train):
        prefix = "train" if train else "t10k"
        return (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")

    @property
    def raw_folder(self):
        """Where download() writes: ``root/<ClassName>/raw`` (root defaults to the data home)."""
        return os.path.join(data_home() if self.root is None else self.root, type(self).__name__, "raw")

    def search_dirs(self):
        """The folders looked in, in order."""
        return self.search_dirs_under(self.root)

    @classmethod
    def search_dirs_under(cls, root):
        """The folders a dataset made with `root` (None: the defaults) looks in, in order."""
        name = cls.__name__
        if root is not None:
            root = os.path.expanduser(os.fspath(root))
            return [os.path.join(root, name, "raw"), os.path.join(root, name), root]
        home = data_home()
        return [os.path.join(home, name, "raw"), os.path.join(home, name)] + list(cls.extra_dirs)

    @staticmethod
    def _candidates(folder, stem):
        dotted = stem.replace("-idx", ".idx")
        return [os.path.join(folder, n) for n in (stem, stem + ".gz", dotted, dotted + ".gz")]

    def _find(self, stems):
        """The (images, labels) paths in the first folder that holds both, or None."""
        for folder in self.search_dirs():
            paths = []
            for stem in stems:
                hit = next((p for p in self._candidates(folder, stem) if os.path.isfile(p)), None)
                paths.append(hit)
            if all(paths):
                return tuple(paths)
        return None

    def _not_found_message(self, stems):
        name = type(self).__name__
        looked = "\n".join(f"  {d}" for d in self.search_dirs())
        how = (f"use {name}(root, download=True) to download them into root/{name}/raw"
               + (", or put the files there yourself" if self.root is None else ""))
        if self.root is not None and self.has_embedded:
            how += f"; {name}() without root uses the embedded 10,000-digit subset"
        hint = getattr(self, "install_hint", "") if self.root is None else ""
        return (f"{name}: no {stems[0]}[.gz] and {stems[1]}[.gz] found; looked in:\n{looked}\n"
                f"{how}{hint}")

    @staticmethod
    def _check(images, labels, images_path, labels_path):
        if images.ndim != 3 or images.dtype != np.uint8:
            raise IDXError(f"IDX file {images_path}: expected uint8 images of shape (N, rows, cols), "
                           f"got {images.dtype} of shape {images.shape}")
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise IDXError(f"IDX file {labels_path}: expected uint8 labels of shape (N,), got "
                           f"{labels.dtype} of shape {labels.shape}")
        if len(images) != len(labels):
            raise IDXError(f"image/label count mismatch: {images_path} holds {len(images)} images but "
                           f"{labels_path} holds {len(labels)} labels")

    # --- downloading -----------------------------------------------------------------------------
    def _complete_set_present(self):
        return (self._find(self._stems(True)) is not None
                and self._find(self._stems(False)) is not None)

    def download(self):
        """Fetch the missing ``.gz`` files into ``raw_folder`` (MD5-checked, atomic)."""
        if self._complete_set_present():
            return
        folder = self.raw_folder
        os.makedirs(folder, exist_ok=True)
        for filename, md5 in self.resources:
            path = os.path.join(folder, filename)
            if os.path.isfile(path) and _md5(path) == md5:
                continue
            self._fetch(filename, md5, path)

    def _fetch(self, filename, md5, path):
        failures = []
        for mirror in self.mirrors:
            url = mirror.rstrip("/") + "/" + filename
            print(f"minigrad: downloading {url} to {path}", file=sys.stderr)
            try:
                digest = hashlib.md5()
                with atomic_write(path) as out, \
                        urllib.request.urlopen(url, timeout=self.timeout) as response:
                    while True:
                        block = response.read(1 << 20)
                        if not block:
                            break
                        digest.update(block)
                        out.write(block)
                    if digest.hexdigest() != md5:  # raised inside: the old file stays
                        raise ValueError(f"checksum mismatch (MD5 expected {md5}, got "
                                         f"{digest.hexdigest()})")
                return
            except (urllib.error.URLError, OSError, ValueError) as error:
                failures.append(f"{url}: {error}")
        raise DownloadError(f"{type(self).__name__}: could not download {filename}:\n  "
                            + "\n  ".join(failures))


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando's clothing images, MNIST's format and sizes). Same arguments as
    ``MNIST``; without ``root`` it also finds Debian's ``dataset-fashion-mnist`` package in
    ``/usr/share/datasets/fashion-mnist``. There is no embedded default."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                 ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                 ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310")]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
               "Bag", "Ankle boot"]
    extra_dirs = ["/usr/share/datasets/fashion-mnist"]
    has_embedded = False
    install_hint = "; on Debian/Ubuntu: apt-get install dataset-fashion-mnist"


def _md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
