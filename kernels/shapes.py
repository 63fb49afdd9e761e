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
