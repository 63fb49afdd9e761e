"""Resampling ops: interpolate (each spatial axis resampled by an (out, in) weight matrix, whose
transpose carries the gradient back), pixel shuffle, unfold / fold (sliding blocks, one strided
slice per kernel tap) and the embedding lookup."""
import math
import warnings

import numpy as np

from ..autograd import Function
from .registry import FUNCTIONAL, op

_SPATIAL_MODES = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}  # mode: its spatial dims
_CUBIC_A = -0.75  # torch's bicubic convolution coefficient


def _cubic_weights(t):
    """The four bicubic weights of the taps at offsets -1, 0, 1, 2 for fractional positions t."""
    a = _CUBIC_A

    def near(s):
        return ((a + 2) * s - (a + 3)) * s * s + 1

    def far(s):
        return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _interpolation_matrix(mode, size_in, size_out, scale, align_corners, dtype):
    """The (size_out, size_in) matrix of one axis's resampling, computed as torch computes source
    positions (in the input's float type); `scale` is the user's scale factor or None."""
    dtype = np.dtype(dtype)
    dst = np.arange(size_out, dtype=dtype)
    rows = np.arange(size_out)
    matrix = np.zeros((size_out, size_in), dtype)
    if mode == "area":  # adaptive average pooling's windows
        for i in range(size_out):
            start, end = (i * size_in) // size_out, -(-((i + 1) * size_in) // size_out)
            matrix[i, start:end] = 1 / (end - start)
        return matrix
    if align_corners and mode not in ("nearest", "nearest-exact"):
        ratio = dtype.type((size_in - 1) / (size_out - 1) if size_out > 1 else 0)
    else:
        ratio = dtype.type(1 / scale if scale is not None and scale > 0 else size_in / size_out)
    if mode in ("nearest", "nearest-exact"):
        ratio = np.float32(ratio)  # torch's nearest index arithmetic is single precision
        offset = np.float32(0.5 if mode == "nearest-exact" else 0)
        source = np.floor((dst.astype(np.float32) + offset) * ratio).astype(np.int64)
        matrix[rows, np.minimum(source, size_in - 1)] = 1
        return matrix
    source = dst * ratio if align_corners else (dst + dtype.type(0.5)) * ratio - dtype.type(0.5)
    if mode == "bicubic":
        low = np.floor(source)
        for offset, weight in zip(range(-1, 3), _cubic_weights(source - low)):
            np.add.at(matrix, (rows, np.clip(low.astype(np.int64) + offset, 0, size_in - 1)), weight)
        return matrix
    source = np.maximum(source, 0)
    low = np.minimum(source.astype(np.int64), size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    fraction = np.clip(source - low, 0, 1).astype(dtype)
    np.add.at(matrix, (rows, low), 1 - fraction)
    np.add.at(matrix, (rows, high), fraction)
    return matrix


class Resample(Function):
    """Spatial axis 2 + i of x multiplied by matrices[i] (out, in)."""

    def forward(self, x, matrices):
        xp = self.xp
        self.matrices = [xp.asarray(m) for m in matrices]
        dtype = x.dtype
        for axis, matrix in enumerate(self.matrices, start=2):
            x = xp.moveaxis(xp.tensordot(x, matrix, axes=([axis], [1])), -1, axis)
        # integer images (nearest modes) are copied exactly through float64 matrices
        return xp.ascontiguousarray(x.astype(dtype, copy=False))

    def backward(self, grad):
        xp = self.xp
        for axis, matrix in enumerate(self.matrices, start=2):
            grad = xp.moveaxis(xp.tensordot(grad, matrix, axes=([axis], [0])), -1, axis)
        return xp.ascontiguousarray(grad)


def _per_axis(value, count, name):
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f"Input and {name} must have the same number of spatial dimensions, "
                             f"but got input with spatial dimensions of {count} and {name} "
                             f"{tuple(value)}")
        return tuple(value)
    return (value,) * count


@op(FUNCTIONAL)
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """torch.nn.functional.interpolate over the spatial dims of (N, C, *spatial): modes nearest,
    nearest-exact, area, linear, bilinear, bicubic, trilinear."""
    known = ("nearest", "nearest-exact", "area") + tuple(_SPATIAL_MODES)
    if mode not in known:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not among {known}")
    if mode in ("nearest", "nearest-exact", "area"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    spatial = input.ndim - 2
    if spatial not in (1, 2, 3) or _SPATIAL_MODES.get(mode, spatial) != spatial:
        raise NotImplementedError(f"interpolate: mode {mode!r} does not take a {input.ndim}-D input "
                                  f"(shape {tuple(input.shape)})")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    sizes_in = tuple(input.shape[2:])
    if size is not None:
        sizes_out, scales = _per_axis(size, spatial, "output size"), (None,) * spatial
    else:
        scales = tuple(float(s) for s in _per_axis(scale_factor, spatial, "scale_factor"))
        sizes_out = tuple(math.floor(n * s) for n, s in zip(sizes_in, scales))
        if recompute_scale_factor:
            scales = (None,) * spatial
    if min(sizes_out, default=1) < 1 or min(sizes_in, default=1) < 1:
        raise RuntimeError(f"interpolate: input and output sizes should be greater than 0, but "
                           f"got input {sizes_in} and output {sizes_out}")
    dtype = input._data.dtype
    if dtype.kind != "f":
        if mode not in ("nearest", "nearest-exact"):
            raise RuntimeError(f"interpolate: mode {mode!r} is not implemented for {input.dtype} "
                               f"inputs")
        dtype = np.float64
    matrices = [_interpolation_matrix(mode, n_in, n_out, scale, align_corners, dtype)
                for n_in, n_out, scale in zip(sizes_in, sizes_out, scales)]
    return Resample.apply(input, matrices=matrices)


@op(FUNCTIONAL)
def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """torch.nn.functional.upsample: the deprecated name of interpolate."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


@op(FUNCTIONAL)
def upsample_nearest(input, size=None, scale_factor=None):
    """torch.nn.functional.upsample_nearest (deprecated): interpolate, mode nearest."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


@op(FUNCTIONAL)
def upsample_bilinear(input, size=None, scale_factor=None):
    """torch.nn.functional.upsample_bilinear (deprecated): interpolate, mode bilinear, aligned
    corners."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _shuffle_factor(name, factor):
    if not isinstance(factor, int) or factor < 1:
        raise RuntimeError(f"{name}: factor must be a positive int, got {factor!r}")


@op(FUNCTIONAL)
def pixel_shuffle(input, upscale_factor):
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r)."""
    _shuffle_factor("pixel_shuffle", upscale_factor)
    r = upscale_factor
    if input.ndim < 3 or input.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's channel dimension to be divisible by "
                           f"the square of upscale_factor ({r}), got input of shape "
                           f"{tuple(input.shape)}")
    *batch, c, h, w = input.shape
    lead = len(batch)
    blocks = input.reshape(*batch, c // (r * r), r, r, h, w)
    order = tuple(range(lead)) + tuple(lead + k for k in (0, 3, 1, 4, 2))
    return blocks.permute(*order).reshape(*batch, c // (r * r), h * r, w * r)


@op(FUNCTIONAL)
def pixel_unshuffle(input, downscale_factor):
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W)."""
    _shuffle_factor("pixel_unshuffle", downscale_factor)
    r = downscale_factor
    if input.ndim < 3 or input.shape[-2] % r or input.shape[-1] % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width divisible by "
                           f"downscale_factor ({r}), got input of shape {tuple(input.shape)}")
    *batch, c, h, w = input.shape
    lead = len(batch)
    blocks = input.reshape(*batch, c, h // r, r, w // r, r)
    order = tuple(range(lead)) + tuple(lead + k for k in (0, 2, 4, 1, 3))
    return blocks.permute(*order).reshape(*batch, c * r * r, h // r, w // r)


def _pair(value, name):
    value = (value, value) if isinstance(value, int) else tuple(value)
    if len(value) == 1:
        value *= 2
    if len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return value


def _tap_slices(kernel, dilation, stride, blocks):
    """For each kernel tap (i, j), the strided slice of the padded plane it reads per block."""
    return [(i, j, (slice(None), slice(None),
                    slice(i * dilation[0], i * dilation[0] + stride[0] * (blocks[0] - 1) + 1,
                          stride[0]),
                    slice(j * dilation[1], j * dilation[1] + stride[1] * (blocks[1] - 1) + 1,
                          stride[1])))
            for i in range(kernel[0]) for j in range(kernel[1])]


def _im2col(xp, x, kernel, dilation, padding, stride, blocks):
    """(N, C, H, W) -> (N, C * KH * KW, L)."""
    padded = xp.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    cols = xp.empty(x.shape[:2] + tuple(kernel) + tuple(blocks), x.dtype)
    for i, j, window in _tap_slices(kernel, dilation, stride, blocks):
        cols[:, :, i, j] = padded[window]
    return cols.reshape(x.shape[0], x.shape[1] * kernel[0] * kernel[1], blocks[0] * blocks[1])


def _col2im(xp, cols, plane, kernel, dilation, padding, stride, blocks):
    """(N, C * KH * KW, L) -> (N, C, H, W), overlapping blocks summed."""
    n = cols.shape[0]
    cols = cols.reshape((n, cols.shape[1] // (kernel[0] * kernel[1])) + tuple(kernel)
                        + tuple(blocks))
    padded = xp.zeros((n, cols.shape[1], plane[0] + 2 * padding[0], plane[1] + 2 * padding[1]),
                      cols.dtype)
    for i, j, window in _tap_slices(kernel, dilation, stride, blocks):
        padded[window] += cols[:, :, i, j]
    return padded[:, :, padding[0]:padding[0] + plane[0], padding[1]:padding[1] + plane[1]]


class Unfold(Function):
    def forward(self, x, geometry):
        self.geometry, self.plane = geometry, x.shape[2:]
        return _im2col(self.xp, x, *geometry)

    def backward(self, grad):
        return _col2im(self.xp, grad, self.plane, *self.geometry)


class Fold(Function):
    def forward(self, cols, plane, geometry):
        self.geometry = geometry
        return _col2im(self.xp, cols, plane, *geometry)

    def backward(self, grad):
        return _im2col(self.xp, grad, *self.geometry)


def _block_geometry(name, plane, kernel_size, dilation, padding, stride):
    kernel, dilation = _pair(kernel_size, "kernel_size"), _pair(dilation, "dilation")
    padding, stride = _pair(padding, "padding"), _pair(stride, "stride")
    if min(kernel) < 1 or min(dilation) < 1 or min(stride) < 1 or min(padding) < 0:
        raise RuntimeError(f"{name}: kernel_size {kernel}, dilation {dilation} and stride {stride} "
                           f"must be positive and padding {padding} non-negative")
    blocks = tuple((plane[i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
                   for i in range(2))
    if min(blocks) < 1:
        raise RuntimeError(f"{name}: the (dilated) kernel {kernel} does not fit the padded plane "
                           f"{tuple(plane)} (padding {padding}, dilation {dilation})")
    return kernel, dilation, padding, stride, blocks


@op(FUNCTIONAL)
def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """torch.nn.functional.unfold: (N, C, H, W) or (C, H, W) -> (N, C * KH * KW, L) sliding blocks."""
    if input.ndim == 3:
        return unfold(input.unsqueeze(0), kernel_size, dilation, padding, stride).squeeze(0)
    if input.ndim != 4:
        raise RuntimeError(f"unfold expected a 3-D or 4-D input, got shape {tuple(input.shape)}")
    geometry = _block_geometry("unfold", tuple(input.shape[2:]), kernel_size, dilation, padding,
                               stride)
    return Unfold.apply(input, geometry=geometry)


@op(FUNCTIONAL)
def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """torch.nn.functional.fold: (N, C * KH * KW, L) or (C * KH * KW, L) -> (N, C, *output_size),
    the overlapping values summed."""
    if input.ndim == 2:
        return fold(input.unsqueeze(0), output_size, kernel_size, dilation, padding,
                    stride).squeeze(0)
    if input.ndim != 3:
        raise RuntimeError(f"fold expected a 2-D or 3-D input, got shape {tuple(input.shape)}")
    plane = _pair(output_size, "output_size")
    geometry = _block_geometry("fold", plane, kernel_size, dilation, padding, stride)
    kernel, blocks = geometry[0], geometry[-1]
    taps = kernel[0] * kernel[1]
    if input.shape[1] % taps:
        raise RuntimeError(f"fold expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size {kernel}, got input of shape "
                           f"{tuple(input.shape)}")
    if input.shape[2] != blocks[0] * blocks[1]:
        raise RuntimeError(f"fold: given output_size={plane}, kernel_size={kernel}, the input "
                           f"(shape {tuple(input.shape)}) should have {blocks[0] * blocks[1]} "
                           f"blocks in dimension 2, but got {input.shape[2]}")
    return Fold.apply(input, plane=plane, geometry=geometry)


class Embedding(Function):
    """Rows of the weight gathered by index; their gradients summed back per row."""

    def forward(self, weight, indices, padding_idx, scale_grad_by_freq):
        self.num_rows, self.padding_idx = weight.shape[0], padding_idx
        self.scale_grad_by_freq = scale_grad_by_freq
        self.save_for_backward(indices)
        return self.xp.take(weight, indices, axis=0)

    def backward(self, grad):
        xp = self.xp
        (indices,) = self.saved_tensors
        flat = indices.reshape(-1)
        rows = grad.reshape(flat.size, -1)
        if self.scale_grad_by_freq:
            counts = xp.bincount(flat, minlength=self.num_rows).astype(grad.dtype)
            rows = rows / counts[flat][:, None]
        grad_weight = xp.zeros((self.num_rows, rows.shape[1]), grad.dtype)
        xp.add.at(grad_weight, flat, rows)
        if self.padding_idx is not None:
            grad_weight[self.padding_idx] = 0
        return grad_weight, None


def _renorm_rows(weight, indices, max_norm, norm_type):
    """torch's embedding_renorm_: the looked-up rows whose norm exceeds max_norm are scaled to it,
    in place."""
    xp = weight._backend.xp
    rows = xp.unique(indices._data.reshape(-1))
    selected = weight._data[rows]
    norms = (xp.abs(selected) ** norm_type).sum(axis=1) ** (1 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1).astype(selected.dtype)
    weight._data[rows] = selected * scale[:, None]
    weight._version.value += 1


@op(FUNCTIONAL)
def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """torch.nn.functional.embedding: the rows of weight (num_embeddings, dim) at the integer
    indices `input`; padding_idx's row gets no gradient."""
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D, got shape {tuple(weight.shape)}")
    if input.dtype.np not in (np.int32, np.int64):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following "
                           f"scalar types: Long, Int; but got {input.dtype} instead")
    if sparse:
        warnings.warn("embedding: sparse=True is not supported; the gradient is dense")
    num_rows = weight.shape[0]
    if padding_idx is not None:
        if not -num_rows <= padding_idx < num_rows:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= num_rows
    indices = input._data
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= num_rows):
        raise IndexError(f"index out of range in self: indices must lie in [0, {num_rows}), got "
                         f"values from {int(indices.min())} to {int(indices.max())}")
    if max_norm is not None:
        _renorm_rows(weight, input, max_norm, norm_type)
    return Embedding.apply(weight, input, padding_idx=padding_idx,
                           scale_grad_by_freq=scale_grad_by_freq)
