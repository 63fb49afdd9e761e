"""conv2d, conv1d (conv2d on planes one row high) and conv_transpose2d as autograd ops on the
device's conv2d kernels, with PyTorch's arguments and clear errors."""
from ..autograd import Function
from .unary import as_float
from .layers import pad
from .registry import FUNCTIONAL, op


def pair(value, name):
    """An int, a pair of ints or (as torch accepts) one int in a sequence as a (height, width)
    pair."""
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    if len(value) == 1:
        value *= 2
    if len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return value


def check_4d(name, input):
    if input.ndim != 4:
        raise RuntimeError(f"{name} expected a 4-D input (N, C, H, W) or a 3-D one (C, H, W), "
                           f"got shape {tuple(input.shape)}")


def check_window(name, input_shape, kernel, padding, dilation):
    """The (dilated) window must fit inside the padded input."""
    padded = tuple(input_shape[2 + i] + 2 * padding[i] for i in range(2))
    span = tuple(dilation[i] * (kernel[i] - 1) + 1 for i in range(2))
    if span[0] > padded[0] or span[1] > padded[1]:
        what = "kernel size" if dilation == (1, 1) else "dilated kernel size"
        raise RuntimeError(f"{name}: {what} {span} is larger than the padded input {padded} "
                           f"(input shape {tuple(input_shape)}, padding {padding})")


def check_channels(name, input, weight, bias, groups):
    """A convolution's channels, groups, dtypes and bias against its weight (C_out, C_in / groups,
    *kernel)."""
    c_out, c_in_group = weight.shape[:2]
    if groups < 1 or c_out % groups:
        raise RuntimeError(f"{name}: groups ({groups}) must be positive and divide the "
                           f"{c_out} output channels (weight shape {tuple(weight.shape)})")
    if input.shape[1] != c_in_group * groups:
        raise RuntimeError(f"{name} expected input with {c_in_group * groups} channels, got "
                           f"{input.shape[1]} (input shape {tuple(input.shape)}, weight shape "
                           f"{tuple(weight.shape)}, groups {groups})")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
        raise RuntimeError(f"{name}: input dtype {input.dtype}, weight dtype {weight.dtype} and "
                           f"bias dtype {None if bias is None else bias.dtype} should be the same")
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise RuntimeError(f"{name} expected a bias of shape ({c_out},), got {tuple(bias.shape)}")


class Conv2d(Function):
    torch_name = "Convolution"

    def forward(self, x, weight, bias, conv):
        """conv: (stride, padding, dilation, groups), as conv2d_arguments gives them."""
        xp = self.xp
        x, weight = xp.ascontiguousarray(as_float(x)), xp.ascontiguousarray(weight)
        self.params = conv
        self.x_shape, self.w_shape, self.has_bias = x.shape, weight.shape, bias is not None
        self.save_for_backward(x, weight)
        return self.kernels.conv2d_forward(x, weight, bias, *conv)

    def backward(self, grad):
        x, weight = self.saved_tensors
        needs = self.needs_input_grad[:2] + (self.has_bias and self.needs_input_grad[2],)
        return self.kernels.conv2d_backward(self.xp.ascontiguousarray(grad), x, weight, needs,
                                            *self.params)


@op(FUNCTIONAL)
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch.nn.functional.conv2d: input (N, C_in, H, W) or (C_in, H, W), weight
    (C_out, C_in / groups, KH, KW); padding may be an int, a pair, "valid" or "same"."""
    if input.ndim == 3:
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    input, conv = conv2d_arguments(input, weight, bias, stride, padding, dilation, groups)
    return Conv2d.apply(input, weight, bias, conv=conv)


def conv2d_arguments(input, weight, bias, stride, padding, dilation, groups):
    """conv2d's arguments checked and normalised: (input, (stride, padding, dilation, groups)),
    the input padded where padding="same" pads more on one side."""
    check_4d("conv2d", input)
    if weight.ndim != 4:
        raise RuntimeError(f"conv2d expected a 4-D weight (C_out, C_in / groups, KH, KW), got shape "
                           f"{tuple(weight.shape)}")
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    if min(stride) < 1 or min(dilation) < 1:
        raise RuntimeError(f"conv2d: stride {stride} and dilation {dilation} must be positive")
    check_channels("conv2d", input, weight, bias, groups)
    kh, kw = weight.shape[2:]
    if padding == "valid":
        padding = (0, 0)
    elif padding == "same":
        if stride != (1, 1):
            raise RuntimeError("conv2d: padding='same' is not supported for strided convolutions")
        totals = [dilation[i] * ((kh, kw)[i] - 1) for i in range(2)]
        if totals[0] % 2 or totals[1] % 2:  # an even kernel pads one more on the bottom/right
            input = pad(input, (totals[1] // 2, totals[1] - totals[1] // 2,
                                totals[0] // 2, totals[0] - totals[0] // 2))
            padding = (0, 0)
        else:
            padding = (totals[0] // 2, totals[1] // 2)
    else:
        padding = pair(padding, "padding")
        if min(padding) < 0:
            raise RuntimeError(f"conv2d: padding {padding} must be non-negative")
    check_window("conv2d", tuple(input.shape), (kh, kw), padding, dilation)
    return input, (stride, padding, dilation, groups)


def single(value, name):
    """An int or a one-int sequence (torch's 1-D convolution arguments) as an int."""
    if isinstance(value, int):
        return value
    value = tuple(value)
    if len(value) != 1 or not isinstance(value[0], int):
        raise ValueError(f"{name} must be an int or a one-element sequence of ints, got {value!r}")
    return value[0]


@op(FUNCTIONAL)
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch.nn.functional.conv1d: input (N, C_in, L) or (C_in, L), weight (C_out, C_in / groups,
    K); a 2-D convolution of planes one row high."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"conv1d expected a 3-D input (N, C, L) or a 2-D one (C, L), got shape "
                           f"{tuple(input.shape)}")
    if weight.ndim != 3:
        raise RuntimeError(f"conv1d expected a 3-D weight (C_out, C_in / groups, K), got shape "
                           f"{tuple(weight.shape)}")
    batched = input if input.ndim == 3 else input.unsqueeze(0)
    check_channels("conv1d", batched, weight, bias, groups)
    if not isinstance(padding, str):
        padding = (0, single(padding, "padding"))
    stride, dilation = (1, single(stride, "stride")), (1, single(dilation, "dilation"))
    span, length = dilation[1] * (weight.shape[2] - 1) + 1, input.shape[-1]
    if not isinstance(padding, str) and span > length + 2 * padding[1]:
        raise RuntimeError(f"conv1d: {'kernel size' if dilation[1] == 1 else 'dilated kernel size'} "
                           f"{span} is larger than the padded input {length + 2 * padding[1]} "
                           f"(input shape {tuple(input.shape)}, padding {padding[1]})")
    planes = conv2d(input.unsqueeze(-2), weight.unsqueeze(2), bias, stride, padding, dilation,
                    groups)
    return planes.squeeze(-2)


class ConvTranspose2d(Function):
    """The transposed convolution is the input gradient of the convolution whose input has this
    op's output shape; its gradients are that convolution's forward (for the input) and its
    weight gradient (for the weight)."""

    def forward(self, x, weight, bias, stride, padding, output_padding, dilation, groups):
        xp = self.xp
        x, weight = xp.ascontiguousarray(as_float(x)), xp.ascontiguousarray(weight)
        self.input_hw = x.shape[2:]
        out_hw = tuple((x.shape[2 + i] - 1) * stride[i] - 2 * padding[i]
                       + dilation[i] * (weight.shape[2 + i] - 1) + output_padding[i] + 1
                       for i in range(2))
        # an output_padding of a stride or more (allowed below the dilation) adds whole output
        # rows of the convolution, whose gradient rows are zero
        extra = tuple(output_padding[i] // stride[i] for i in range(2))
        if any(extra):
            x = xp.pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
        self.params, self.has_bias = (stride, padding, dilation, groups), bias is not None
        self.save_for_backward(x, weight)
        out_shape = (x.shape[0], weight.shape[1] * groups) + out_hw
        # only the shape of the convolution's input is read for its input gradient
        y = self.kernels.conv2d_backward(x, xp.empty(out_shape, x.dtype), weight,
                                         (True, False, False), *self.params)[0]
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        return y

    def backward(self, grad):
        x, weight = self.saved_tensors
        grad = self.xp.ascontiguousarray(grad)
        h, w = self.input_hw
        grad_x = grad_w = grad_b = None
        if self.needs_input_grad[0]:
            grad_x = self.kernels.conv2d_forward(grad, weight, None, *self.params)[:, :, :h, :w]
        if self.needs_input_grad[1]:
            grad_w = self.kernels.conv2d_backward(x, grad, weight, (False, True, False),
                                                  *self.params)[1]
        if self.has_bias and self.needs_input_grad[2]:
            grad_b = grad.sum(axis=(0, 2, 3))
        return grad_x, grad_w, grad_b


@op(FUNCTIONAL)
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """torch.nn.functional.conv_transpose2d: input (N, C_in, H, W) or (C_in, H, W), weight
    (C_in, C_out / groups, KH, KW)."""
    if input.ndim == 3:
        return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding, output_padding,
                                groups, dilation).squeeze(0)
    check_4d("conv_transpose2d", input)
    if weight.ndim != 4:
        raise RuntimeError(f"conv_transpose2d expected a 4-D weight (C_in, C_out / groups, KH, KW), "
                           f"got shape {tuple(weight.shape)}")
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    padding, output_padding = pair(padding, "padding"), pair(output_padding, "output_padding")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0 or min(output_padding) < 0:
        raise RuntimeError(f"conv_transpose2d: stride {stride} and dilation {dilation} must be "
                           f"positive, padding {padding} and output_padding {output_padding} "
                           f"non-negative")
    if any(output_padding[i] >= max(stride[i], dilation[i]) for i in range(2)):
        raise RuntimeError(f"conv_transpose2d: output padding {output_padding} must be smaller than "
                           f"either stride {stride} or dilation {dilation}")
    c_in, c_out_group = weight.shape[:2]
    if groups < 1 or c_in % groups:
        raise RuntimeError(f"conv_transpose2d: groups ({groups}) must be positive and divide the "
                           f"{c_in} input channels (weight shape {tuple(weight.shape)})")
    if input.shape[1] != c_in:
        raise RuntimeError(f"conv_transpose2d expected input with {c_in} channels, got "
                           f"{input.shape[1]} (input shape {tuple(input.shape)}, weight shape "
                           f"{tuple(weight.shape)})")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
        raise RuntimeError(f"conv_transpose2d: input dtype {input.dtype}, weight dtype "
                           f"{weight.dtype} and bias dtype {None if bias is None else bias.dtype} "
                           f"should be the same")
    if bias is not None and tuple(bias.shape) != (c_out_group * groups,):
        raise RuntimeError(f"conv_transpose2d expected a bias of shape ({c_out_group * groups},), "
                           f"got {tuple(bias.shape)}")
    out_hw = [(input.shape[2 + i] - 1) * stride[i] - 2 * padding[i]
              + dilation[i] * (weight.shape[2 + i] - 1) + output_padding[i] + 1 for i in range(2)]
    if min(out_hw) < 1:
        raise RuntimeError(f"conv_transpose2d: the output size {tuple(out_hw)} is too small "
                           f"(input shape {tuple(input.shape)}, weight shape "
                           f"{tuple(weight.shape)}, padding {padding})")
    return ConvTranspose2d.apply(input, weight, bias, stride=stride, padding=padding,
                                 output_padding=output_padding, dilation=dilation, groups=groups)
