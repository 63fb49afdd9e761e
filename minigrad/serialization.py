"""mg.save / mg.load: nested state (dicts, lists, numbers, strings, tensors, arrays) in a NumPy .npz.

No pickle: arrays are stored as .npz entries and the structure around them as JSON, so loading a
file never runs code. Saving writes a temporary file beside the target and renames it into place,
so a crash mid-save leaves the previous file whole.
"""
import json
import os
import zipfile
from collections import OrderedDict

import numpy as np

from .device import backend, move
from .files import atomic_write
from .tensor import Tensor

_STRUCTURE = "__minigrad_structure__"


def _encode(obj, arrays):
    """A JSON-able description of obj; arrays and tensors go into `arrays` by index."""
    if isinstance(obj, Tensor):
        data = obj.detach().cpu().numpy()
        arrays.append(data)
        return {"tensor": len(arrays) - 1, "requires_grad": obj.requires_grad}
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:  # np.savez would pickle it, and loading it would need pickle
            raise TypeError("mg.save cannot store NumPy arrays of Python objects (dtype object)")
        arrays.append(obj)
        return {"array": len(arrays) - 1}
    if isinstance(obj, dict):
        return {"dict": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()],
                "ordered": isinstance(obj, OrderedDict)}
    if isinstance(obj, (list, tuple)):
        return {"list" if isinstance(obj, list) else "tuple": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, (np.generic,)):
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    raise TypeError(f"mg.save can store tensors, arrays, numbers, strings, None, and dicts, lists "
                    f"and tuples of them; got {type(obj).__name__}")


def _decode(node, arrays, backend):
    if "tensor" in node:
        tensor = Tensor._make(move(arrays[f"a{node['tensor']}"], backend), backend)
        return tensor.requires_grad_(node["requires_grad"]) if node["requires_grad"] else tensor
    if "array" in node:
        return arrays[f"a{node['array']}"]
    if "dict" in node:
        pairs = [(_decode(k, arrays, backend), _decode(v, arrays, backend)) for k, v in node["dict"]]
        return OrderedDict(pairs) if node["ordered"] else dict(pairs)
    if "list" in node:
        return [_decode(v, arrays, backend) for v in node["list"]]
    if "tuple" in node:
        return tuple(_decode(v, arrays, backend) for v in node["tuple"])
    return node["value"]


def save(obj, path):
    """Save a state dict (or any nesting of dicts/lists of tensors and plain values) to `path`."""
    arrays = []
    structure = json.dumps(_encode(obj, arrays))
    entries = {f"a{i}": array for i, array in enumerate(arrays)}
    entries[_STRUCTURE] = np.frombuffer(structure.encode(), dtype=np.uint8)
    path = os.fspath(path)
    with atomic_write(path) as file:
        np.savez(file, **entries)


def load(path, map_location=None, weights_only=True):
    """Load what `save` wrote; tensors go to `map_location` (default: the CPU)."""
    target = backend("cpu" if map_location is None else map_location)
    with open(path, "rb") as file:
        if file.read(4) != b"PK\x03\x04":
            raise ValueError(f"cannot load {path}: it is not an .npz archive written by minigrad.save")
    try:
        with np.load(os.fspath(path), allow_pickle=False) as arrays:
            if _STRUCTURE not in arrays.files:
                raise ValueError(f"{path} is an .npz file but not one written by minigrad.save")
            structure = json.loads(arrays[_STRUCTURE].tobytes().decode())
            loaded = {name: arrays[name] for name in arrays.files if name != _STRUCTURE}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"cannot load {path}: {error}") from None
    return _decode(structure, loaded, target)
