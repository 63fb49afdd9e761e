"""Shape arithmetic shared by every kernel table and the op layer (no arrays, no device)."""


def output_size(size, kernel, stride, padding, dilation, ceil_mode=False):
    """Output length along one axis of a convolution or pooling window sweep; with ceil_mode
    (pooling, torch's rule) the last window must start inside the input or the left padding."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + padding:
            out -= 1
        return out
    return span // stride + 1


def conv_output_shape(x_shape, w_shape, stride, padding, dilation):
    """(N, C_out, OH, OW) of a convolution of x (N, C_in, H, W) with w (C_out, C_in / groups, KH,
    KW)."""
    return (x_shape[0], w_shape[0]) + tuple(
        output_size(x_shape[2 + i], w_shape[2 + i], stride[i], padding[i], dilation[i])
        for i in range(2))
