"""Layer, group and instance normalisation: one Function standardises over trailing axes (of the
input, or of a grouped view of it), and the affine part is ordinary broadcasting ops. Also the
channel dropouts (dropout1d / 2d / 3d), which zero whole feature maps."""
import math
import warnings

from ..autograd import Function
from ..random import generator
from .elementwise import Mul
from .layers import batch_norm
from .registry import FUNCTIONAL, op


class Standardize(Function):
    """(x - mean) / sqrt(var + eps) over the last `count` axes, with the biased variance."""

    def forward(self, x, count, eps):
        xp = self.xp
        self.axes = tuple(range(x.ndim - count, x.ndim))
        mean = x.mean(axis=self.axes, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axis=self.axes, keepdims=True)
        invstd = (1 / xp.sqrt(var + x.dtype.type(eps))).astype(x.dtype)
        xhat = centred * invstd
        self.save_for_backward(xhat, invstd)
        return xhat

    def backward(self, grad):
        xhat, invstd = self.saved_tensors
        mean_grad = grad.mean(axis=self.axes, keepdims=True)
        mean_projection = (grad * xhat).mean(axis=self.axes, keepdims=True)
        return invstd * (grad - mean_grad - xhat * mean_projection)


def _check_float(name, input):
    if input.dtype.np.kind != "f":
        raise RuntimeError(f"{name} expected a floating point input, got {input.dtype}")


def _check_shapes(op_name, tensors, shape, input):
    """Each of `tensors` ({name: tensor or None}) must have `shape`."""
    for name, tensor in tensors.items():
        if tensor is not None and tuple(tensor.shape) != tuple(shape):
            raise RuntimeError(f"{op_name}: expected {name} of shape {tuple(shape)}, got "
                               f"{tuple(tensor.shape)} (input shape {tuple(input.shape)})")


def _affine(output, weight, bias):
    if weight is not None:
        output = output * weight
    return output if bias is None else output + bias


@op(FUNCTIONAL)
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """torch.nn.functional.layer_norm: standardise over the trailing `normalized_shape` dims."""
    if not isinstance(normalized_shape, (tuple, list)):
        raise TypeError(f"layer_norm(): argument 'normalized_shape' must be tuple of ints, not "
                        f"{type(normalized_shape).__name__}")
    normalized_shape = tuple(normalized_shape)
    count = len(normalized_shape)
    if count == 0 or input.ndim < count or tuple(input.shape[input.ndim - count:]) != normalized_shape:
        raise RuntimeError(f"layer_norm: given normalized_shape={list(normalized_shape)}, expected "
                           f"an input with shape [*, {', '.join(map(str, normalized_shape))}], but "
                           f"got input of size {tuple(input.shape)}")
    _check_float("layer_norm", input)
    _check_shapes("layer_norm", {"weight": weight, "bias": bias}, normalized_shape, input)
    return _affine(Standardize.apply(input, count=count, eps=eps), weight, bias)


def _channel_shaped(tensor, input):
    """A per-channel (C,) tensor shaped to broadcast over input (N, C, *)."""
    return None if tensor is None else tensor.reshape((-1,) + (1,) * (input.ndim - 2))


@op(FUNCTIONAL)
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """torch.nn.functional.group_norm: input (N, C, *), standardised over each group of C /
    num_groups channels and the spatial dims."""
    if input.ndim < 2:
        raise RuntimeError(f"group_norm expected an input with at least 2 dims (N, C, *), got shape "
                           f"{tuple(input.shape)}")
    channels = input.shape[1]
    if num_groups < 1 or channels % num_groups:
        raise RuntimeError(f"group_norm: expected the number of channels ({channels}) to be "
                           f"divisible by num_groups ({num_groups}), input shape "
                           f"{tuple(input.shape)}")
    _check_float("group_norm", input)
    _check_shapes("group_norm", {"weight": weight, "bias": bias}, (channels,), input)
    grouped = input.reshape(input.shape[0], num_groups, math.prod(input.shape[1:]) // num_groups)
    output = Standardize.apply(grouped, count=1, eps=eps).reshape(tuple(input.shape))
    return _affine(output, _channel_shaped(weight, input), _channel_shaped(bias, input))


def _update_running_stats(input, running_mean, running_var, momentum):
    """torch's rule: each instance's mean and unbiased variance, averaged over the batch."""
    x = input._data
    axes = tuple(range(2, x.ndim))
    count = math.prod(x.shape[2:])
    mean = x.mean(axis=axes)
    var = x.var(axis=axes) * (count / max(count - 1, 1))
    for stats, batch_value in ((running_mean, mean), (running_var, var)):
        if stats is not None:
            stats._data *= 1 - momentum
            stats._data += (momentum * batch_value.mean(axis=0)).astype(stats._data.dtype)


@op(FUNCTIONAL)
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """torch.nn.functional.instance_norm: input (N, C, *), each sample's channel standardised
    over the spatial dims; without use_input_stats, with the running statistics."""
    if input.ndim < 3:
        raise RuntimeError(f"instance_norm expected an input with at least 3 dims (N, C, *), got "
                           f"shape {tuple(input.shape)}")
    _check_float("instance_norm", input)
    channels = input.shape[1]
    _check_shapes("instance_norm", {"running_mean": running_mean, "running_var": running_var,
                                    "weight": weight, "bias": bias}, (channels,), input)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError("instance_norm: Expected running_mean and running_var to be defined "
                               "when use_input_stats is false")
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    if math.prod(input.shape[2:]) <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{tuple(input.shape)}")
    if running_mean is not None or running_var is not None:
        _update_running_stats(input, running_mean, running_var, momentum)
    output = Standardize.apply(input, count=input.ndim - 2, eps=eps)
    return _affine(output, _channel_shaped(weight, input), _channel_shaped(bias, input))


def _feature_dropout(input, p, training, inplace, batched=True):
    """Zero each (sample, channel) map of input (N, C, *), or each channel of an unbatched (C, *),
    with probability p; scale the rest by 1 / (1 - p)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    dtype = input._data.dtype
    lead = 2 if batched else 1
    maps = tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)
    keep = generator(input._backend).random(maps, dtype=dtype) >= p
    mask = keep.astype(dtype) * dtype.type(1 / (1 - p) if p < 1 else 0)
    if inplace:
        return input._inplace(Mul.apply, mask)
    return Mul.apply(input, mask)


def _channel_dropout(name, input, p, training, inplace, spatial):
    """dropout1d / dropout3d: an input with `spatial` dims after the channels, batched or not."""
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"{name}: Expected {spatial + 1}D or {spatial + 2}D input, but received "
                           f"a {input.ndim}D input of shape {tuple(input.shape)}")
    return _feature_dropout(input, p, training, inplace, batched=input.ndim == spatial + 2)


@op(FUNCTIONAL)
def dropout1d(input, p=0.5, training=True, inplace=False):
    """Channel dropout of (N, C, L) or (C, L)."""
    return _channel_dropout("dropout1d", input, p, training, inplace, spatial=1)


@op(FUNCTIONAL)
def dropout2d(input, p=0.5, training=True, inplace=False):
    """Channel dropout of (N, C, H, W); as torch, a 3-D input is read as (N, C, L)."""
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      f"deprecated; dropout2d expects a 3-D or 4-D input", stacklevel=2)
    elif input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L)",
                      stacklevel=2)
    return _feature_dropout(input, p, training, inplace)


@op(FUNCTIONAL)
def dropout3d(input, p=0.5, training=True, inplace=False):
    """Channel dropout of (N, C, D, H, W) or (C, D, H, W)."""
    return _channel_dropout("dropout3d", input, p, training, inplace, spatial=3)
