"""Pooling as autograd ops on the device's kernels: max, average, adaptive average and max."""
from ..autograd import Function
from ..kernels.shapes import conv_output_shape, output_size
from .conv import check_4d, check_window, conv2d_arguments, pair
from .registry import FUNCTIONAL, op


class MaxPool2d(Function):
    torch_name = "MaxPool2DWithIndices"

    def forward(self, x, params):
        self.params, self.x_shape = params, x.shape
        out, argmax = self.kernels.max_pool2d_forward(self.xp.ascontiguousarray(x), *params)
        self.save_for_backward(argmax)
        return out

    def backward(self, grad):
        argmax, = self.saved_tensors
        return self.kernels.max_pool2d_backward(self.xp.ascontiguousarray(grad), argmax, self.x_shape,
                                                *self.params)


class ReluMaxPool2d(Function):
    """max_pool2d(relu(x)) on the kernel table's fused kernels."""

    def forward(self, x, params):
        self.params, self.x_shape = params, x.shape
        out, argmax = self.kernels.relu_max_pool2d_forward(self.xp.ascontiguousarray(x), *params)
        self.save_for_backward(out, argmax)
        return out

    def backward(self, grad):
        out, argmax = self.saved_tensors
        return self.kernels.relu_max_pool2d_backward(self.xp.ascontiguousarray(grad), out, argmax,
                                                     self.x_shape, *self.params)


class ConvReluMaxPool2d(Function):
    """max_pool2d(relu(conv2d(x))) on the kernel table's fused kernels, which need not write the
    convolution's output or its gradient."""

    def forward(self, x, weight, bias, conv, pool):
        xp = self.xp
        x, weight = xp.ascontiguousarray(x), xp.ascontiguousarray(weight)
        self.conv, self.pool = conv, pool
        self.has_bias = bias is not None
        out, argmax = self.kernels.conv2d_relu_max_pool2d_forward(x, weight, bias, conv, pool)
        self.save_for_backward(x, weight, out, argmax)
        return out

    def backward(self, grad):
        x, weight, out, argmax = self.saved_tensors
        needs = self.needs_input_grad[:2] + (self.has_bias and self.needs_input_grad[2],)
        return self.kernels.conv2d_relu_max_pool2d_backward(grad, out, argmax, x, weight, needs,
                                                            self.conv, self.pool)


class MaxPoolIndices(Function):
    """return_indices=True: each window's maximum as a flat index into its H x W input plane,
    int64 as in torch; `pool` names the kernels (max_pool2d or adaptive_max_pool2d)."""
    differentiable = False

    def forward(self, x, pool, params):
        _, argmax = getattr(self.kernels, pool + "_forward")(self.xp.ascontiguousarray(x), *params)
        return argmax.astype(self.xp.int64)


class MaxPoolAt(Function):
    """x's values at MaxPoolIndices' indices; the gradient goes back there through the pooling's
    own backward kernel. A window that misses the input altogether (dilation) gives -inf."""

    def forward(self, x, indices, pool, params):
        xp = self.xp
        N, C, H, W = self.x_shape = x.shape
        self.pool, self.params = pool, params
        flat = indices.reshape(N, C, -1)
        inside = (flat >= 0) & (flat < H * W)
        values = xp.take_along_axis(x.reshape(N, C, H * W), xp.where(inside, flat, 0), axis=2)
        self.save_for_backward(indices)
        return xp.where(inside, values, x.dtype.type(-xp.inf)).reshape(indices.shape)

    def backward(self, grad):
        indices, = self.saved_tensors
        backward_params = self.params if self.pool == "max_pool2d" else ()  # adaptive: x_shape only
        return getattr(self.kernels, self.pool + "_backward")(
            self.xp.ascontiguousarray(grad), indices, self.x_shape, *backward_params), None


def _with_indices(input, pool, params):
    indices = MaxPoolIndices.apply(input, pool=pool, params=params)
    return MaxPoolAt.apply(input, indices, pool=pool, params=params), indices


class MaxUnpool2d(Function):
    """Each value placed at its flat H x W index in a zero plane (max_pool2d's indices); the
    gradient is read back from there."""

    def forward(self, x, indices, size):
        xp = self.xp
        N, C = x.shape[:2]
        flat = indices.reshape(N, C, -1)
        self.save_for_backward(flat)
        self.x_shape = x.shape
        out = xp.zeros((N, C, size[0] * size[1]), dtype=x.dtype)
        n, c, _ = xp.ogrid[:N, :C, :1]
        out[n, c, flat] = x.reshape(N, C, -1)
        return out.reshape(N, C, *size)

    def backward(self, grad):
        flat, = self.saved_tensors
        N, C = self.x_shape[:2]
        picked = self.xp.take_along_axis(grad.reshape(N, C, -1), flat, axis=2)
        return picked.reshape(self.x_shape), None


@op(FUNCTIONAL)
def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of max_pool2d(return_indices=True): zeros but at the indices."""
    if input.ndim == 3:
        return max_unpool2d(input.unsqueeze(0), indices.unsqueeze(0), kernel_size, stride,
                            padding, output_size).squeeze(0)
    check_4d("max_unpool2d", input)
    if tuple(indices.shape) != tuple(input.shape) or indices.is_floating_point():
        raise RuntimeError(f"max_unpool2d: expected integer indices of the input's shape "
                           f"{tuple(input.shape)}, got {indices.dtype} {tuple(indices.shape)}")
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else pair(stride, "stride")
    padding = pair(padding, "padding")
    if output_size is None:
        size = tuple((input.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + kernel[i]
                     for i in range(2))
    else:
        size = tuple(output_size)[-2:]
        if len(tuple(output_size)) not in (2, 4):
            raise RuntimeError(f"max_unpool2d: output_size must be (H, W) or (N, C, H, W), got "
                               f"{tuple(output_size)}")
    data = indices._data
    if data.size and (int(data.min()) < 0 or int(data.max()) >= size[0] * size[1]):
        raise RuntimeError(f"max_unpool2d: Found an invalid max index {int(data.max())} (or "
                           f"{int(data.min())}) for an output of size {size}")
    return MaxUnpool2d.apply(input, indices, size=size)


class AvgPool2d(Function):
    torch_name = "AvgPool2D"

    def forward(self, x, params):
        self.params, self.x_shape = params, x.shape
        return self.kernels.avg_pool2d_forward(self.xp.ascontiguousarray(x), *params)

    def backward(self, grad):
        return self.kernels.avg_pool2d_backward(self.xp.ascontiguousarray(grad), self.x_shape,
                                                *self.params)


class AdaptiveAvgPool2d(Function):
    def forward(self, x, output_size):
        self.x_shape = x.shape
        return self.kernels.adaptive_avg_pool2d_forward(self.xp.ascontiguousarray(x), output_size)

    def backward(self, grad):
        return self.kernels.adaptive_avg_pool2d_backward(self.xp.ascontiguousarray(grad),
                                                         self.x_shape)


class AdaptiveMaxPool2d(Function):
    def forward(self, x, output_size):
        self.x_shape = x.shape
        out, argmax = self.kernels.adaptive_max_pool2d_forward(self.xp.ascontiguousarray(x),
                                                               output_size)
        self.save_for_backward(argmax)
        return out

    def backward(self, grad):
        argmax, = self.saved_tensors
        return self.kernels.adaptive_max_pool2d_backward(self.xp.ascontiguousarray(grad), argmax,
                                                         self.x_shape)


def _batched(function):
    """Accept unbatched (C, H, W) inputs as torch does, by adding and removing the batch axis."""
    def pooled(input, *args, **kwargs):
        if input.ndim == 3:
            result = function(input.unsqueeze(0), *args, **kwargs)
            if isinstance(result, tuple):  # (values, indices)
                return tuple(r.squeeze(0) for r in result)
            return result.squeeze(0)
        check_4d(function.__name__, input)
        if not input.is_floating_point():
            raise RuntimeError(f"{function.__name__} needs a floating point input, got {input.dtype}")
        return function(input, *args, **kwargs)
    pooled.__name__, pooled.__doc__ = function.__name__, function.__doc__
    return pooled


def _window(name, input_shape, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else pair(stride, "stride")
    padding, dilation = pair(padding, "padding"), pair(dilation, "dilation")
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise RuntimeError(f"{name}: kernel_size {kernel}, stride {stride} and dilation {dilation} "
                           f"must be positive and padding {padding} non-negative")
    for i in range(2):
        if padding[i] > kernel[i] // 2:  # torch's rule, on the undilated kernel
            raise RuntimeError(f"{name}: pad should be smaller than or equal to half of kernel "
                               f"size, but got pad={padding}, kernel_size={kernel} and "
                               f"dilation={dilation}")
    check_window(name, input_shape, kernel, padding, dilation)
    out = [output_size(input_shape[2 + i], kernel[i], stride[i], padding[i], dilation[i],
                       ceil_mode) for i in range(2)]
    if min(out) < 1:
        raise RuntimeError(f"{name}: input shape {input_shape} gives output size {tuple(out)}, "
                           "which is too small")
    return kernel, stride, padding, dilation


@op(FUNCTIONAL)
@_batched
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    kernel, stride, padding, dilation = _window("max_pool2d", tuple(input.shape), kernel_size,
                                                stride, padding, dilation, ceil_mode)
    params = (kernel, stride, padding, dilation, ceil_mode)
    if return_indices:
        return _with_indices(input, "max_pool2d", params)
    return MaxPool2d.apply(input, params=params)


@_batched
def relu_max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """max_pool2d(relu(input)) as one op: nn.Sequential runs a ReLU followed by a MaxPool2d so."""
    window = _window("max_pool2d", tuple(input.shape), kernel_size, stride, padding, dilation,
                     ceil_mode)
    return ReluMaxPool2d.apply(input, params=(*window, ceil_mode))


def conv_relu_max_pool2d(input, weight, bias, conv, pool):
    """max_pool2d(relu(conv2d(input, weight, bias, *conv)), *pool) as one op: nn.Sequential runs a
    Conv2d, a ReLU and a MaxPool2d so. conv: conv2d's (stride, padding, dilation, groups); pool:
    max_pool2d's (kernel_size, stride, padding, dilation, ceil_mode)."""
    if input.ndim == 3:
        return conv_relu_max_pool2d(input.unsqueeze(0), weight, bias, conv, pool).squeeze(0)
    input, conv = conv2d_arguments(input, weight, bias, *conv)
    conv_shape = conv_output_shape(tuple(input.shape), tuple(weight.shape), *conv[:3])
    window = _window("max_pool2d", conv_shape, *pool)
    return ConvReluMaxPool2d.apply(input, weight, bias, conv=conv, pool=(*window, pool[-1]))


@op(FUNCTIONAL)
@_batched
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    kernel, stride, padding, _ = _window("avg_pool2d", tuple(input.shape), kernel_size, stride,
                                         padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override < 1:
        raise RuntimeError(f"avg_pool2d: divisor_override must be positive, got {divisor_override}")
    return AvgPool2d.apply(input, params=(kernel, stride, padding, ceil_mode, count_include_pad,
                                          divisor_override))


def _adaptive_size(input, output_size):
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    size = tuple(input.shape[2 + i] if s is None else s for i, s in enumerate(size))
    if len(size) != 2 or min(size) < 1:
        raise RuntimeError(f"adaptive pooling: output_size must be a positive int or pair, "
                           f"got {output_size!r}")
    return size


@op(FUNCTIONAL)
@_batched
def adaptive_avg_pool2d(input, output_size):
    return AdaptiveAvgPool2d.apply(input, output_size=_adaptive_size(input, output_size))


@op(FUNCTIONAL)
@_batched
def adaptive_max_pool2d(input, output_size, return_indices=False):
    size = _adaptive_size(input, output_size)
    if return_indices:
        return _with_indices(input, "adaptive_max_pool2d", (size,))
    return AdaptiveMaxPool2d.apply(input, output_size=size)
