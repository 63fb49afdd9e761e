"""Data types and PyTorch's type-promotion rules, on top of NumPy dtypes."""
import numpy as np

# This module defines torch's aliases `float`, `int`, ... below, so keep the builtins under other names.
builtin_int, builtin_float = int, float


class dtype:
    """A tensor element type: `mg.float32` and friends. Wraps a NumPy dtype."""

    def __init__(self, name, np_dtype, category):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.category = category  # 0 bool, 1 integer, 2 floating point: the order promotion climbs
        self.is_floating_point = category == 2
        self.itemsize = self.np.itemsize

    def __repr__(self):  # torch's spelling: code run with `import minigrad as torch` prints the same
        return f"torch.{self.name}"

    def __reduce__(self):
        return (to_dtype, (self.name,))


float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)
float16 = dtype("float16", np.float16, 2)
int64 = dtype("int64", np.int64, 1)
int32 = dtype("int32", np.int32, 1)
int16 = dtype("int16", np.int16, 1)
int8 = dtype("int8", np.int8, 1)
uint8 = dtype("uint8", np.uint8, 1)
bool_ = dtype("bool", np.bool_, 0)
float, double, half, long, int, short = float32, float64, float16, int64, int32, int16  # torch aliases

_BY_NUMPY = {d.np: d for d in (float32, float64, float16, int64, int32, int16, int8, uint8, bool_)}
_BY_NAME = {d.name: d for d in _BY_NUMPY.values()}
DEFAULT_FLOAT = float32
DEFAULT_INT = int64


def to_dtype(spec):
    """Turn a minigrad dtype, NumPy dtype, dtype name or Python type into a minigrad dtype."""
    if isinstance(spec, dtype):
        return spec
    if spec is bool:
        return bool_
    if spec in (builtin_int, builtin_float):  # torch reads Python int/float as int64/float64
        return int64 if spec is builtin_int else float64
    if isinstance(spec, str) and spec in _BY_NAME:
        return _BY_NAME[spec]
    try:
        return _BY_NUMPY[np.dtype(spec)]
    except (TypeError, KeyError):
        raise TypeError(f"unsupported dtype {spec!r}; expected one of "
                        f"{', '.join('minigrad.' + n for n in _BY_NAME)}") from None



def from_numpy_dtype(np_dtype):
    try:
        return _BY_NUMPY[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(f"unsupported NumPy dtype {np.dtype(np_dtype)}") from None


def _category(value):
    """Promotion category of a Python scalar or an array: 0 bool, 1 integer, 2 floating point."""
    if isinstance(value, (bool, np.bool_)):
        return 0
    if isinstance(value, (builtin_int, np.integer)):
        return 1
    if isinstance(value, (builtin_float, np.floating)):
        return 2
    return _BY_NUMPY[value.dtype].category


def result_type(*operands):
    """PyTorch's result dtype (a NumPy dtype) for arrays and Python scalars.

    Three priority tiers: arrays with dimensions, zero-dimensional arrays, Python scalars. A lower
    tier changes the result only when its category (bool < int < float) is higher than every
    higher tier's; a Python float then means the default float32, a Python int means int64.
    """
    tiers = ([], [], [])
    for op in operands:
        if isinstance(op, (builtin_int, builtin_float, bool, np.number, np.bool_)):
            tiers[2].append(op)
        else:
            tiers[0 if op.ndim else 1].append(op)
    result, category = None, -1
    for tier_index, tier in enumerate(tiers):
        if not tier:
            continue
        tier_category = max(_category(op) for op in tier)
        if tier_category <= category:
            continue
        if tier_index == 2:
            result = (np.dtype(np.bool_), DEFAULT_INT.np, DEFAULT_FLOAT.np)[tier_category]
        else:
            result = np.result_type(*(op.dtype for op in tier if _category(op) == tier_category))
        category = tier_category
    return result
