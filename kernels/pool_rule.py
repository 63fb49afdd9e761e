"""Pooling's window geometry along one axis (torch.nn.functional's rules), shared by the CPU and the
CUDA kernels, which each compile these functions (numba.njit(inline="always") /
numba.cuda.jit(device=True)) as with sgd_rule.py. Each rule is a plain function of integers that
calls no other rule: a compiled rule can only call the compiled form of another.

Along an axis of `size` inputs, output cell `cell` of `cells` has a window of `taps` taps from
`start`: strided, tap k sits at start + k * dilation; adaptive, the window is the inputs
[floor(cell * size / cells), ceil((cell + 1) * size / cells)), dilation 1.
"""


def window(cell, size, cells, kernel, stride, padding, adaptive):
    """(start, taps) of output cell `cell`'s window; an adaptive window ignores kernel, stride and
    padding."""
    if adaptive:
        start = (cell * size) // cells
        return start, ((cell + 1) * size + cells - 1) // cells - start
    return cell * stride - padding, kernel


def taps_inside(start, taps, dilation, size):
    """Max pooling: the taps k in [first, end) whose position start + k * dilation lies in
    [0, size)."""
    first = max(0, -(start // dilation))  # ceil(-start / dilation) for a negative start
    end = min(taps, (size - 1 - start) // dilation + 1) if start < size else 0
    return first, end


def first_tap_index(h_start, h_first, h_dilation, w_start, w_first, w_dilation, columns):
    """Max pooling: the flat index, into the rows x `columns` input plane, of a window's first
    in-bounds tap, which the scan starts from (as torch's does) so that a window of -inf still has
    an index. A dilated window can miss the input altogether: its output is -inf and this index
    (torch's all the same) can point past the plane, where backward drops the gradient."""
    return (h_start + h_first * h_dilation) * columns + w_start + w_first * w_dilation


def averaged_range(start, taps, size, padding, count_include_pad):
    """Average pooling: the inputs [first, end) a window sums, and its factor of the divisor: torch
    counts the padding (count_include_pad) but never the overhang past it."""
    stop = min(start + taps, size + padding)
    first, end = max(start, 0), min(stop, size)
    return first, end, (stop - start) if count_include_pad else (end - first)


def cells_covering(position, size, cells, kernel, stride, padding, dilation, adaptive):
    """The output cells [first, end) whose windows span input `position`: what a backward pass that
    gathers per input element (the GPU's) reads."""
    if adaptive:
        first = (position * cells) // size
        end = ((position + 1) * cells + size - 1) // size
    else:
        # cell o spans [o * stride - padding, o * stride - padding + (kernel - 1) * dilation]
        reach = position + padding - (kernel - 1) * dilation
        first = -(-reach // stride)  # ceil(reach / stride), floor division on negatives included
        end = (position + padding) // stride + 1
    return max(first, 0), min(end, cells)
