"""Elementwise arithmetic with broadcasting and PyTorch's type promotion: the binary ops' base,
add, sub, mul, div, pow, remainder, maximum / minimum, comparisons and bitwise ops, clamp, where."""
import numpy as np

from .. import autograd
from ..autograd import Function
from ..dtypes import DEFAULT_FLOAT, result_type
from .dims import broadcast_error, sum_to_shape
from .registry import METHOD, TORCH, op, register
from .unary import quiet


def _cast(x, dtype):
    return x.astype(dtype, copy=False) if hasattr(x, "astype") else x


_promotions = {}  # (each operand's dtype and 0-d-ness, or a scalar's type) -> PyTorch's result dtype


def _promotion_key(x, dtype):
    """What the result dtype depends on: a scalar's type (its category), an array's dtype and tier."""
    return type(x) if dtype is None or isinstance(x, np.generic) else (dtype, x.ndim == 0)


def _promote(a, b, floating=False):
    """Both operands cast to PyTorch's result dtype (Python scalars stay scalars: they are weak)."""
    da, db = getattr(a, "dtype", None), getattr(b, "dtype", None)
    if da is not None and (da == db or (db is None and isinstance(b, (int, float)) and da.kind == "f")):
        dtype = da  # the common cases (a Python number and a float tensor), without a look-up
    else:
        key = (_promotion_key(a, da), _promotion_key(b, db))
        dtype = _promotions.get(key)
        if dtype is None:
            dtype = _promotions[key] = result_type(a, b)
    if floating and dtype.kind != "f":
        dtype = DEFAULT_FLOAT.np
    return (a if da is dtype else _cast(a, dtype)), (b if db is dtype else _cast(b, dtype))


class _Binary(Function):
    """Broadcasting binary op; gradients are summed back to each operand's shape and dtype."""
    floating = False  # the result is floating point even for integer operands (true division)
    computes_in = None  # a dtype both operands are cast to, whatever theirs (float_power's float64)

    meta = None  # each operand's shape and dtype, for reduce; None: both are the result's

    def forward(self, a, b):
        da, db = getattr(a, "dtype", None), getattr(b, "dtype", None)
        shape_a, shape_b = getattr(a, "shape", ()), getattr(b, "shape", ())
        if self.computes_in is not None:
            a, b = _cast(a, self.computes_in), _cast(b, self.computes_in)
        elif da is not db or self.floating:  # two arrays of one dtype need no promotion
            a, b = _promote(a, b, self.floating)
        try:
            out = self.compute(a, b)
        except ValueError:
            raise broadcast_error(type(self).__name__.lower(), a, b) from None
        # no broadcast and no promotion (a Python number as b needs no gradient): no meta, so
        # fewer objects kept for the garbage collector to scan
        if not (da is out.dtype and shape_a == out.shape
                and (db is None or db is da and shape_b == shape_a)):
            self.meta = (shape_a, da, shape_b, db)
        return out

    def reduce(self, grad, i):
        """`grad` of the result, as the gradient of operand i (None when it needs none)."""
        if not self.needs_input_grad[i]:
            return None
        if self.meta is None:
            return grad
        shape, dtype = self.meta[2 * i], self.meta[2 * i + 1]
        if grad.shape == shape and grad.dtype == dtype:  # no broadcast, no promotion
            return grad
        return sum_to_shape(grad, shape).astype(dtype, copy=False)

    def reduce_both(self, grad_a, grad_b):
        return self.reduce(grad_a, 0), self.reduce(grad_b, 1)


class Add(_Binary):
    def compute(self, a, b):
        return a + b

    def backward(self, grad):
        return self.reduce(grad, 0), self.reduce(grad, 1)


class Sub(_Binary):
    def compute(self, a, b):
        return a - b

    def backward(self, grad):
        return self.reduce(grad, 0), self.reduce(-grad, 1) if self.needs_input_grad[1] else None


class Mul(_Binary):
    def compute(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, grad):
        a, b = self.saved_tensors
        return (self.reduce(grad * b, 0) if self.needs_input_grad[0] else None,
                self.reduce(grad * a, 1) if self.needs_input_grad[1] else None)


class Div(_Binary):
    floating = True

    @quiet
    def compute(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, grad):
        a, b = self.saved_tensors
        return (self.reduce(grad / b, 0) if self.needs_input_grad[0] else None,
                self.reduce(-grad * a / (b * b), 1) if self.needs_input_grad[1] else None)


class RoundedDiv(_Binary):
    """div with rounding_mode 'trunc' or 'floor': a step function of both operands, so (as in
    torch) differentiable with a zero gradient."""

    def forward(self, a, b, rounding_mode):
        self.rounding_mode = rounding_mode
        return super().forward(a, b)

    @quiet
    def compute(self, a, b):
        xp = self.xp
        quotient = xp.floor_divide(a, b)
        if self.rounding_mode == "floor":
            return quotient
        if quotient.dtype.kind == "f":
            return xp.trunc(xp.true_divide(a, b)).astype(quotient.dtype, copy=False)
        # integers: floor division rounds an inexact negative quotient down, trunc towards zero
        return quotient + ((quotient < 0) & (quotient * b != a)).astype(quotient.dtype)

    def backward(self, grad):
        zero = grad * grad.dtype.type(0)
        return self.reduce(zero, 0), self.reduce(zero, 1)


class Pow(_Binary):
    @quiet
    def compute(self, a, b):
        out = a ** b
        if out.dtype == np.int8 and getattr(a, "dtype", getattr(b, "dtype", None)) == np.bool_:
            out = out.astype(np.bool_)  # torch keeps bool ** bool as bool; NumPy gives int8
        self.save_for_backward(a, b, out)
        return out

    def backward(self, grad):
        a, b, out = self.saved_tensors
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            slope = b * a ** (b - 1)
            # x ** 0 has slope 0, not 0 * x ** -1 (nan at 0)
            if hasattr(b, "shape"):
                slope = self.xp.where(b == 0, 0, slope)
            elif b == 0:
                slope = self.xp.zeros_like(slope)
            grad_a = self.reduce(grad * slope, 0)
        if self.needs_input_grad[1]:
            # d(a^b)/db = a^b log a, taken as 0 where a == 0 (PyTorch's convention)
            log_a = self.xp.log(self.xp.where(a == 0, 1, a)) if hasattr(a, "shape") else np.log(a)
            grad_b = self.reduce(grad * out * log_a, 1)
        return grad_a, grad_b


class Remainder(_Binary):
    """Python's modulo: the result takes the divisor's sign."""

    def compute(self, a, b):
        self.save_for_backward(a, b)
        return self.xp.mod(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        return (self.reduce(grad, 0),
                self.reduce(-grad * self.xp.floor_divide(a, b), 1) if self.needs_input_grad[1] else None)


class _Extremum(_Binary):
    """maximum / minimum with torch's gradient: a tie splits it evenly, a NaN passes it to both."""

    def compute(self, a, b):
        self.save_for_backward(a, b)
        return self.pick(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        xp = self.xp
        half = grad * xp.where(xp.equal(a, b), grad.dtype.type(0.5), grad.dtype.type(1))
        return (self.reduce(xp.where(self.loses(a, b), 0, half), 0) if self.needs_input_grad[0] else None,
                self.reduce(xp.where(self.loses(b, a), 0, half), 1) if self.needs_input_grad[1] else None)


class Maximum(_Extremum):
    def pick(self, a, b):
        return self.xp.maximum(a, b)

    def loses(self, a, b):
        return self.xp.less(a, b)


class Minimum(_Extremum):
    def pick(self, a, b):
        return self.xp.minimum(a, b)

    def loses(self, a, b):
        return self.xp.greater(a, b)


class _NoGradBinary(_Binary):
    differentiable = False


class FloorDivide(_NoGradBinary):
    def compute(self, a, b):
        return self.xp.floor_divide(a, b)


def _comparison(name, compute):
    return type(name, (_NoGradBinary,), {"compute": lambda self, a, b: compute(self.xp, a, b)})


Eq = _comparison("Eq", lambda xp, a, b: a == b)
Ne = _comparison("Ne", lambda xp, a, b: a != b)
Lt = _comparison("Lt", lambda xp, a, b: a < b)
Le = _comparison("Le", lambda xp, a, b: a <= b)
Gt = _comparison("Gt", lambda xp, a, b: a > b)
Ge = _comparison("Ge", lambda xp, a, b: a >= b)
BitwiseAnd = _comparison("BitwiseAnd", lambda xp, a, b: a & b)
BitwiseOr = _comparison("BitwiseOr", lambda xp, a, b: a | b)
BitwiseXor = _comparison("BitwiseXor", lambda xp, a, b: a ^ b)


class Clamp(Function):
    def forward(self, x, low=None, high=None):
        if low is None and high is None:
            raise RuntimeError("clamp: at least one of min and max must not be None")
        self.save_for_backward(x)
        self.low, self.high = low, high
        out = x if low is None else self.xp.maximum(x, low)
        return out if high is None else self.xp.minimum(out, high)

    def backward(self, grad):
        x, = self.saved_tensors
        inside = True
        if self.low is not None:
            inside = x >= self.low
        if self.high is not None:
            inside = inside & (x <= self.high)
        return grad * inside


class ClampTensor(Function):
    """clamp with a tensor bound (the other a number, a tensor or None): min(max(x, low), high),
    broadcast, with torch's gradients: to x inside [low, high], to low below it, to high above it
    and wherever low > high (where the result is high)."""

    def forward(self, x, low, high):
        self.meta = [(getattr(v, "shape", ()), getattr(v, "dtype", None)) for v in (x, low, high)]
        dtype = result_type(*(v for v in (x, low, high) if v is not None))
        x, low, high = (v.astype(dtype, copy=False) if hasattr(v, "astype") else v
                        for v in (x, low, high))
        self.save_for_backward(x, low, high)
        out = x if low is None else self.xp.maximum(x, low)
        return out if high is None else self.xp.minimum(out, high)

    def backward(self, grad):
        x, low, high = self.saved_tensors
        inside, below, above = True, None, None
        crossed = False if low is None or high is None else low > high
        if low is not None:
            inside, below = x >= low, (x < low) & ~crossed
        if high is not None:
            inside, above = inside & (x <= high), (x > high) | crossed
        return tuple(None if mask is None or not self.needs_input_grad[i] else
                     sum_to_shape(self.xp.where(mask, grad, grad.dtype.type(0)),
                                  self.meta[i][0]).astype(self.meta[i][1], copy=False)
                     for i, mask in enumerate((inside, below, above)))


class Where(Function):
    def forward(self, condition, a, b):
        self.meta = [(getattr(x, "shape", ()), getattr(x, "dtype", None)) for x in (a, b)]
        condition = condition.astype(bool, copy=False)
        self.save_for_backward(condition)
        a, b = _promote(a, b)
        try:
            return self.xp.where(condition, a, b)
        except ValueError:
            raise RuntimeError(f"where: condition {tuple(condition.shape)}, input "
                               f"{self.meta[0][0]} and other {self.meta[1][0]} cannot be broadcast "
                               "together") from None

    def backward(self, grad):
        condition, = self.saved_tensors
        zero = grad.dtype.type(0)
        grads = [None, None]
        for i, chosen in ((0, self.xp.where(condition, grad, zero)),
                          (1, self.xp.where(condition, zero, grad))):
            if self.needs_input_grad[i + 1]:
                shape, dtype = self.meta[i]
                grads[i] = sum_to_shape(chosen, shape).astype(dtype, copy=False)
        return None, grads[0], grads[1]


# ----- the public functions ----------------------------------------------------------------------
mul = register(Mul.apply, TORCH, METHOD, name="mul", aliases=("multiply",))
pow = register(Pow.apply, TORCH, METHOD, name="pow")
floor_divide = register(FloorDivide.apply, TORCH, METHOD, name="floor_divide")
remainder = register(Remainder.apply, TORCH, METHOD, name="remainder")
eq, ne, lt, le, gt, ge = (register(f.apply, TORCH, METHOD, name=f.__name__.lower())
                          for f in (Eq, Ne, Lt, Le, Gt, Ge))
bitwise_and = register(BitwiseAnd.apply, TORCH, METHOD, name="bitwise_and")
bitwise_or = register(BitwiseOr.apply, TORCH, METHOD, name="bitwise_or")
bitwise_xor = register(BitwiseXor.apply, TORCH, METHOD, name="bitwise_xor")


@op(TORCH, METHOD)
def add(input, other, *, alpha=1):
    return Add.apply(input, other if alpha == 1 else Mul.apply(other, alpha))


@op(TORCH, METHOD, aliases=("subtract",))
def sub(input, other, *, alpha=1):
    return Sub.apply(input, other if alpha == 1 else Mul.apply(other, alpha))


@op(TORCH, METHOD, aliases=("true_divide", "divide"))
def div(input, other, *, rounding_mode=None):
    if rounding_mode is None:
        return Div.apply(input, other)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor', "
                         f"got {rounding_mode!r}")
    return RoundedDiv.apply(input, other, rounding_mode=rounding_mode)


@op(TORCH, METHOD)
def square(input):
    return Mul.apply(input, input)


@op(TORCH, METHOD, aliases=("clip",))
def clamp(input, min=None, max=None):
    if isinstance(min, autograd.Tensor) or isinstance(max, autograd.Tensor):
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of min and max must not be None")
        return ClampTensor.apply(input, min, max)
    return Clamp.apply(input, low=min, high=max)


@op(TORCH)
def where(condition, input, other):
    return Where.apply(condition, input, other)


register(lambda self, condition, other: Where.apply(condition, self, other), METHOD, name="where")


def require_tensors(name, input, other):
    for operand in (input, other):
        if not isinstance(operand, autograd.Tensor):
            raise TypeError(f"{name}(): expected two Tensors, got {type(input).__name__} and "
                            f"{type(other).__name__}")


def _two_tensors(name, function):
    """torch's `name(input, other)` that takes two tensors, not Python numbers."""
    def public(input, other):
        require_tensors(name, input, other)
        return function.apply(input, other)
    public.__name__ = name
    return public


maximum = register(_two_tensors("maximum", Maximum), TORCH, METHOD, name="maximum")
minimum = register(_two_tensors("minimum", Minimum), TORCH, METHOD, name="minimum")


def _tensor_input(name, input):
    if not isinstance(input, autograd.Tensor):
        raise TypeError(f"{name}(): argument 'input' must be a Tensor, not {type(input).__name__}")


@op(TORCH, METHOD)
def clamp_min(input, min):
    _tensor_input("clamp_min", input)
    return clamp(input, min=min)


@op(TORCH, METHOD)
def clamp_max(input, max):
    _tensor_input("clamp_max", input)
    return clamp(input, max=max)
