"""minigrad.data: Dataset / TensorDataset / DataLoader / random_split / default_collate, IDX files, and
the MNIST-style datasets (embedded default, local files, download against a local HTTP server)."""
import collections
import gzip
import hashlib
import http.server
import os
import struct
import threading

import numpy as np
import pytest

import minigrad as mg
import minigrad.data as D
import minigrad.data.datasets as DS
from minigrad.data import DataLoader, TensorDataset, default_collate, random_split

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(autouse=True)
def _hermetic_data_home(tmp_path_factory, monkeypatch):
    """No test looks at the user's ~/.cache/minigrad: the data home is an empty folder."""
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path_factory.mktemp("data_home")))


class IndexDataset(D.Dataset):
    """A plain map-style dataset (no fast path): item i is (i, 2.5 * i)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i, 2.5 * i


def _loaders(n, batch_size, shuffle, drop_last):
    """The same indices through the fast path (TensorDataset) and the per-sample path."""
    fast = TensorDataset(mg.arange(n), mg.arange(n).float() * 2.5)
    return [DataLoader(fast, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last),
            DataLoader(IndexDataset(n), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)]


def _epoch(loader):
    batches = [b[0].tolist() for b in loader]
    return batches


# ----- DataLoader ----------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 7, 10, 64])
@pytest.mark.parametrize("batch_size", [1, 3, 5, 10, 64, 100])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_covers_every_sample_once(n, batch_size, shuffle, drop_last):
    for loader in _loaders(n, batch_size, shuffle, drop_last):
        batches = _epoch(loader)
        assert len(batches) == len(loader)
        seen = [i for b in batches for i in b]
        assert len(seen) == len(set(seen))
        if drop_last:
            assert len(batches) == n // batch_size
            assert all(len(b) == batch_size for b in batches)
            assert len(seen) == n - n % batch_size
        else:
            assert len(batches) == -(-n // batch_size)
            assert sorted(seen) == list(range(n))
            assert all(len(b) == batch_size for b in batches[:-1])
        if not shuffle:
            assert seen == list(range(len(seen)))


def test_loader_batch_contents_and_dtypes():
    for loader in _loaders(10, 4, False, False):
        x, y = next(iter(loader))
        assert isinstance(x, mg.Tensor) and isinstance(y, mg.Tensor)
        assert x.dtype == mg.int64 and y.dtype == mg.float32
        assert x.tolist() == [0, 1, 2, 3]
        np.testing.assert_allclose(y.numpy(), [0, 2.5, 5, 7.5])


def test_shuffle_reproducible_with_manual_seed_and_new_each_epoch():
    for make in (lambda: _loaders(50, 8, True, False)[0], lambda: _loaders(50, 8, True, False)[1]):
        mg.manual_seed(123)
        loader = make()
        first, second = _epoch(loader), _epoch(loader)
        assert first != second  # a new order each epoch
        mg.manual_seed(123)
        loader = make()
        assert _epoch(loader) == first and _epoch(loader) == second
        assert [i for b in first for i in b] != list(range(50))
    # the fast path and the per-sample path draw the same order from the same seed
    mg.manual_seed(7)
    fast = _epoch(_loaders(50, 8, True, False)[0])
    mg.manual_seed(7)
    slow = _epoch(_loaders(50, 8, True, False)[1])
    assert fast == slow


def test_loader_fast_path_builds_batches_without_per_sample_calls():
    class NoItems(TensorDataset):
        def __getitem__(self, index):
            raise AssertionError("per-sample __getitem__ called on the fast path")

    data = NoItems(mg.arange(20), mg.arange(20) * 3)
    batches = list(DataLoader(data, batch_size=6, shuffle=True))
    assert sorted(i for b in batches for i in b[0].tolist()) == list(range(20))
    for x, y in batches:
        assert (y.numpy() == 3 * x.numpy()).all()
    # a Subset (random_split) of a fast dataset is fast too
    part, _ = random_split(data, [15, 5])
    assert sum(len(b[0]) for b in DataLoader(part, batch_size=4)) == 15
    # a custom collate_fn gets the samples, so it goes through __getitem__
    with pytest.raises(AssertionError, match="per-sample"):
        next(iter(DataLoader(data, batch_size=4, collate_fn=lambda b: b)))


def test_loader_arguments():
    data = IndexDataset(10)
    assert [x for x in DataLoader(data, batch_size=None)][3] == [3, 7.5]
    loader = DataLoader(data, batch_sampler=[[0, 1], [5, 6, 7]])
    assert [b[0].tolist() for b in loader] == [[0, 1], [5, 6, 7]] and len(loader) == 2
    loader = DataLoader(data, sampler=[9, 8, 7, 6], batch_size=3)
    assert [b[0].tolist() for b in loader] == [[9, 8, 7], [6]]
    loader = DataLoader(data, batch_size=4, num_workers=2, pin_memory=True)  # accepted, in-process
    assert len(list(loader)) == 3
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(data, batch_size=0)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(data, sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(data, batch_sampler=[[0]], batch_size=4)


def test_iterable_dataset():
    class Stream(D.IterableDataset):
        def __iter__(self):
            return iter(range(7))

    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(list(DataLoader(Stream(), batch_size=3, drop_last=True))) == 2
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(), shuffle=True)


# ----- collate -------------------------------------------------------------------------------------
def test_collate_numbers_arrays_tensors():
    ints = default_collate([1, 2, 3])
    assert ints.dtype == mg.int64 and ints.tolist() == [1, 2, 3]
    floats = default_collate([1.5, 2.0])
    assert floats.dtype == mg.float32 and floats.tolist() == [1.5, 2.0]
    assert default_collate([True, False]).dtype == mg.bool
    arrays = default_collate([np.zeros((2, 3), np.float64), np.ones((2, 3), np.float64)])
    assert arrays.shape == (2, 2, 3) and arrays.dtype == mg.float64  # arrays keep their dtype
    assert default_collate([np.int32(4), np.int32(5)]).dtype == mg.int32
    tensors = default_collate([mg.ones(3), mg.zeros(3)])
    assert tensors.shape == (2, 3) and tensors.tolist() == [[1, 1, 1], [0, 0, 0]]
    assert default_collate(["a", "b"]) == ["a", "b"]


def test_collate_tuples_dicts_nested():
    batch = default_collate([(mg.ones(2), 1, {"w": 0.5}), (mg.zeros(2), 2, {"w": 1.5})])
    assert isinstance(batch, list) and len(batch) == 3  # tuples collate to a list, as in PyTorch
    assert batch[0].shape == (2, 2) and batch[1].tolist() == [1, 2]
    assert batch[2]["w"].dtype == mg.float32 and batch[2]["w"].tolist() == [0.5, 1.5]
    dicts = default_collate([{"x": np.arange(3), "y": 0}, {"x": np.arange(3) + 1, "y": 1}])
    assert set(dicts) == {"x", "y"} and dicts["x"].shape == (2, 3) and dicts["y"].tolist() == [0, 1]
    Point = collections.namedtuple("Point", "x y")
    point = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(point, Point) and point.x.tolist() == [1, 3]
    lists = default_collate([[1, 2], [3, 4]])
    assert [t.tolist() for t in lists] == [[1, 3], [2, 4]]


def test_collate_errors():
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(4,\)"):
        default_collate([mg.ones(3), mg.ones(4)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([(1, 2), (1, 2, 3)])
    with pytest.raises(TypeError, match="NoneType"):
        default_collate([None, None])


def test_collate_through_loader_with_dict_samples():
    class Dicts(D.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"image": np.full((1, 2, 2), i, np.float32), "label": i}

    batches = list(DataLoader(Dicts(), batch_size=2))
    assert [b["label"].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[0]["image"].shape == (2, 1, 2, 2)


# ----- datasets and splits -------------------------------------------------------------------------
def test_tensor_dataset():
    x, y = mg.randn(6, 3), mg.arange(6)
    data = TensorDataset(x, y)
    assert len(data) == 6
    xi, yi = data[2]
    np.testing.assert_array_equal(xi.numpy(), x.numpy()[2])
    assert yi.item() == 2
    with pytest.raises(ValueError, match=r"6, 5"):
        TensorDataset(x, mg.arange(5))


def test_random_split_lengths_disjoint_reproducible():
    data = IndexDataset(10)
    mg.manual_seed(0)
    parts = random_split(data, [3, 3, 4])
    assert [len(p) for p in parts] == [3, 3, 4]
    everything = [p[i][0] for p in parts for i in range(len(p))]
    assert sorted(everything) == list(range(10))
    mg.manual_seed(0)
    assert [p.indices for p in random_split(data, [3, 3, 4])] == [p.indices for p in parts]
    assert [p.indices for p in random_split(data, [3, 3, 4])] != [p.indices for p in parts]
    with pytest.raises(ValueError, match="sum"):
        random_split(data, [3, 3])


@pytest.mark.parametrize("n,fractions,expected", [
    (10, [0.3, 0.3, 0.4], [3, 3, 4]), (11, [0.5, 0.5], [6, 5]), (7, [0.1, 0.2, 0.7], [1, 2, 4]),
    (100, [0.8, 0.2], [80, 20]), (5, [1 / 3, 1 / 3, 1 / 3], [2, 2, 1])])
def test_random_split_fractions(n, fractions, expected):
    parts = random_split(IndexDataset(n), fractions)
    assert [len(p) for p in parts] == expected
    assert sorted(i for p in parts for i in p.indices) == list(range(n))
    try:
        import torch
    except ImportError:
        return
    assert [len(p) for p in torch.utils.data.random_split(range(n), fractions)] == expected


def test_utils_data_alias():
    import minigrad.utils.data as U
    from minigrad.utils.data import DataLoader as Loader
    assert Loader is DataLoader and U.TensorDataset is TensorDataset and U.datasets is DS


# ----- IDX files -----------------------------------------------------------------------------------
def _idx_bytes(array, code):
    array = np.asarray(array)
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    path = tmp_path / f"images-idx3-ubyte{suffix}"
    raw = _idx_bytes(images, 0x08)  # written by hand: independent of write_idx
    path.write_bytes(gzip.compress(raw) if suffix else raw)
    np.testing.assert_array_equal(DS.read_idx(path), images)
    for dtype in (np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64):
        array = (rng.standard_normal((3, 4, 2)) * 100).astype(dtype)
        out = tmp_path / f"a-{np.dtype(dtype).name}{suffix}"
        DS.write_idx(out, array)
        back = DS.read_idx(out)
        assert back.dtype == np.dtype(dtype) and back.shape == (3, 4, 2)
        np.testing.assert_array_equal(back, array)
    assert (gzip.decompress(path.read_bytes()) if suffix else path.read_bytes())[:4] == b"\0\0\x08\x03"


def test_idx_bad_magic_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x12\x34\x08\x03" + bytes(100))
    with pytest.raises(DS.IDXError, match=r"train-images-idx3-ubyte.*bad magic"):
        DS.read_idx(path)
    path.write_bytes(b"\x00\x00\x07\x01" + bytes(8))  # unknown type code
    with pytest.raises(DS.IDXError, match="bad magic"):
        DS.read_idx(path)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_truncated_names_the_file_and_sizes(tmp_path, suffix):
    raw = _idx_bytes(np.zeros((4, 28, 28), np.uint8), 0x08)  # 16 + 3136 bytes
    path = tmp_path / f"t10k-images-idx3-ubyte{suffix}"
    cut = raw[:-100]
    path.write_bytes(gzip.compress(cut) if suffix else cut)
    with pytest.raises(DS.IDXError, match=rf"t10k-images-idx3-ubyte{suffix}.*truncated: expected 3152 "
                                          rf"bytes .* got 3052"):
        DS.read_idx(path)
    path.write_bytes(raw[:10] if not suffix else gzip.compress(raw[:10]))
    with pytest.raises(DS.IDXError, match="truncated"):
        DS.read_idx(path)
    if suffix:  # a gzip stream cut short
        path.write_bytes(gzip.compress(raw)[:-30])
        with pytest.raises(DS.IDXError, match=r"t10k-images-idx3-ubyte\.gz.*corrupt gzip"):
            DS.read_idx(path)


# ----- MNIST-style datasets from files -------------------------------------------------------------
def _fake_split(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


def _write_mnist(folder, n_train=12, n_test=5, gz=True, dotted=False):
    os.makedirs(folder, exist_ok=True)
    arrays = {}
    for prefix, n, seed in (("train", n_train, 1), ("t10k", n_test, 2)):
        images, labels = _fake_split(n, seed)
        arrays[prefix] = (images, labels)
        for kind, array, code in (("images-idx3", images, 0x08), ("labels-idx1", labels, 0x08)):
            name = f"{prefix}-{kind}-ubyte".replace("-idx", ".idx" if dotted else "-idx")
            raw = _idx_bytes(array, code)
            with open(os.path.join(folder, name + (".gz" if gz else "")), "wb") as f:
                f.write(gzip.compress(raw) if gz else raw)
    return arrays


@pytest.mark.parametrize("layout,gz,dotted", [("MNIST/raw", True, False), ("", False, False),
                                              ("MNIST", True, True)])
def test_mnist_from_files(tmp_path, layout, gz, dotted):
    arrays = _write_mnist(tmp_path / layout if layout else tmp_path, gz=gz, dotted=dotted)
    train, test = DS.MNIST(tmp_path), DS.MNIST(str(tmp_path), train=False)
    assert len(train) == 12 and len(test) == 5
    image, label = train[3]
    assert image.shape == (1, 28, 28) and image.dtype == mg.float32 and isinstance(label, int)
    np.testing.assert_array_equal(image.numpy()[0], arrays["train"][0][3].astype(np.float32) / 255)
    assert label == arrays["train"][1][3]
    x, y = next(iter(DataLoader(test, batch_size=5)))
    assert x.shape == (5, 1, 28, 28) and y.dtype == mg.int64
    np.testing.assert_array_equal(x.numpy()[:, 0], arrays["t10k"][0].astype(np.float32) / 255)
    assert y.tolist() == arrays["t10k"][1].tolist()


def test_mnist_transforms_take_the_raw_uint8_image_as_torchvision(tmp_path):
    _write_mnist(tmp_path)
    seen = []

    def to_float(image):  # torchvision hands a PIL image; minigrad its uint8 array
        seen.append((type(image), image.dtype, image.shape))
        return mg.tensor(image[None].astype(np.float32) * 2 / 255)

    data = DS.MNIST(tmp_path, transform=to_float, target_transform=lambda y: y + 100)
    plain = DS.MNIST(tmp_path)
    (x, y), (px, py) = data[0], plain[0]
    assert seen == [(np.ndarray, np.uint8, (28, 28))]
    np.testing.assert_allclose(x.numpy(), 2 * px.numpy(), rtol=1e-6)
    assert y == py + 100
    xb, yb = next(iter(DataLoader(data, batch_size=4)))  # per-sample path, same batch layout
    assert xb.shape == (4, 1, 28, 28) and yb.min().item() >= 100


def test_mnist_batches_through_a_batchable_transform(tmp_path):
    _write_mnist(tmp_path)

    class Halve:  # the protocol of minigrad.vision.transforms
        batchable = True

        def __call__(self, image):
            return mg.tensor(image[None] / np.float32(510))

        def batch(self, images):
            assert images.dtype == np.uint8 and images.shape == (5, 28, 28)
            return mg.tensor(images[:, None] / np.float32(510))

    data = DS.MNIST(tmp_path, transform=Halve())
    xb, yb = next(iter(DataLoader(data, batch_size=5)))
    per_sample = mg.stack([data[i][0] for i in range(5)])
    np.testing.assert_array_equal(xb.numpy(), per_sample.numpy())
    assert yb.tolist() == [data[i][1] for i in range(5)]


def test_mnist_count_mismatch_and_missing_files(tmp_path):
    folder = tmp_path / "MNIST" / "raw"
    _write_mnist(folder, gz=False)
    (folder / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(11, np.uint8), 0x08))
    with pytest.raises(DS.IDXError, match=r"mismatch.*train-images-idx3-ubyte.*12.*"
                                          r"train-labels-idx1-ubyte.*11"):
        DS.MNIST(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"(?s)looked in.*empty.*download=True"):
        DS.MNIST(empty)  # an explicit root never falls back to the embedded subset


def test_fashion_mnist_without_data_says_where_it_looked(monkeypatch):
    monkeypatch.setattr(DS.FashionMNIST, "extra_dirs", ["/nonexistent/fashion-mnist"])
    with pytest.raises(FileNotFoundError, match=r"(?s)FashionMNIST.*/nonexistent/fashion-mnist.*"
                                                r"download=True.*dataset-fashion-mnist"):
        DS.FashionMNIST()


# ----- the embedded default ------------------------------------------------------------------------
def test_mnist_embedded_default(monkeypatch, capsys):
    monkeypatch.setattr(DS, "_notice_shown", False)
    train = DS.MNIST()
    notice = capsys.readouterr().err.strip().splitlines()
    assert len(notice) == 1 and "embedded" in notice[0] and "MNIST(root, download=True)" in notice[0]
    test = DS.MNIST(train=False)
    assert capsys.readouterr().err == ""  # once per process
    assert len(train) == 8000 and len(test) == 2000
    image, label = train[0]
    assert image.shape == (1, 28, 28) and image.dtype == mg.float32 and isinstance(label, int)
    for data in (train, test):
        assert data.data.shape == (len(data), 28, 28) and data.data.dtype == mg.uint8
        assert sorted(set(data.targets.tolist())) == list(range(10))
    mg.manual_seed(0)
    x, y = next(iter(DataLoader(train, batch_size=256, shuffle=True)))
    assert x.shape == (256, 1, 28, 28) and x.dtype == mg.float32 and y.dtype == mg.int64
    values = x.numpy()
    assert values.min() == 0.0 and values.max() == 1.0 and 0.05 < values.mean() < 0.25
    assert len(set(y.tolist())) == 10  # the stored images are sorted by digit: shuffling mixes them
    xs, ys = next(iter(DataLoader(train, batch_size=256)))
    assert set(ys.tolist()) == {0}


# ----- downloading ---------------------------------------------------------------------------------
class _Server:
    """http.server on 127.0.0.1 in a thread, serving `files` (name -> bytes) under /mnist/ (anything
    else is a 404) and recording every request."""

    def __init__(self, files):
        self.files, self.requests = dict(files), []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                folder, _, name = self.path.rpartition("/")
                outer.requests.append(self.path)
                body = outer.files.get(name) if folder == "/mnist" else None
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _gz_files():
    files = {}
    for prefix, n, seed in (("train", 20, 3), ("t10k", 6, 4)):
        images, labels = _fake_split(n, seed)
        files[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(_idx_bytes(images, 0x08))
        files[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(_idx_bytes(labels, 0x08))
    return files


@pytest.fixture
def served(monkeypatch):
    files = _gz_files()
    server = _Server(files)
    monkeypatch.setattr(DS.MNIST, "mirrors", [server.url + "missing/", server.url + "mnist/"])
    monkeypatch.setattr(DS.MNIST, "resources",
                        [(name, hashlib.md5(body).hexdigest()) for name, body in files.items()])
    yield server
    server.close()


def test_download_lands_under_root_and_loads(tmp_path, served, capsys):
    train = DS.MNIST(tmp_path, download=True)
    raw = tmp_path / "MNIST" / "raw"
    assert sorted(os.listdir(raw)) == sorted(served.files)  # no temporary files left behind
    for name, body in served.files.items():
        assert (raw / name).read_bytes() == body
    assert len(train) == 20 and len(DS.MNIST(tmp_path, train=False)) == 6
    assert any(r.startswith("/missing/") for r in served.requests)  # the first mirror 404s...
    count = len(served.requests)
    again = DS.MNIST(tmp_path, train=False, download=True)  # ...and nothing is fetched twice
    assert len(served.requests) == count and len(again) == 6
    # a file that went missing (or is corrupt) is fetched again, alone
    (raw / "t10k-labels-idx1-ubyte.gz").unlink()
    (raw / "train-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    DS.MNIST(tmp_path, download=True)
    fetched = [r.rsplit("/", 1)[-1] for r in served.requests[count:] if r.startswith("/mnist/")]
    assert sorted(fetched) == ["t10k-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_download_corrupt_file_leaves_nothing(tmp_path, served):
    served.files["train-images-idx3-ubyte.gz"] = served.files["train-images-idx3-ubyte.gz"][:-50]
    with pytest.raises(DS.DownloadError, match=r"train-images-idx3-ubyte\.gz.*(?s:.*)checksum"):
        DS.MNIST(tmp_path, download=True)
    raw = tmp_path / "MNIST" / "raw"
    assert not (raw / "train-images-idx3-ubyte.gz").exists()
    assert not [n for n in os.listdir(raw) if n.endswith(".part")]


def test_download_unreachable_mirror_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(DS.MNIST, "mirrors", ["http://127.0.0.1:9/"])  # discard port: refused
    with pytest.raises(DS.DownloadError, match="127.0.0.1:9"):
        DS.MNIST(tmp_path, download=True)
    assert os.listdir(tmp_path / "MNIST" / "raw") == []


# ----- Debian's Fashion-MNIST ----------------------------------------------------------------------
@pytest.mark.skipif(not os.path.isdir(FASHION_DIR), reason="dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_debian_package():
    train, test = DS.FashionMNIST(), DS.FashionMNIST(train=False)
    assert len(train) == 60000 and len(test) == 10000
    assert train.source == FASHION_DIR
    image, label = test[0]
    assert image.shape == (1, 28, 28) and 0 <= label < 10
    assert sorted(set(test.targets.tolist())) == list(range(10))
    x, y = next(iter(DataLoader(train, batch_size=256, shuffle=True)))
    assert x.shape == (256, 1, 28, 28) and 0.0 <= x.min().item() and x.max().item() <= 1.0
