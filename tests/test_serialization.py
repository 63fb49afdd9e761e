"""mg.save / mg.load: round trips of model and optimizer state, nested plain values and arrays; the file
is a pickle-free .npz; bad files raise ValueError naming the file; saving is atomic (a save killed
half-way, or failing half-way, leaves the previous file whole and no temporary file behind)."""
import glob
import os
import pathlib
import random
import signal
import subprocess
import sys
import time
from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.files import atomic_write


def npy(t):
    return np.array(t.detach().numpy(), copy=True)


def temporaries(directory):
    return glob.glob(os.path.join(str(directory), ".*.part"))  # files.atomic_write's


def make_net():
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3 * 3 * 3, 4))


def batches(n, seed=0):
    rng = np.random.default_rng(seed)
    return [(mg.tensor(rng.normal(size=(5, 1, 6, 6)).astype(np.float32)),
             mg.tensor(rng.integers(0, 4, size=5))) for _ in range(n)]


def train(net, opt, data):
    loss_fn = nn.CrossEntropyLoss()
    for X, y in data:
        opt.zero_grad()
        loss_fn(net(X), y).backward()
        opt.step()


def test_model_state_dict_round_trip(tmp_path):
    mg.manual_seed(0)
    net = make_net()
    train(net, mg.optim.SGD(net.parameters(), lr=0.1), batches(2))  # running stats move
    path = tmp_path / "model.npz"
    mg.save(net.state_dict(), path)
    loaded = mg.load(path)
    assert list(loaded) == list(net.state_dict())
    for key, value in net.state_dict().items():
        assert isinstance(loaded[key], mg.Tensor)
        assert loaded[key].dtype == value.dtype, key
        np.testing.assert_array_equal(npy(loaded[key]), npy(value))
    assert loaded["1.num_batches_tracked"].dtype == mg.int64
    assert int(loaded["1.num_batches_tracked"].item()) == 2
    mg.manual_seed(1)
    fresh = make_net()
    fresh.load_state_dict(loaded)
    net.eval(), fresh.eval()
    X = batches(1, seed=9)[0][0]
    np.testing.assert_array_equal(npy(fresh(X)), npy(net(X)))


@pytest.mark.parametrize("make_opt", [
    lambda p: mg.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda p: mg.optim.SGD(p, lr=0.05, momentum=0.9),
    lambda p: mg.optim.Adam(p, lr=0.01, betas=(0.8, 0.99)),
    lambda p: mg.optim.Adam(p, lr=0.01, amsgrad=True),
    lambda p: mg.optim.AdamW(p, lr=0.01),
], ids=["sgd_nesterov", "sgd_momentum", "adam", "adam_amsgrad", "adamw"])
def test_optimizer_state_round_trip_continues_identically(tmp_path, make_opt):
    mg.manual_seed(0)
    net = make_net()
    opt = make_opt(net.parameters())
    data = batches(6)
    train(net, opt, data[:3])
    path = str(tmp_path / "checkpoint.npz")
    mg.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, path)

    checkpoint = mg.load(path)
    assert checkpoint["epoch"] == 3
    assert checkpoint["optimizer"]["param_groups"] == opt.state_dict()["param_groups"]
    mg.manual_seed(5)
    net2 = make_net()
    opt2 = make_opt(net2.parameters())
    net2.load_state_dict(checkpoint["model"])
    opt2.load_state_dict(checkpoint["optimizer"])
    train(net, opt, data[3:])
    train(net2, opt2, data[3:])
    for (name, a), b in zip(net.state_dict().items(), net2.state_dict().values()):
        np.testing.assert_array_equal(npy(b), npy(a), err_msg=name)


def test_nested_plain_values_round_trip(tmp_path):
    obj = {
        "int": 3, "neg": -7, "big": 2 ** 40, "float": 0.1, "inf": float("inf"), "str": "héllo ✓",
        "none": None, "true": True, "false": False,
        "list": [1, [2.5, "x", None], {"k": [3]}], "tuple": (1, "a", (2.0,)),
        "nested": OrderedDict([("b", 1), ("a", {"deep": {"deeper": np.arange(4)}})]),
        "int_keys": {0: "zero", 1: "one"},
        "arrays": [np.zeros((2, 3), np.float32), np.arange(5, dtype=np.int64),
                   np.array([True, False]), np.array(7.5), np.empty((0, 4), np.float64),
                   np.arange(6, dtype=np.uint8).reshape(2, 3)],
        "tensors": [mg.tensor([1.0, 2.0], requires_grad=True), mg.tensor([[1, 2]]),
                    mg.tensor([1.5], dtype=mg.float64), mg.tensor(True), mg.tensor(3.0)],
        "numpy_scalars": [np.float32(1.5), np.int64(4)],
        "empty": [{}, [], ()],
    }
    path = tmp_path / "nested.npz"
    mg.save(obj, path)
    got = mg.load(str(path))
    for key in ["int", "neg", "big", "float", "inf", "str", "none", "true", "false", "list",
                "tuple", "int_keys", "empty"]:
        assert got[key] == obj[key] and type(got[key]) is type(obj[key]), key
    assert type(got["true"]) is bool and type(got["int"]) is int
    assert list(got) == list(obj)
    assert isinstance(got["nested"], OrderedDict) and list(got["nested"]) == ["b", "a"]
    np.testing.assert_array_equal(got["nested"]["a"]["deep"]["deeper"], np.arange(4))
    for a, b in zip(got["arrays"], obj["arrays"]):
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    for a, b in zip(got["tensors"], obj["tensors"]):
        assert isinstance(a, mg.Tensor) and a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
        assert a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(npy(a), npy(b))
    assert got["numpy_scalars"] == [1.5, 4]


def test_file_is_a_pickle_free_npz(tmp_path):
    path = tmp_path / "state.npz"
    mg.save({"model": make_net().state_dict(), "meta": {"name": "lenet", "steps": [1, 2]}}, path)
    with np.load(path, allow_pickle=False) as archive:
        assert len(archive.files) > 1
        for name in archive.files:
            assert archive[name].dtype != object
    assert temporaries(tmp_path) == []


def test_unsupported_objects_raise_type_error(tmp_path):
    path = tmp_path / "x.npz"
    for bad in [{"f": lambda: 0}, {"s": {1, 2}}, [object()], {"o": np.array([None], dtype=object)}]:
        with pytest.raises(TypeError):
            mg.save(bad, path)
    assert not path.exists() and temporaries(tmp_path) == []


def test_bad_files_raise_value_error_naming_the_file(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("this is not an archive")
    with pytest.raises(ValueError, match="notes.npz"):
        mg.load(text)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.npz"):
        mg.load(empty)
    good = tmp_path / "good.npz"
    mg.save({"w": mg.randn(200, 100), "meta": [1, 2, 3]}, good)
    data = good.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 30):
        broken = tmp_path / f"truncated_{cut}.npz"
        broken.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=f"truncated_{cut}.npz"):
            mg.load(broken)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.arange(3))
    with pytest.raises(ValueError, match="foreign.npz"):
        mg.load(foreign)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled.npz"):
        mg.load(pickled)
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "missing.npz")


@pytest.mark.parametrize("error", [OSError("No space left on device"), KeyboardInterrupt()])
def test_failed_save_leaves_old_file_and_no_temporary(tmp_path, monkeypatch, error):
    path = tmp_path / "model.npz"
    old = {"w": mg.arange(10.0), "tag": "old"}
    mg.save(old, path)
    before = path.read_bytes()
    real_savez = np.savez

    def savez_that_fails_midway(file, *args, **kwargs):
        real_savez(file, *args, **kwargs)  # everything written to the temporary file ...
        file.seek(len(before) // 2)
        file.truncate()
        raise error  # ... then the disk fills up or the user presses Ctrl-C

    monkeypatch.setattr(np, "savez", savez_that_fails_midway)
    with pytest.raises(type(error)):
        mg.save({"w": mg.zeros(10), "tag": "new"}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert mg.load(path)["tag"] == "old"
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]


def test_save_overwrites_and_accepts_str_and_pathlib(tmp_path):
    for target in (str(tmp_path / "a.npz"), pathlib.Path(tmp_path / "b.npz")):
        mg.save({"v": 1}, target)
        mg.save({"v": 2}, target)
        assert mg.load(target) == {"v": 2}
    assert temporaries(tmp_path) == []


_WRITER = r"""
import sys
import numpy as np
import minigrad as mg
path = sys.argv[1]
base = np.arange(12_500_000, dtype=np.float32)  # 50 MB
contents = [{"tag": "A", "w": mg.from_numpy(base)}, {"tag": "B", "w": mg.from_numpy(base + 1)}]
print("ready", flush=True)
i = 0
while True:
    mg.save(contents[i % 2], path)
    i += 1
"""


def test_save_killed_midway_leaves_a_whole_file(tmp_path):
    """SIGKILL a process that keeps overwriting a 50 MB file: every time, the path holds one of the two
    complete versions, and at most the one temporary file that was being written is left behind."""
    path = str(tmp_path / "big.npz")
    base = np.arange(12_500_000, dtype=np.float32)
    expected = {"A": base, "B": base + 1}
    mg.save({"tag": "A", "w": mg.from_numpy(base)}, path)
    rng = random.Random(1234)
    seen_tags, seen_temporaries = set(), 0
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, path], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.02, 0.6))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        leftovers = temporaries(tmp_path)
        assert len(leftovers) <= 1, leftovers
        seen_temporaries += len(leftovers)
        loaded = mg.load(path)
        assert loaded["tag"] in expected
        np.testing.assert_array_equal(npy(loaded["w"]), expected[loaded["tag"]])
        seen_tags.add(loaded["tag"])
        for leftover in leftovers:  # what a crashed writer leaves: never the target itself
            os.unlink(leftover)
    assert sorted(os.listdir(tmp_path)) == ["big.npz"]
    assert seen_temporaries >= 1, "no kill landed during a save: the test checked nothing"


def test_atomic_write_replaces_the_file_only_when_the_block_succeeds(tmp_path):
    path = tmp_path / "state.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="midway"):
        with atomic_write(path) as file:
            file.write(b"new, half")
            raise RuntimeError("midway")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["state.bin"]
    with atomic_write(path) as file:
        file.write(b"new")
    mask = os.umask(0)
    os.umask(mask)
    assert path.read_bytes() == b"new" and os.listdir(tmp_path) == ["state.bin"]
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~mask  # as open() would make it
