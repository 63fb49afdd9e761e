"""Activations: torch.nn.functional's (and torch's) nonlinearities, each registered where torch has it.

The elementwise ones are `unary_function` rules on arrays, as in unary.py; their functional forms
take torch's arguments (and inplace=, where torch has it)."""
import math

from ..autograd import Function
from .dims import normalize_dim, sum_to_shape
from .reduce import softmax
from .registry import FUNCTIONAL, METHOD, TORCH, op, register
from .unary import as_float, tanh, unary_function

register(tanh, FUNCTIONAL, name="tanh")


def _sigmoid(xp, x):
    return 1 / (1 + xp.exp(-x))  # below -88 exp overflows to inf: 1 / inf = 0, the limit (quiet)


class Sigmoid(Function):
    def forward(self, x):
        out = self.kernels.sigmoid_forward(as_float(x))
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        out, = self.saved_tensors
        return self.kernels.sigmoid_backward(grad, out)


class Relu(Function):
    def forward(self, x):
        out = self.kernels.relu_forward(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        out, = self.saved_tensors
        return self.kernels.relu_backward(grad, out)


sigmoid = register(Sigmoid.apply, TORCH, FUNCTIONAL, METHOD, name="sigmoid")
register(Relu.apply, TORCH, METHOD, name="relu")


@op(FUNCTIONAL)
def relu(input, inplace=False):
    return input.relu_() if inplace else Relu.apply(input)


class LeakyRelu(Function):
    def forward(self, x, slope):
        self.save_for_backward(x)
        self.slope = slope
        return self.xp.where(x > 0, x, x * x.dtype.type(slope))

    def backward(self, grad):
        x, = self.saved_tensors
        return self.xp.where(x > 0, grad, grad * grad.dtype.type(self.slope))


@op(FUNCTIONAL)
def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        return input._inplace(LeakyRelu.apply, slope=negative_slope)
    return LeakyRelu.apply(input, slope=negative_slope)


def _softplus(xp, x, beta=1.0, threshold=20.0):
    scaled = x * x.dtype.type(beta)
    # log(1 + e^t) = max(t, 0) + log1p(e^-|t|) never overflows; above threshold torch returns x
    smooth = (xp.maximum(scaled, 0) + xp.log1p(xp.exp(-xp.abs(scaled)))) / x.dtype.type(beta)
    return xp.where(scaled > threshold, x, smooth)


def _mish_derivative(xp, x, g):
    t = xp.tanh(_softplus(xp, x))
    return g * (t + x * (1 - t * t) * _sigmoid(xp, x))


def _hardtanh_derivative(xp, x, g, min_val=-1.0, max_val=1.0):
    return xp.where((x > min_val) & (x < max_val), g, g.dtype.type(0))


def _hardswish_derivative(xp, x, g):
    middle = g * (x / x.dtype.type(3) + x.dtype.type(0.5))
    return xp.where(x < -3, g.dtype.type(0), xp.where(x <= 3, middle, g))


def _elu(xp, x, alpha=1.0, scale=1.0, input_scale=1.0):
    """torch's elu family: scale * (x if x > 0 else alpha (e^(input_scale x) - 1)); selu and
    celu are two settings of it."""
    negative = x.dtype.type(alpha) * xp.expm1(x * x.dtype.type(input_scale))
    return x.dtype.type(scale) * xp.where(x > 0, x, negative)


def _elu_derivative(xp, x, g, alpha=1.0, scale=1.0, input_scale=1.0):
    negative = x.dtype.type(alpha * input_scale) * xp.exp(x * x.dtype.type(input_scale))
    return g * x.dtype.type(scale) * xp.where(x > 0, x.dtype.type(1), negative)


def _relu6(xp, x):
    return xp.clip(x, x.dtype.type(0), x.dtype.type(6))


def _shrink_mask(xp, x, lambd):
    return (x >= -lambd) & (x <= lambd)


SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

Silu = unary_function("silu", lambda xp, x: x * _sigmoid(xp, x),
                      lambda xp, x, g: g * _sigmoid(xp, x) * (1 + x * (1 - _sigmoid(xp, x))))
Mish = unary_function("mish", lambda xp, x: x * xp.tanh(_softplus(xp, x)), _mish_derivative)
Softplus = unary_function("softplus", _softplus, lambda xp, x, g, beta=1.0, threshold=20.0: xp.where(
    x * x.dtype.type(beta) > threshold, g, g * _sigmoid(xp, x * x.dtype.type(beta))))
Elu = unary_function("elu", _elu, _elu_derivative)
Selu = unary_function("selu", lambda xp, x: _elu(xp, x, SELU_ALPHA, SELU_SCALE),
                      lambda xp, x, g: _elu_derivative(xp, x, g, SELU_ALPHA, SELU_SCALE))
Celu = unary_function("celu", lambda xp, x, alpha=1.0: _elu(xp, x, alpha, 1.0, 1 / alpha),
                      lambda xp, x, g, alpha=1.0: _elu_derivative(xp, x, g, alpha, 1.0, 1 / alpha))
Hardtanh = unary_function("hardtanh", lambda xp, x, min_val=-1.0, max_val=1.0: xp.clip(
    x, x.dtype.type(min_val), x.dtype.type(max_val)), _hardtanh_derivative)
Relu6 = unary_function("relu6", _relu6, lambda xp, x, g: _hardtanh_derivative(xp, x, g, 0.0, 6.0))
Hardswish = unary_function("hardswish", lambda xp, x: x * _relu6(xp, x + 3) / x.dtype.type(6),
                           _hardswish_derivative)
Hardsigmoid = unary_function("hardsigmoid", lambda xp, x: _relu6(xp, x + 3) / x.dtype.type(6),
                             lambda xp, x, g: xp.where((x > -3) & (x < 3), g / g.dtype.type(6),
                                                       g.dtype.type(0)))
Logsigmoid = unary_function("logsigmoid", lambda xp, x: -_softplus(xp, -x),
                            lambda xp, x, g: g * _sigmoid(xp, -x))
Softsign = unary_function("softsign", lambda xp, x: x / (1 + xp.abs(x)),
                          lambda xp, x, g: g / ((1 + xp.abs(x)) * (1 + xp.abs(x))))
Tanhshrink = unary_function("tanhshrink", lambda xp, x: x - xp.tanh(x),
                            lambda xp, x, g: g * xp.tanh(x) * xp.tanh(x))
Softshrink = unary_function(
    "softshrink", lambda xp, x, lambd=0.5: xp.where(_shrink_mask(xp, x, lambd), x.dtype.type(0),
                                                     x - xp.sign(x) * x.dtype.type(lambd)),
    lambda xp, x, g, lambd=0.5: xp.where(_shrink_mask(xp, x, lambd), g.dtype.type(0), g))
Hardshrink = unary_function(
    "hardshrink", lambda xp, x, lambd=0.5: xp.where(_shrink_mask(xp, x, lambd), x.dtype.type(0), x),
    lambda xp, x, g, lambd=0.5: xp.where(_shrink_mask(xp, x, lambd), g.dtype.type(0), g))
Threshold = unary_function(
    "threshold", lambda xp, x, threshold, value: xp.where(x > threshold, x, x.dtype.type(value)),
    lambda xp, x, g, threshold, value: xp.where(x > threshold, g, g.dtype.type(0)), keep_dtype=True)


def _apply(function, input, inplace=False, **params):
    return input._inplace(function.apply, **params) if inplace else function.apply(input, **params)


@op(FUNCTIONAL)
def silu(input, inplace=False):
    return _apply(Silu, input, inplace)


@op(FUNCTIONAL)
def mish(input, inplace=False):
    return _apply(Mish, input, inplace)


@op(FUNCTIONAL)
def softplus(input, beta=1.0, threshold=20.0):
    return Softplus.apply(input, beta=beta, threshold=threshold)


@op(FUNCTIONAL)
def elu(input, alpha=1.0, inplace=False):
    return _apply(Elu, input, inplace, alpha=alpha)


@op(FUNCTIONAL)
def selu(input, inplace=False):
    return _apply(Selu, input, inplace)


@op(FUNCTIONAL)
def celu(input, alpha=1.0, inplace=False):
    return _apply(Celu, input, inplace, alpha=alpha)


@op(FUNCTIONAL)
def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _apply(Hardtanh, input, inplace, min_val=min_val, max_val=max_val)


@op(FUNCTIONAL)
def relu6(input, inplace=False):
    return _apply(Relu6, input, inplace)


@op(FUNCTIONAL)
def hardswish(input, inplace=False):
    return _apply(Hardswish, input, inplace)


@op(FUNCTIONAL)
def hardsigmoid(input, inplace=False):
    return _apply(Hardsigmoid, input, inplace)


@op(FUNCTIONAL)
def threshold(input, threshold, value, inplace=False):
    return _apply(Threshold, input, inplace, threshold=threshold, value=value)


register(Logsigmoid.apply, FUNCTIONAL, name="logsigmoid")
register(Softsign.apply, FUNCTIONAL, name="softsign")
register(Tanhshrink.apply, FUNCTIONAL, name="tanhshrink")


@op(FUNCTIONAL)
def softshrink(input, lambd=0.5):
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be in range [0, max of the input dtype "
                           f"{input.dtype}], but found {lambd}")
    return Softshrink.apply(input, lambd=lambd)


register(lambda input, lambd=0.5: Hardshrink.apply(input, lambd=lambd), TORCH, FUNCTIONAL, METHOD,
         name="hardshrink")
register(Selu.apply, TORCH, name="selu")
register(lambda input, alpha=1.0: Celu.apply(input, alpha=alpha), TORCH, name="celu")
register(lambda input, threshold, value: Threshold.apply(input, threshold=threshold, value=value),
         TORCH, name="threshold")


def _in_place(function):
    """torch's NAME_ form of an activation: NAME with inplace=True."""
    return lambda input, *args, **kwargs: function(input, *args, inplace=True, **kwargs)


for _function in (selu, celu, threshold):
    register(_in_place(_function), TORCH, FUNCTIONAL, name=_function.__name__ + "_")
for _function in (elu, hardtanh):
    register(_in_place(_function), FUNCTIONAL, name=_function.__name__ + "_")


GELU_TANH_SCALE, GELU_TANH_CUBIC = math.sqrt(2 / math.pi), 0.044715


class Gelu(Function):
    """x Phi(x), Phi the normal CDF (through the erf kernel), or torch's tanh approximation."""

    def forward(self, x, approximate):
        x = as_float(x)
        self.save_for_backward(x)
        self.approximate = approximate
        if approximate == "tanh":
            return x * x.dtype.type(0.5) * (1 + self.xp.tanh(self._inner(x)))
        return x * self._cdf(x)

    def _inner(self, x):
        return x.dtype.type(GELU_TANH_SCALE) * (x + x.dtype.type(GELU_TANH_CUBIC) * x * x * x)

    def _cdf(self, x):
        erf = self.kernels.erf(x * x.dtype.type(1 / math.sqrt(2))).reshape(x.shape)
        return x.dtype.type(0.5) * (1 + erf)

    def backward(self, grad):
        x, = self.saved_tensors
        xp, half = self.xp, x.dtype.type(0.5)
        if self.approximate == "tanh":
            t = xp.tanh(self._inner(x))
            inner_slope = x.dtype.type(GELU_TANH_SCALE) * (1 + x.dtype.type(3 * GELU_TANH_CUBIC) * x * x)
            return grad * (half * (1 + t) + half * x * (1 - t * t) * inner_slope)
        density = xp.exp(-half * x * x) * x.dtype.type(1 / math.sqrt(2 * math.pi))
        return grad * (self._cdf(x) + x * density)


@op(FUNCTIONAL)
def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate argument must be either none or tanh, got "
                           f"{approximate!r}")
    return Gelu.apply(input, approximate=approximate)


class Prelu(Function):
    """max(0, x) + weight min(0, x), one weight per channel (dim 1) or one for all."""

    def forward(self, x, weight):
        self.weight_shape = weight.shape
        # one weight broadcasts as a scalar; C weights line up with dim 1
        shape = () if weight.size == 1 else (1, weight.size) + (1,) * (x.ndim - 2)
        weight = weight.reshape(shape)
        self.save_for_backward(x, weight)
        return self.xp.where(x > 0, x, weight * x)

    def backward(self, grad):
        x, weight = self.saved_tensors
        xp, zero = self.xp, grad.dtype.type(0)
        grad_x = xp.where(x > 0, grad, weight * grad) if self.needs_input_grad[0] else None
        grad_weight = None
        if self.needs_input_grad[1]:
            grad_weight = sum_to_shape(xp.where(x > 0, zero, x * grad), weight.shape)
            grad_weight = grad_weight.reshape(self.weight_shape)
        return grad_x, grad_weight


@op(TORCH, FUNCTIONAL, METHOD)
def prelu(input, weight):
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: expected weight to be a scalar or 1D tensor, got shape "
                           f"{tuple(weight.shape)}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() not in (1, channels):
        raise RuntimeError(f"prelu: {weight.numel()} weights for input of shape {tuple(input.shape)} "
                           f"({channels} channels); expected 1 or {channels}")
    return Prelu.apply(input, weight)


class Glu(Function):
    """a sigmoid(b), with a and b the two halves of the input along `dim`."""

    def forward(self, x, dim):
        self.dim = dim
        a, b = self.xp.split(x, 2, axis=dim)
        gate = _sigmoid(self.xp, b)
        self.save_for_backward(a, gate)
        return a * gate

    def backward(self, grad):
        a, gate = self.saved_tensors
        return self.xp.concatenate([grad * gate, grad * a * gate * (1 - gate)], axis=self.dim)


@op(FUNCTIONAL)
def glu(input, dim=-1):
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    dim = normalize_dim(dim, input.ndim)
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size "
                           f"{input.shape[dim]} (input shape {tuple(input.shape)})")
    return Glu.apply(input, dim=dim)


@op(FUNCTIONAL)
def softmin(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:  # torch's implicit choice, kept for old code
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return softmax(-(input if dtype is None else input.to(dtype)), dim)
