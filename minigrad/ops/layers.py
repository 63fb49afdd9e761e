"""The ops under nn's layers: pad, dropout, linear, batch_norm."""
from ..autograd import Function
from ..random import generator
from .elementwise import Mul
from .registry import FUNCTIONAL, op


class Pad(Function):
    def forward(self, x, widths, value):
        self.slices = tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))
        return self.xp.pad(x, widths, mode="constant", constant_values=value)

    def backward(self, grad):
        return grad[self.slices]


def _source_index(mode, size, before, after, xp):
    """For each output position along an axis, the input position it copies."""
    if mode == "circular":  # as torch: negative widths crop first, then the cropped span wraps
        start, stop = max(-before, 0), size - max(-after, 0)
        return xp.arange(-max(before, 0), stop - start + max(after, 0)) % (stop - start) + start
    positions = xp.arange(-before, size + after)
    if mode == "reflect":  # mirrored about the edge elements, which are not repeated
        period = 2 * (size - 1)
        folded = xp.abs(positions) % period if period else positions * 0
        return xp.where(folded < size, folded, period - folded)
    return xp.clip(positions, 0, size - 1)  # replicate


class IndexPad(Function):
    """reflect, replicate and circular padding (and their negative, cropping, forms): a gather
    along each padded axis; the backward pass sums each output position's gradient back into
    the input position it copied (a product with the one-hot copy matrix)."""

    def forward(self, x, mode, widths):
        xp = self.xp
        self.indices = []
        for axis, (before, after) in widths:
            index = _source_index(mode, x.shape[axis], before, after, xp)
            self.indices.append((axis, index, x.shape[axis]))
            x = xp.take(x, index, axis=axis)
        return x

    def backward(self, grad):
        xp = self.xp
        for axis, index, size in reversed(self.indices):
            copies = (index[:, None] == xp.arange(size)[None, :]).astype(grad.dtype)
            grad = xp.moveaxis(xp.tensordot(grad, copies, axes=([axis], [0])), -1, axis)
        return grad


@op(FUNCTIONAL)
def pad(input, pad, mode="constant", value=0.0):
    """torch.nn.functional.pad: `pad` lists (before, after) pairs from the last dim backwards;
    a negative width crops. Modes: constant, reflect, replicate, circular."""
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise RuntimeError(f"pad: padding length {len(pad)} must be even and at most twice the "
                           f"number of dimensions of the input (shape {tuple(input.shape)})")
    pairs = [(input.ndim - 1 - i, (pad[2 * i], pad[2 * i + 1])) for i in range(len(pad) // 2)]
    for axis, (before, after) in pairs:
        kept = input.shape[axis] + min(before, 0) + min(after, 0)  # what the crop leaves
        if input.shape[axis] + before + after < 0 or (mode == "circular" and kept <= 0):
            raise RuntimeError(f"pad: padding {pad} leaves nothing of dimension {axis} (size "
                               f"{input.shape[axis]}) of the input (shape {tuple(input.shape)})")
    if mode == "constant":
        crop = [slice(None)] * input.ndim
        widths = [(0, 0)] * input.ndim
        for axis, (before, after) in pairs:
            crop[axis] = slice(max(-before, 0), input.shape[axis] - max(-after, 0))
            widths[axis] = (max(before, 0), max(after, 0))
        if any(width < 0 for width in pad):
            input = input[tuple(crop)]
        return Pad.apply(input, widths=tuple(widths), value=value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode must be 'constant', 'reflect', 'replicate' or "
                                  f"'circular', got {mode!r}")
    if not 1 <= len(pairs) <= 3 or input.ndim - len(pairs) not in (1, 2):
        raise NotImplementedError(f"pad: mode={mode!r} pads the last 1, 2 or 3 dimensions of an "
                                  f"input with one or two more (batch, channels), got padding "
                                  f"{pad} for shape {tuple(input.shape)}")
    for axis, (before, after) in pairs:
        size = input.shape[axis]
        limit = size - 1 if mode == "reflect" else size
        if mode != "replicate" and max(before, after) > limit:
            raise RuntimeError(f"pad: mode={mode!r} needs padding at most {limit} for dimension "
                               f"{axis} of size {size} (shape {tuple(input.shape)}), got {pad}")
    return IndexPad.apply(input, mode=mode, widths=tuple(pairs))


@op(FUNCTIONAL)
def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1 / (1 - p), in training only."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    backend = input._backend
    keep = generator(backend).random(tuple(input.shape), dtype=input._data.dtype) >= p
    mask = keep.astype(input._data.dtype) * input._data.dtype.type(1 / (1 - p) if p < 1 else 0)
    if inplace:
        return input._inplace(Mul.apply, mask)
    return Mul.apply(input, mask)


class Linear(Function):
    """x @ weight.T + bias with the batch dims flattened into one GEMM each way."""
    torch_name = "Addmm"

    def forward(self, x, weight, bias):
        self.x_shape, self.has_bias = x.shape, bias is not None
        x2 = x.reshape(-1, x.shape[-1])
        self.save_for_backward(x2, weight)
        out = self.kernels.matmul(x2, weight.T)
        if bias is not None:
            out += bias
        return out.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, grad):
        x2, weight = self.saved_tensors
        grad2 = grad.reshape(-1, grad.shape[-1])
        grad_x = grad_w = grad_b = None
        if self.needs_input_grad[0]:
            grad_x = self.kernels.matmul(grad2, weight).reshape(self.x_shape)
        if self.needs_input_grad[1]:
            grad_w = self.kernels.matmul(grad2.T, x2)
        if self.has_bias and self.needs_input_grad[2]:
            grad_b = grad2.sum(axis=0)
        return grad_x, grad_w, grad_b


@op(FUNCTIONAL)
def linear(input, weight, bias=None):
    if input.ndim == 0 or weight.ndim != 2 or input.shape[-1] != weight.shape[1]:
        rows = input.numel() // input.shape[-1] if input.ndim and input.shape[-1] else 0
        cols = input.shape[-1] if input.ndim else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{cols} and "
                           f"{'x'.join(str(n) for n in reversed(tuple(weight.shape)))}) "
                           f"(input shape {tuple(input.shape)}, weight shape {tuple(weight.shape)})")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise RuntimeError(f"linear expected a bias of shape ({weight.shape[0]},), got "
                           f"{tuple(bias.shape)}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"linear: input dtype {input.dtype} and weight dtype {weight.dtype} differ")
    return Linear.apply(input, weight, bias)


class BatchNorm(Function):
    """Normalise over every axis but the channels (axis 1). In training it uses the batch's
    statistics and updates the running ones in place; in eval it uses the running ones.

    Training mode runs the device's fused kernels (batch_norm_forward / batch_norm_backward) on the
    input viewed as (N, C, rest, 1): one pass over the batch instead of the xp composition's several;
    with `relu` (training only: nn.Sequential's BatchNorm, ReLU) they apply the ReLU too.
    Eval mode keeps the xp form (a per-channel affine map)."""
    torch_name = "NativeBatchNorm"

    def forward(self, x, gamma, beta, running_mean, running_var, training, momentum, eps,
                relu=False):
        xp = self.xp
        axes = (0,) + tuple(range(2, x.ndim))
        shape = [1] * x.ndim
        shape[1] = x.shape[1]
        self.axes, self.shape, self.training = axes, shape, training
        if training:
            x4 = x.reshape(x.shape[0], x.shape[1], -1, 1)
            g = xp.ones(x.shape[1], dtype=x.dtype) if gamma is None else gamma
            b = xp.zeros(x.shape[1], dtype=x.dtype) if beta is None else beta
            y, mean, invstd = self.kernels.batch_norm_forward(x4, g, b, eps, running_mean,
                                                              running_var, momentum, relu)
            out = y.reshape(x.shape)
            self.save_for_backward(x4, mean, invstd, g, out if relu else None)
            return out
        mean, var = running_mean, running_var
        invstd = (1 / xp.sqrt(var + eps)).astype(x.dtype)
        xhat = (x - mean.reshape(shape)) * invstd.reshape(shape)
        # xhat only for gamma's gradient: without gamma it is the output, which an in-place op
        # after this one (a ReLU) may overwrite
        self.save_for_backward(None if gamma is None else xhat, invstd, gamma)
        out = xhat if gamma is None else xhat * gamma.reshape(shape)
        return out if beta is None else out + beta.reshape(shape)

    def backward(self, grad):
        if self.training:
            x4, mean, invstd, g, out = self.saved_tensors
            grad_x, grad_gamma, grad_beta = self.kernels.batch_norm_backward(
                grad.reshape(x4.shape), x4, g, mean, invstd,
                None if out is None else out.reshape(x4.shape))
            grad_x = grad_x.reshape(grad.shape) if self.needs_input_grad[0] else None
            return grad_x, grad_gamma, grad_beta
        xhat, invstd, gamma = self.saved_tensors
        shape = self.shape
        grad_beta = grad.sum(axis=self.axes)
        grad_gamma = None if gamma is None else (grad * xhat).sum(axis=self.axes)
        grad_x = None
        if self.needs_input_grad[0]:
            scale = invstd if gamma is None else gamma * invstd
            grad_x = grad * scale.reshape(shape)
        return grad_x, grad_gamma, grad_beta


@op(FUNCTIONAL)
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def batch_norm_relu(input, running_mean, running_var, weight, bias, momentum, eps):
    """relu(batch_norm(..., training=True, ...)) as one op: nn.Sequential runs a BatchNorm in
    training and the ReLU after it so."""
    return _batch_norm(input, running_mean, running_var, weight, bias, True, momentum, eps,
                       relu=True)


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps,
                relu=False):
    if input.ndim < 2:
        raise RuntimeError(f"batch_norm expected an input with at least 2 dims (N, C, ...), got shape "
                           f"{tuple(input.shape)}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    channels = input.shape[1]
    for name, tensor in (("running_mean", running_mean), ("running_var", running_var),
                         ("weight", weight), ("bias", bias)):
        if tensor is not None and tuple(tensor.shape) != (channels,):
            raise RuntimeError(f"batch_norm: {name} has shape {tuple(tensor.shape)} but the input "
                               f"(shape {tuple(input.shape)}) has {channels} channels")
    if training and input.numel() // channels <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{tuple(input.shape)}")
    if not training and (running_mean is None or running_var is None):
        training = True  # no running statistics: torch normalises with the batch's own
    stats = [None if t is None else t._data for t in (running_mean, running_var)]
    return BatchNorm.apply(input, weight, bias, running_mean=stats[0], running_var=stats[1],
                           training=training, momentum=momentum, eps=eps, relu=relu)
