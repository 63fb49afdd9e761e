"""erf, erfc and erfinv on the GPU, as the CPU table's: the rules of kernels/special_rule.py as
device functions, one thread per element (a grid-stride loop), computed in float64 and stored in
the input's dtype."""
from numba import cuda

from ..special_rule import erf_rule, erfc_rule, erfinv_rule
from .runtime import launch, xp

_erf = cuda.jit(device=True)(erf_rule)
_erfc = cuda.jit(device=True)(erfc_rule)
_erfinv = cuda.jit(device=True)(erfinv_rule)


@cuda.jit(cache=True)
def _erf_flat(x, out):
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        out[i] = _erf(float(x[i]))


@cuda.jit(cache=True)
def _erfc_flat(x, out):
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        out[i] = _erfc(float(x[i]))


@cuda.jit(cache=True)
def _erfinv_flat(x, out):
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        out[i] = _erfinv(float(x[i]))


def _elementwise(kernel, x):
    flat = xp.ascontiguousarray(x).reshape(-1)
    out = xp.empty_like(flat)
    launch(kernel, flat.size, flat, out)
    return out.reshape(x.shape)


def erf(x):
    return _elementwise(_erf_flat, x)


def erfc(x):
    return _elementwise(_erfc_flat, x)


def erfinv(x):
    return _elementwise(_erfinv_flat, x)
