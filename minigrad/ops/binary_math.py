"""Binary math beyond arithmetic: atan2, hypot, logaddexp, xlogy, fmod, copysign, fmax / fmin,
float_power, lerp, heaviside and the logical ops, with PyTorch's promotion and gradients."""
import numpy as np

from .. import autograd
from ..autograd import Function
from .dims import sum_to_shape
from .elementwise import Pow, _Binary, _comparison, _tensor_input, _two_tensors, require_tensors
from .registry import METHOD, TORCH, op, register
from .unary import quiet


class FloatPower(Pow):
    computes_in = np.dtype(np.float64)


class Atan2(_Binary):
    floating = True

    def compute(self, a, b):
        self.save_for_backward(a, b)
        return self.xp.arctan2(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        scaled = grad / (a * a + b * b)
        return self.reduce_both(scaled * b, -scaled * a)


class Hypot(_Binary):
    floating = True

    def compute(self, a, b):
        out = self.xp.hypot(a, b)
        self.save_for_backward(a, b, out)
        return out

    def backward(self, grad):
        a, b, out = self.saved_tensors
        return self.reduce_both(grad * a / out, grad * b / out)


class LogAddExp(_Binary):
    """log(e^a + e^b); logaddexp2 is the base-2 version, with `base` 2."""
    floating = True
    base = np.e

    @quiet
    def compute(self, a, b):
        self.save_for_backward(a, b)
        return self.xp.logaddexp(a, b) if self.base == np.e else self.xp.logaddexp2(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        base = grad.dtype.type(self.base)
        return self.reduce_both(grad / (1 + base ** (b - a)), grad / (1 + base ** (a - b)))


class LogAddExp2(LogAddExp):
    base = 2.0


def _as_arrays(xp, a, b):
    """A Python-number operand as a 0-d array of the other's dtype (for masks and where)."""
    return (xp.asarray(a, dtype=b.dtype) if not hasattr(a, "dtype") else a,
            xp.asarray(b, dtype=a.dtype) if not hasattr(b, "dtype") else b)


class Xlogy(_Binary):
    """x log y, 0 where x == 0 unless y is nan."""
    floating = True

    @quiet
    def compute(self, a, b):
        xp = self.xp
        a, b = _as_arrays(xp, a, b)
        self.save_for_backward(a, b)
        return xp.where((a == 0) & ~xp.isnan(b), a.dtype.type(0), a * xp.log(b))

    def backward(self, grad):
        a, b = self.saved_tensors
        xp = self.xp
        log_b = xp.where((a == 0) & ~xp.isnan(b), b.dtype.type(0), xp.log(b))
        return self.reduce_both(grad * log_b, grad * a / b)


class Fmod(_Binary):
    """C's remainder: the result takes the dividend's sign."""

    @quiet
    def compute(self, a, b):
        self.save_for_backward(a, b)
        return self.xp.fmod(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        return self.reduce_both(grad, -grad * self.xp.trunc(a / b))


class Copysign(_Binary):
    floating = True

    def compute(self, a, b):
        out = self.xp.copysign(a, b)
        self.save_for_backward(a, out)
        return out

    def backward(self, grad):
        a, out = self.saved_tensors
        xp = self.xp
        # the sign's derivative is zero (torch gives the sign operand zeros, not None)
        ratio = xp.where(a == 0, grad.dtype.type(0), out / xp.where(a == 0, a.dtype.type(1), a))
        return self.reduce_both(grad * ratio, xp.zeros_like(grad))


class _NanIgnoringExtremum(_Binary):
    """fmax / fmin: a NaN operand loses; torch's gradient goes to the first operand on ties."""

    def compute(self, a, b):
        self.save_for_backward(a, b)
        return self.pick(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        xp = self.xp
        to_first = self.wins(a, b) | xp.isnan(b)
        zero = grad.dtype.type(0)
        return self.reduce_both(xp.where(to_first, grad, zero), xp.where(to_first, zero, grad))


class Fmax(_NanIgnoringExtremum):
    def pick(self, a, b):
        return self.xp.fmax(a, b)

    def wins(self, a, b):
        return a >= b


class Fmin(_NanIgnoringExtremum):
    def pick(self, a, b):
        return self.xp.fmin(a, b)

    def wins(self, a, b):
        return a <= b


class Lerp(Function):
    """input + weight (end - input), with weight a number or a tensor, all three broadcast."""

    def forward(self, start, end, weight):
        self.meta = [(getattr(v, "shape", ()), getattr(v, "dtype", None)) for v in (start, end, weight)]
        self.save_for_backward(start, end, weight)
        try:
            return start + weight * (end - start)
        except ValueError:
            raise RuntimeError(f"lerp: input {self.meta[0][0]}, end {self.meta[1][0]} and weight "
                               f"{self.meta[2][0]} cannot be broadcast together") from None

    def backward(self, grad):
        start, end, weight = self.saved_tensors
        grads = (grad * (1 - weight), grad * weight, grad * (end - start))
        return tuple(sum_to_shape(g, shape).astype(dtype, copy=False) if needed else None
                     for g, (shape, dtype), needed in zip(grads, self.meta, self.needs_input_grad))


LogicalAnd = _comparison("LogicalAnd", lambda xp, a, b: xp.logical_and(a, b))
LogicalOr = _comparison("LogicalOr", lambda xp, a, b: xp.logical_or(a, b))
LogicalXor = _comparison("LogicalXor", lambda xp, a, b: xp.logical_xor(a, b))
# torch's heaviside: `values` where x == 0, else x > 0 (so 0 for nan)
Heaviside = _comparison("Heaviside", lambda xp, a, b: xp.where(a == 0, b, a > 0).astype(a.dtype))

xlogy = register(Xlogy.apply, TORCH, METHOD, name="xlogy")
float_power = register(FloatPower.apply, TORCH, METHOD, name="float_power")
atan2 = register(_two_tensors("atan2", Atan2), TORCH, METHOD, name="atan2", aliases=("arctan2",))
hypot = register(_two_tensors("hypot", Hypot), TORCH, METHOD, name="hypot")
logaddexp = register(_two_tensors("logaddexp", LogAddExp), TORCH, METHOD, name="logaddexp")
logaddexp2 = register(_two_tensors("logaddexp2", LogAddExp2), TORCH, METHOD, name="logaddexp2")
fmax = register(_two_tensors("fmax", Fmax), TORCH, METHOD, name="fmax")
fmin = register(_two_tensors("fmin", Fmin), TORCH, METHOD, name="fmin")
logical_and = register(_two_tensors("logical_and", LogicalAnd), TORCH, METHOD, name="logical_and")
logical_or = register(_two_tensors("logical_or", LogicalOr), TORCH, METHOD, name="logical_or")
logical_xor = register(_two_tensors("logical_xor", LogicalXor), TORCH, METHOD, name="logical_xor")


@op(TORCH, METHOD)
def heaviside(input, values):
    require_tensors("heaviside", input, values)
    if input.dtype != values.dtype:
        raise RuntimeError(f"heaviside is not yet implemented for tensors with different dtypes "
                           f"({input.dtype} and {values.dtype})")
    return Heaviside.apply(input, values)


@op(TORCH, METHOD)
def fmod(input, other):
    _tensor_input("fmod", input)
    return Fmod.apply(input, other)


@op(TORCH, METHOD)
def copysign(input, other):
    _tensor_input("copysign", input)
    return Copysign.apply(input, other)


@op(TORCH, METHOD)
def lerp(input, end, weight):
    for what, operand in (("end", end), ("weight", weight)):
        if isinstance(operand, autograd.Tensor) and operand.dtype != input.dtype:
            raise RuntimeError(f"lerp: expected dtype {input.dtype} for `{what}` but got dtype "
                               f"{operand.dtype}")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"lerp is not implemented for {input.dtype} tensors")
    return Lerp.apply(input, end, weight)
