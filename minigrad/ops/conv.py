"""conv2d as an autograd op on the device's kernels, with PyTorch's arguments and clear errors."""
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


class Conv2d(Function):
    def forward(self, x, weight, bias, stride, padding, dilation, groups):
        xp = self.xp
        x, weight = xp.ascontiguousarray(as_float(x)), xp.ascontiguousarray(weight)
        self.params = stride, padding, dilation, groups
        self.x_shape, self.w_shape, self.has_bias = x.shape, weight.shape, bias is not None
        self.save_for_backward(x, weight)
        return self.kernels.conv2d_forward(x, weight, bias, stride, padding, dilation, groups)

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
    check_4d("conv2d", input)
    if weight.ndim != 4:
        raise RuntimeError(f"conv2d expected a 4-D weight (C_out, C_in / groups, KH, KW), got shape "
                           f"{tuple(weight.shape)}")
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    if min(stride) < 1 or min(dilation) < 1:
        raise RuntimeError(f"conv2d: stride {stride} and dilation {dilation} must be positive")
    c_out, c_in_group, kh, kw = weight.shape
    if groups < 1 or c_out % groups:
        raise RuntimeError(f"conv2d: groups ({groups}) must be positive and divide the "
                           f"{c_out} output channels (weight shape {tuple(weight.shape)})")
    if input.shape[1] != c_in_group * groups:
        raise RuntimeError(f"conv2d expected input with {c_in_group * groups} channels, got "
                           f"{input.shape[1]} (input shape {tuple(input.shape)}, weight shape "
                           f"{tuple(weight.shape)}, groups {groups})")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
        raise RuntimeError(f"conv2d: input dtype {input.dtype}, weight dtype {weight.dtype} and "
                           f"bias dtype {None if bias is None else bias.dtype} should be the same")
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise RuntimeError(f"conv2d expected a bias of shape ({c_out},), got {tuple(bias.shape)}")
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
    return Conv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation,
                        groups=groups)
