"""erf, erfc and erfinv as parallel elementwise kernels (NumPy has no error function): the rules of
kernels/special_rule.py, computed in float64 and stored in the input's dtype (float32 or float64)."""
import numpy as np
from numba import njit, prange

from ..special_rule import erf_rule, erfc_rule, erfinv_rule

_erf = njit(inline="always")(erf_rule)
_erfc = njit(inline="always")(erfc_rule)
_erfinv = njit(inline="always")(erfinv_rule)


@njit(parallel=True, fastmath=False, cache=True)
def _erf_flat(x, out):
    for i in prange(x.size):
        out[i] = _erf(float(x[i]))


@njit(parallel=True, fastmath=False, cache=True)
def _erfc_flat(x, out):
    for i in prange(x.size):
        out[i] = _erfc(float(x[i]))


@njit(parallel=True, fastmath=False, cache=True)
def _erfinv_flat(x, out):
    for i in prange(x.size):
        out[i] = _erfinv(float(x[i]))


def _elementwise(kernel, x):
    """kernel over a flat C-contiguous copy of x, into a new array of x's shape and dtype."""
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    if flat.size:
        kernel(flat, out)
    return out.reshape(x.shape)


def erf(x):
    return _elementwise(_erf_flat, x)


def erfc(x):
    return _elementwise(_erfc_flat, x)


def erfinv(x):
    return _elementwise(_erfinv_flat, x)
