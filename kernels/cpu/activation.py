"""ReLU and sigmoid, forward and backward, as parallel one-pass kernels.

Both passes are `values where source > 0 else 0`: the forward pass with source = values = x, the
backward with source = the output y, values = grad_y (a NaN is neither <= 0 nor dropped: relu
keeps it and passes its gradient, as torch does). One kernel, one compile. NumPy's
`maximum(x, 0)` and `grad * (y > 0)` run on one thread, the backward in two passes (a mask, then
the product), so one pass on all the threads wins on large tensors. Below SMALL elements waking
the worker threads costs more than the pass, so NumPy does those.
"""
import math

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic, overload

from ..sigmoid_rule import sigmoid_backward_rule

SMALL = 1 << 16

# fastmath without "nnan": the NaN test below must stay.
NAN_KEEPING_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


@njit(parallel=True, fastmath=NAN_KEEPING_FASTMATH, cache=True)
def _where_not_positive_zero(source, values, out):
    zero = values.dtype.type(0)
    for i in prange(out.size):
        out[i] = zero if source[i] <= zero else values[i]


def _pass_positive(source, values):
    source, values = np.ascontiguousarray(source), np.ascontiguousarray(values)
    out = np.empty_like(values)
    _where_not_positive_zero(source.reshape(-1), values.reshape(-1), out.reshape(-1))
    return out


def relu_forward(x):
    if x.size < SMALL:
        return np.maximum(x, 0)
    return _pass_positive(x, x)


def relu_backward(grad_y, y):
    """The gradient of relu at its output y: zero where y <= 0, passed through elsewhere (NaN
    included, as in torch)."""
    if grad_y.size < SMALL:
        return np.where(y <= 0, grad_y.dtype.type(0), grad_y)
    return _pass_positive(y, grad_y)


# Sigmoid: NumPy takes four passes (and an error-state switch for exp's overflow) where the rule
# takes one; a small tensor gets the serial kernel, whose call costs less than the four.
_sigmoid_backward = njit(inline="always")(sigmoid_backward_rule)

# exp that LLVM vectorises in float32 (Numba's math.exp is a scalar libm call per element, ten
# times the rest of a sigmoid pass): 2^t = 2^n 2^f for t = x log2(e), n = round(t), |f| <= 1/2,
# 2^f by its Taylor series to degree 7 (relative error 5e-9), 2^n built from its exponent bits (a
# table's gather had taken half the pass).
_LOG2E = np.float32(1.4426950408889634)
_EXP2_TAYLOR = tuple(np.float32(np.log(2) ** k / math.factorial(k)) for k in range(8))


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose bit pattern is the int32 `bits`."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float32))
    return types.float32(types.int32), codegen


@njit(inline="always", fastmath=NAN_KEEPING_FASTMATH)
def _exp_float32(x):
    """exp(x) for float32 x: inf past float32's range, 0 far below it, NaN for NaN."""
    t = x * _LOG2E
    clamped = min(max(t, np.float32(-126)), np.float32(127)) if t == t else np.float32(0)
    n = np.floor(clamped + np.float32(0.5))
    f = clamped - n
    c0, c1, c2, c3, c4, c5, c6, c7 = _EXP2_TAYLOR
    power = c0 + f * (c1 + f * (c2 + f * (c3 + f * (c4 + f * (c5 + f * (c6 + f * c7))))))
    e = power * _float32_from_bits((np.int32(n) + np.int32(127)) << np.int32(23))  # 2^n
    e = np.float32(np.inf) if t > np.float32(128) else e
    e = np.float32(0) if t < np.float32(-150) else e
    return e if x == x else x


def _exp(x):
    """exp in the kernels: _exp_float32 for float32, math.exp otherwise (chosen when Numba types
    the call)."""


@overload(_exp, inline="always")
def _exp_for(x):
    if x == types.float32:
        return lambda x: _exp_float32(x)
    return lambda x: math.exp(x)


@njit(inline="always", fastmath=NAN_KEEPING_FASTMATH)
def _sigmoid_vectorised(x, one):
    """sigmoid_rule, with the exp above."""
    return one / (one + _exp(-x))


@njit(fastmath=NAN_KEEPING_FASTMATH, cache=True)
def _sigmoid_serial(x, out):
    one = x.dtype.type(1)
    for i in range(x.size):
        out[i] = _sigmoid_vectorised(x[i], one)


# Its own def, not njit(parallel=True) of the serial one: Numba's cache keys a kernel by its
# function's name and line, so the two would load each other's machine code.
@njit(parallel=True, fastmath=NAN_KEEPING_FASTMATH, cache=True)
def _sigmoid_parallel(x, out):
    one = x.dtype.type(1)
    for i in prange(x.size):
        out[i] = _sigmoid_vectorised(x[i], one)


@njit(fastmath=NAN_KEEPING_FASTMATH, cache=True)
def _sigmoid_backward_serial(grad_y, y, out):
    one = y.dtype.type(1)
    for i in range(y.size):
        out[i] = _sigmoid_backward(grad_y[i], y[i], one)


@njit(parallel=True, fastmath=NAN_KEEPING_FASTMATH, cache=True)
def _sigmoid_backward_parallel(grad_y, y, out):
    one = y.dtype.type(1)
    for i in prange(y.size):
        out[i] = _sigmoid_backward(grad_y[i], y[i], one)


def _flat(a):
    return a if a.ndim == 1 else a.reshape(-1)  # reshape copies a strided array into a flat one


def sigmoid_forward(x):
    if x.dtype.char not in "fd":  # Numba has no float16: it computes in float32
        return sigmoid_forward(x.astype(np.float32)).astype(x.dtype)
    out = np.empty(x.shape, x.dtype)
    (_sigmoid_serial if x.size < SMALL else _sigmoid_parallel)(_flat(x), _flat(out))
    return out


def sigmoid_backward(grad_y, y):
    """The gradient of sigmoid at its output y."""
    if y.dtype.char not in "fd" or grad_y.dtype != y.dtype:
        return grad_y * y * (1 - y)
    out = np.empty(y.shape, y.dtype)
    kernel = _sigmoid_backward_serial if y.size < SMALL else _sigmoid_backward_parallel
    kernel(_flat(grad_y), _flat(y), _flat(out))
    return out
