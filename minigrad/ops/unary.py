"""Unary elementwise math, each op one `unary(...)` line: its rule on arrays and its derivative.

`unary` builds the Function, the public function `minigrad.NAME`, the method `Tensor.NAME` and the
in-place method `Tensor.NAME_` from the rule; an op with arguments (round's decimals, nan_to_num's
replacements) passes them to both rules as keywords. NumPy has no error function: the erf family's
rules take the device's kernel table in place of xp (`kernels=True`)."""
import inspect
import types

import numpy as np

from ..autograd import Function
from ..dtypes import DEFAULT_FLOAT
from .registry import METHOD, TORCH, register

LN2, LN10 = float(np.log(2)), float(np.log(10))
TWO_OVER_SQRT_PI = float(2 / np.sqrt(np.pi))


try:  # NumPy's error state, set directly: np.errstate costs microseconds, ten times an op on small arrays
    from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj
except ImportError:  # another NumPy layout: fall back to np.errstate
    _extobj_contextvar = None
_quiet_states = {}  # NumPy's error state -> the same state ignoring divide, invalid and over


def _quieted(state):
    """`state` ignoring divide, invalid and over, made once per state."""
    if len(_quiet_states) > 64:  # error states made by many np.errstate blocks
        _quiet_states.clear()
    quiet_state = _quiet_states[state] = _make_extobj(divide="ignore", invalid="ignore",
                                                      over="ignore")
    _quiet_states[quiet_state] = quiet_state
    return quiet_state


if _extobj_contextvar is None:
    def _enter_quiet():
        state = np.errstate(divide="ignore", invalid="ignore", over="ignore")
        state.__enter__()
        return state

    def _leave_quiet(state):
        state.__exit__(None, None, None)
else:
    def _enter_quiet():
        """Ignore divide, invalid and over; returns what _leave_quiet needs to restore the state."""
        state = _extobj_contextvar.get()
        return _extobj_contextvar.set(_quiet_states.get(state) or _quieted(state))

    _leave_quiet = _extobj_contextvar.reset


def quiet(method):
    """Run a forward whose math may give inf or nan without NumPy's warnings (backward runs so always),
    as torch does (x / 0, log(0), sqrt(-1), exp overflow)."""
    def quiet_method(self, *args, **kwargs):
        token = _enter_quiet()
        try:
            return method(self, *args, **kwargs) if kwargs else method(self, *args)
        finally:
            _leave_quiet(token)
    quiet_method.__name__ = method.__name__
    return quiet_method


def as_float(x):
    """Integer and bool inputs of math functions compute in the default float dtype, as in torch."""
    return x if x.dtype.kind == "f" else x.astype(DEFAULT_FLOAT.np)


class UnaryFunction(Function):
    """y = rule(xp, x); backward: derivative(xp, saved, grad) with saved = x or y."""
    params = types.MappingProxyType({})  # the op's arguments, when it has some
    warns = True  # False: the forward runs without `quiet` (unary_function)

    def backward(self, grad):
        saved, = self.saved_tensors
        if self.params:
            return self.derivative(self.xp, saved, grad, **self.params)
        return self.derivative(self.xp, saved, grad)


def _unary_forward(rule, saves, keep_dtype, kernels, differentiable, warns):
    """The forward of one unary op, its options bound in: every unary op's call runs it, so it
    looks up no attribute and calls no wrapper it can do without."""
    saves_input = saves == "input"

    def forward(self, x, **params):
        if not keep_dtype and x.dtype.kind != "f":
            x = as_float(x)
        xp = self.kernels if kernels else self.xp
        if params:
            self.params = params
        token = _enter_quiet() if warns else None
        try:
            out = rule(xp, x, **params) if params else rule(xp, x)  # ** alone costs a copy
        finally:
            if warns:
                _leave_quiet(token)
        if keep_dtype and out.dtype != x.dtype and out.dtype != np.bool_:
            out = out.astype(x.dtype)  # NumPy's floor and trunc of integers are floats
        if differentiable:
            self._saved = (x if saves_input else out,)
        return out
    return forward


def unary_function(name, rule, derivative=None, *, saves="input", keep_dtype=False, kernels=False,
                   warns=True):
    """The Function of rule(xp, x, **params) -> y and derivative(xp, x or y, grad, **params) -> the
    gradient of x (None: not differentiable, as comparisons). warns=False: the rule raises no
    floating-point flag for any input, inf and nan included, so its forward skips `quiet`."""
    differentiable = derivative is not None
    body = {"forward": _unary_forward(rule, saves, keep_dtype, kernels, differentiable, warns),
            "derivative": staticmethod(derivative or (lambda *a, **k: None)),
            "differentiable": differentiable, "warns": warns}
    return type(name.title().replace("_", ""), (UnaryFunction,), body)


def unary(name, rule, derivative=None, *, saves="input", keep_dtype=False, kernels=False,
          warns=True, inplace=True, aliases=()):
    """Register the op `name` (see unary_function). The rule's parameters after x are the op's
    arguments, positional or keyword."""
    function = unary_function(name, rule, derivative, saves=saves, keep_dtype=keep_dtype,
                              kernels=kernels, warns=warns)
    public = function.apply
    arguments = list(inspect.signature(rule).parameters)[2:]
    if arguments:
        def public(input, *args, **kwargs):
            kwargs.update(zip(arguments, args))
            return function.apply(input, **kwargs)
        public.__name__ = name
    register(public, TORCH, METHOD, name=name, aliases=aliases)
    if inplace:
        register(lambda self, *args, **kwargs: self._inplace(public, *args, **kwargs), METHOD,
                 name=name + "_", aliases=tuple(alias + "_" for alias in aliases))
    return public


def zero(xp, x, grad, **params):
    return xp.zeros_like(grad)


def _logit(xp, x, eps=None):
    if eps is not None:
        x = xp.clip(x, x.dtype.type(eps), x.dtype.type(1 - eps))
    return xp.log(x / (1 - x))


def _logit_derivative(xp, x, grad, eps=None):
    """torch's: zero outside [eps, 1 - eps] when eps is given, else nan outside [0, 1]."""
    slope = grad / (x * (1 - x))
    if eps is None:
        return xp.where((x < 0) | (x > 1), grad.dtype.type(np.nan), slope)
    return xp.where((x < eps) | (x > 1 - eps), grad.dtype.type(0), slope)


def _sinc_derivative(xp, x, grad):
    """(cos(pi x) - sinc(x)) / x, and 0 at x = 0 where sinc is flat."""
    pi_x = x * x.dtype.type(np.pi)
    slope = (xp.cos(pi_x) - xp.sinc(x)) / xp.where(x == 0, x.dtype.type(1), x)
    return grad * xp.where(x == 0, x.dtype.type(0), slope)


def _nan_to_num(xp, x, nan=0.0, posinf=None, neginf=None):
    return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


neg = unary("neg", lambda xp, x: -x, lambda xp, x, g: -g, keep_dtype=True,
            aliases=("negative",), warns=False)
positive = unary("positive", lambda xp, x: x, lambda xp, x, g: g, keep_dtype=True, warns=False)
abs = unary("abs", lambda xp, x: xp.abs(x), lambda xp, x, g: g * xp.sign(x), keep_dtype=True,
            aliases=("absolute",), warns=False)
sign = unary("sign", lambda xp, x: xp.sign(x), zero, keep_dtype=True, aliases=("sgn",), warns=False)
floor = unary("floor", lambda xp, x: xp.floor(x), zero, keep_dtype=True, warns=False)
ceil = unary("ceil", lambda xp, x: xp.ceil(x), zero, keep_dtype=True, warns=False)
trunc = unary("trunc", lambda xp, x: xp.trunc(x), zero, keep_dtype=True,
              aliases=("fix",), warns=False)
round = unary("round", lambda xp, x, decimals=0: xp.round(x, decimals), zero, keep_dtype=True)
frac = unary("frac", lambda xp, x: x - xp.trunc(x), lambda xp, x, g: g)
exp = unary("exp", lambda xp, x: xp.exp(x), lambda xp, y, g: g * y, saves="output")
exp2 = unary("exp2", lambda xp, x: xp.exp2(x), lambda xp, y, g: g * y * y.dtype.type(LN2),
             saves="output")
expm1 = unary("expm1", lambda xp, x: xp.expm1(x), lambda xp, y, g: g * (y + 1), saves="output")
log = unary("log", lambda xp, x: xp.log(x), lambda xp, x, g: g / x)
log2 = unary("log2", lambda xp, x: xp.log2(x), lambda xp, x, g: g / (x * x.dtype.type(LN2)))
log10 = unary("log10", lambda xp, x: xp.log10(x), lambda xp, x, g: g / (x * x.dtype.type(LN10)))
log1p = unary("log1p", lambda xp, x: xp.log1p(x), lambda xp, x, g: g / (x + 1))
sqrt = unary("sqrt", lambda xp, x: xp.sqrt(x), lambda xp, y, g: g / (2 * y), saves="output")
rsqrt = unary("rsqrt", lambda xp, x: 1 / xp.sqrt(x), lambda xp, y, g: g * y * y * y * y.dtype.type(-0.5),
              saves="output")
reciprocal = unary("reciprocal", lambda xp, x: 1 / x, lambda xp, y, g: -g * y * y, saves="output")
sin = unary("sin", lambda xp, x: xp.sin(x), lambda xp, x, g: g * xp.cos(x))
cos = unary("cos", lambda xp, x: xp.cos(x), lambda xp, x, g: -g * xp.sin(x))
tan = unary("tan", lambda xp, x: xp.tan(x), lambda xp, y, g: g * (1 + y * y), saves="output")
asin = unary("asin", lambda xp, x: xp.arcsin(x), lambda xp, x, g: g / xp.sqrt(1 - x * x),
             aliases=("arcsin",))
acos = unary("acos", lambda xp, x: xp.arccos(x), lambda xp, x, g: -g / xp.sqrt(1 - x * x),
             aliases=("arccos",))
atan = unary("atan", lambda xp, x: xp.arctan(x), lambda xp, x, g: g / (1 + x * x), aliases=("arctan",))
sinh = unary("sinh", lambda xp, x: xp.sinh(x), lambda xp, x, g: g * xp.cosh(x))
cosh = unary("cosh", lambda xp, x: xp.cosh(x), lambda xp, x, g: g * xp.sinh(x))
tanh = unary("tanh", lambda xp, x: xp.tanh(x), lambda xp, y, g: g * (1 - y * y),
             saves="output", warns=False)
asinh = unary("asinh", lambda xp, x: xp.arcsinh(x), lambda xp, x, g: g / xp.sqrt(x * x + 1),
              aliases=("arcsinh",))
acosh = unary("acosh", lambda xp, x: xp.arccosh(x), lambda xp, x, g: g / xp.sqrt(x * x - 1),
              aliases=("arccosh",))
atanh = unary("atanh", lambda xp, x: xp.arctanh(x), lambda xp, x, g: g / (1 - x * x),
              aliases=("arctanh",))
deg2rad = unary("deg2rad", lambda xp, x: xp.deg2rad(x), lambda xp, x, g: g * g.dtype.type(np.pi / 180))
rad2deg = unary("rad2deg", lambda xp, x: xp.rad2deg(x), lambda xp, x, g: g * g.dtype.type(180 / np.pi))
nan_to_num = unary("nan_to_num", _nan_to_num,
                   lambda xp, x, g, **params: xp.where(xp.isfinite(x), g, g.dtype.type(0)))
erf = unary("erf", lambda kernels, x: kernels.erf(x),
            lambda xp, x, g: g * xp.exp(-x * x) * x.dtype.type(TWO_OVER_SQRT_PI), kernels=True)
erfc = unary("erfc", lambda kernels, x: kernels.erfc(x),
             lambda xp, x, g: g * xp.exp(-x * x) * x.dtype.type(-TWO_OVER_SQRT_PI), kernels=True)
erfinv = unary("erfinv", lambda kernels, x: kernels.erfinv(x),
               lambda xp, y, g: g * xp.exp(y * y) * y.dtype.type(1 / TWO_OVER_SQRT_PI), saves="output",
               kernels=True)
logit = unary("logit", _logit, _logit_derivative)
sinc = unary("sinc", lambda xp, x: xp.sinc(x), _sinc_derivative)
isnan = unary("isnan", lambda xp, x: xp.isnan(x), keep_dtype=True, inplace=False, warns=False)
isinf = unary("isinf", lambda xp, x: xp.isinf(x), keep_dtype=True, inplace=False, warns=False)
isposinf = unary("isposinf", lambda xp, x: xp.isposinf(x), keep_dtype=True,
                 inplace=False, warns=False)
isneginf = unary("isneginf", lambda xp, x: xp.isneginf(x), keep_dtype=True,
                 inplace=False, warns=False)
isfinite = unary("isfinite", lambda xp, x: xp.isfinite(x), keep_dtype=True,
                 inplace=False, warns=False)
signbit = unary("signbit", lambda xp, x: xp.signbit(x), keep_dtype=True, inplace=False, warns=False)
logical_not = unary("logical_not", lambda xp, x: xp.logical_not(x), keep_dtype=True)
bitwise_not = unary("bitwise_not", lambda xp, x: ~x, keep_dtype=True)
