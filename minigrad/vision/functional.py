"""torchvision.transforms.functional's names: the image operations behind `minigrad.vision.transforms`.

An image is one of
  * a NumPy array (H, W) or (H, W, C), uint8 as a rule: it plays the part of torchvision's PIL image
    (minigrad's datasets hand transforms such arrays); the operations return the same kind of array;
  * a PIL image, if Pillow is installed: read with ``np.array`` and treated as such an array;
  * a minigrad Tensor (..., C, H, W) or (..., H, W), uint8 or float, with torchvision's tensor
    semantics; the operations return a Tensor on the same device.
Integer images are resized in float32 and rounded back (half to even) and clamped, as torchvision
does for uint8 tensors; NumPy arrays follow that tensor rule too (nearest modes included), not PIL's.

Internally every operation works on "planes": an array whose last two axes are (H, W), channels (if
any) just before them and any batch axes first, so that one call serves an image and a stack alike.
"""
import functools
import numbers
import sys
from collections.abc import Sequence
from enum import Enum

import numpy as np

from .. import dtypes
from ..device import backend
from ..tensor import Tensor

__all__ = ["InterpolationMode", "get_dimensions", "to_tensor", "normalize", "resize", "crop",
           "center_crop", "pad", "hflip", "resized_crop"]


class InterpolationMode(Enum):
    """torchvision's interpolation modes; minigrad implements NEAREST, NEAREST_EXACT and BILINEAR."""
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_SUPPORTED_MODES = (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT,
                    InterpolationMode.BILINEAR)
_PIL_MODE_CODES = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR,
                   3: InterpolationMode.BICUBIC, 4: InterpolationMode.BOX,
                   5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}
_PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


def interpolation_mode(interpolation, who):
    """An InterpolationMode from a mode or a Pillow integer constant; unsupported modes refused."""
    if isinstance(interpolation, int) and not isinstance(interpolation, bool):
        if interpolation not in _PIL_MODE_CODES:
            raise ValueError(f"{who}: unknown Pillow interpolation constant {interpolation}")
        interpolation = _PIL_MODE_CODES[interpolation]
    if not isinstance(interpolation, InterpolationMode):
        raise TypeError("Argument interpolation should be a InterpolationMode or a corresponding "
                        f"Pillow integer constant, got {interpolation!r}")
    if interpolation not in _SUPPORTED_MODES:
        raise NotImplementedError(
            f"{who}: interpolation {interpolation.value!r} is not implemented in minigrad; use "
            + ", ".join(f"InterpolationMode.{m.name}" for m in _SUPPORTED_MODES))
    return interpolation


# ----- images as planes ----------------------------------------------------------------------------
def _is_pil_image(img):
    # Only look at PIL if the caller's object may come from it: Pillow is never imported here.
    image_module = sys.modules.get("PIL.Image")
    return image_module is not None and isinstance(img, image_module.Image)


class Planes:
    """An image (or a stack) seen as ``array`` with (H, W) last; ``channels`` is the length of its
    channel axis (just before H) or None; ``wrap(out)`` returns planes as the caller's kind of image."""

    def __init__(self, array, xp, channels, wrap):
        self.array, self.xp, self.channels, self.wrap = array, xp, channels, wrap


def planes(img, who, batched=False):
    """The Planes of an image, or of a stack along a new leading axis when ``batched``; a clear error
    for anything else."""
    if _is_pil_image(img) and not batched:
        img = np.array(img)
    if isinstance(img, np.ndarray):
        dims = (3, 4) if batched else (2, 3)
        if img.ndim not in dims:
            kind = "a stack of images (B, H, W) or (B, H, W, C)" if batched else \
                "an image (H, W) or (H, W, C)"
            raise ValueError(f"{who}: expected {kind}, got an array of shape {img.shape}")
        if img.dtype.kind not in "biuf":
            raise TypeError(f"{who}: expected an image array of numbers (uint8 as a rule), got "
                            f"dtype {img.dtype}")
        channels_last = img.ndim == dims[1]
        array = np.moveaxis(img, -1, -3) if channels_last else img
        source = img

        def wrap_array(out):
            if out is array:
                return source
            return np.ascontiguousarray(np.moveaxis(out, -3, -1) if channels_last else out)
        return Planes(array, np, img.shape[-1] if channels_last else None, wrap_array)
    if isinstance(img, Tensor):
        least = 3 if batched else 2
        if img.ndim < least:
            raise TypeError(f"{who}: Tensor is not a torch image: expected shape "
                            f"{'(B, ..., H, W)' if batched else '(..., H, W)'}, got {tuple(img.shape)}")
        if img.requires_grad:
            raise RuntimeError(f"{who} is not differentiable in minigrad and got a tensor that "
                               f"requires grad; pass tensor.detach()")
        data, tensor_backend = img._data, img._backend

        def wrap_tensor(out):
            if out is data:
                return img
            return Tensor._make(tensor_backend.xp.ascontiguousarray(out), tensor_backend)
        channels = img.shape[-3] if img.ndim >= least + 1 else None
        return Planes(data, tensor_backend.xp, channels, wrap_tensor)
    what = "a stack of images: a NumPy array (B, H, W) or (B, H, W, C), or a Tensor (B, C, H, W)" \
        if batched else "a NumPy image array (H, W) or (H, W, C), a PIL Image or a Tensor (..., C, H, W)"
    raise TypeError(f"{who}: expected {what}; got {type(img)}")


def get_dimensions(img):
    """``[channels, height, width]`` of an image."""
    image = planes(img, "get_dimensions")
    h, w = image.array.shape[-2:]
    return [1 if image.channels is None else image.channels, h, w]


# ----- ToTensor and Normalize ----------------------------------------------------------------------
def _chw_tensor(array, batched):
    """A (..., H, W[, C]) array as a (..., C, H, W) CPU tensor: uint8 scaled to float32 in [0, 1],
    other dtypes kept (torchvision's rule)."""
    if array.ndim == (3 if batched else 2):
        array = array[..., None]
    chw = np.moveaxis(array, -1, -3)
    if array.dtype == np.uint8:
        out = np.ascontiguousarray(chw, dtype=np.float32)
        out /= np.float32(255)
    else:
        try:
            dtypes.from_numpy_dtype(array.dtype)
        except TypeError:
            raise TypeError(f"ToTensor: unsupported NumPy dtype {array.dtype}") from None
        out = np.ascontiguousarray(chw)
    return Tensor._make(out, backend("cpu"))


def _pil_to_array(pic):
    """A PIL image's pixels as torchvision's to_tensor reads them: (H, W, bands)."""
    mode_dtypes = {"I": np.int32, "I;16" if sys.byteorder == "little" else "I;16B": np.int16,
                   "F": np.float32}
    array = np.array(pic, mode_dtypes.get(pic.mode, np.uint8), copy=True)
    if pic.mode == "1":
        array = 255 * array
    return array.reshape(pic.size[1], pic.size[0], -1)


def to_tensor(pic):
    """A PIL image or an ndarray (H, W) / (H, W, C) as a tensor (C, H, W); uint8 -> float32 / 255."""
    if _is_pil_image(pic):
        return _chw_tensor(_pil_to_array(pic), batched=False)
    if not isinstance(pic, np.ndarray):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if pic.ndim not in (2, 3):
        raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
    return _chw_tensor(pic, batched=False)


def to_tensor_batch(pics):
    """A stack of ndarray images (B, H, W) / (B, H, W, C) as a tensor (B, C, H, W)."""
    if not isinstance(pics, np.ndarray):
        raise TypeError(f"pics should be an ndarray stack (B, H, W) or (B, H, W, C). Got {type(pics)}")
    if pics.ndim not in (3, 4):
        raise ValueError(f"pics should be 3/4 dimensional (B, H, W) or (B, H, W, C). Got "
                         f"{pics.ndim} dimensions (shape {pics.shape}).")
    return _chw_tensor(pics, batched=True)


def normalize(tensor, mean, std, inplace=False):
    """(tensor - mean) / std per channel of a float tensor (..., C, H, W); differentiable."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if tensor.ndim < 2:
        raise TypeError(f"Tensor is not a torch image (shape {tuple(tensor.shape)}).")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tensor.size()}")
    channels, np_dtype = tensor.shape[-3], tensor._data.dtype
    statistics = []
    for name, values in (("mean", mean), ("std", std)):
        array = np.asarray(values, dtype=np_dtype)
        if array.ndim > 1 or array.size not in (1, channels):
            raise ValueError(f"Normalize: {name} has {array.size} values but the image has "
                             f"{channels} channels (shape {tuple(tensor.shape)})")
        statistics.append(Tensor._make(tensor._backend.xp.asarray(array.reshape(-1, 1, 1)),
                                       tensor._backend))
    if (statistics[1]._data == 0).any():
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to "
                         f"division by zero.")
    if inplace:
        return tensor.sub_(statistics[0]).div_(statistics[1])
    return (tensor - statistics[0]) / statistics[1]


# ----- resizing ------------------------------------------------------------------------------------
def output_size(height, width, size, max_size=None):
    """torchvision's [new_h, new_w]: a 1-sequence (or int) is the shorter side, the longer one
    int(size * long / short), then both scaled down if the longer would exceed ``max_size``."""
    if isinstance(size, int):
        size = [size]
    if len(size) == 2:
        return [size[0], size[1]]
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size[0], int(size[0] * long / short)
    if max_size is not None and new_long > max_size:
        new_short, new_long = int(max_size * new_short / new_long), max_size
    return [new_long, new_short] if width <= height else [new_short, new_long]


@functools.lru_cache(maxsize=256)
def linear_weights(size_in, size_out, antialias, dtype):
    """The (size_out, size_in) matrix of 1-D bilinear interpolation, align_corners=False. With
    ``antialias``, PIL's triangle filter as torch implements it: centred on each output pixel, its
    support widened by the scale when downscaling, limited to the input and normalised per output
    pixel (for upscaling the same as plain bilinear with edge clamping)."""
    scale = size_in / size_out
    dst = np.arange(size_out, dtype=np.float64)
    src = np.arange(size_in, dtype=np.float64)
    if antialias:
        support = max(scale, 1.0)
        center = scale * (dst + 0.5)
        first = np.maximum(np.trunc(center - support + 0.5), 0)
        stop = np.minimum(np.trunc(center + support + 0.5), size_in)
        weights = np.clip(1 - np.abs((src[None] - center[:, None] + 0.5) / support), 0, None)
        weights[(src[None] < first[:, None]) | (src[None] >= stop[:, None])] = 0
        total = weights.sum(axis=1, keepdims=True)
        weights = np.divide(weights, total, out=np.zeros_like(weights), where=total != 0)
    else:
        position = np.maximum(scale * (dst + 0.5) - 0.5, 0)
        low = position.astype(np.int64)
        high = np.minimum(low + 1, size_in - 1)
        weights = np.zeros((size_out, size_in))
        np.add.at(weights, (np.arange(size_out), low), 1 - (position - low))
        np.add.at(weights, (np.arange(size_out), high), position - low)
    weights = weights.astype(dtype)
    weights.setflags(write=False)
    return weights


def nearest_indices(size_in, size_out, exact):
    """The source index of each output pixel, computed in float32 as torch does."""
    scale = np.float32(size_in) / np.float32(size_out)
    dst = np.arange(size_out, dtype=np.float64)
    if exact:
        position = np.float32((dst + 0.5) * np.float64(scale))
    else:
        position = dst.astype(np.float32) * scale
    return np.minimum(np.floor(position).astype(np.int64), size_in - 1)


def _cast_back(out, dtype, xp):
    """Float results to the image's dtype: integers rounded (half to even) and clamped."""
    if out.dtype == dtype:
        return out
    if dtype.kind == "f":
        return out.astype(dtype)
    low, high = (0, 1) if dtype.kind == "b" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
    xp.rint(out, out=out)
    xp.clip(out, low, high, out=out)
    return out.astype(dtype)


def resize_planes(array, xp, new_h, new_w, mode, antialias):
    """Planes (..., H, W) resized to (new_h, new_w): nearest by indexing; bilinear as two
    matrix products per plane, the cheaper order first, in float32 (float64 for float64
    images)."""
    h, w = array.shape[-2:]
    if new_h <= 0 or new_w <= 0:
        raise ValueError(f"resize: the output size ({new_h}, {new_w}) of an image of size ({h}, {w}) "
                         f"must be positive")
    if (h, w) == (new_h, new_w):
        return array
    if mode is not InterpolationMode.BILINEAR:
        exact = mode is InterpolationMode.NEAREST_EXACT
        rows = xp.asarray(nearest_indices(h, new_h, exact))
        cols = xp.asarray(nearest_indices(w, new_w, exact))
        return array[..., rows[:, None], cols]
    compute = array.dtype if array.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    rows = xp.asarray(linear_weights(h, new_h, bool(antialias), compute.str))
    cols = xp.asarray(linear_weights(w, new_w, bool(antialias), compute.str))
    lead = array.shape[:-2]
    flat = xp.ascontiguousarray(array, dtype=compute).reshape(-1, h, w)
    # one GEMM per plane in both passes, so that a plane comes out the same whatever its batch
    # (BLAS may sum a product of more rows in another order)
    if h * new_w * (w + new_h) <= new_h * w * (h + new_w):  # multiply-adds, width pass first
        out = rows @ (flat @ cols.T)
    else:
        out = (rows @ flat) @ cols.T
    return _cast_back(out.reshape(lead + (new_h, new_w)), array.dtype, xp)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """torchvision's resize: ``size`` an int (the shorter side) or (h, w)."""
    mode = interpolation_mode(interpolation, "resize")
    image = planes(img, "resize")
    new_h, new_w = output_size(*image.array.shape[-2:], size, max_size)
    return image.wrap(resize_planes(image.array, image.xp, new_h, new_w, mode, antialias))


# ----- cropping, padding, flipping -----------------------------------------------------------------
def parse_padding(padding, who="pad"):
    """torchvision's padding forms as [left, top, right, bottom]: an int, a 1-sequence, a 2-sequence
    (left/right, top/bottom) or a 4-sequence (left, top, right, bottom)."""
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        return [int(padding)] * 4
    if not isinstance(padding, (tuple, list)):
        raise TypeError(f"{who}: Got inappropriate padding arg {padding!r}: expected an int or a "
                        f"1, 2 or 4 element tuple of ints")
    if len(padding) not in (1, 2, 4):
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")
    if not all(isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in padding):
        raise TypeError(f"{who}: padding values must be ints, got {padding!r}")
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return padding * 4
    if len(padding) == 2:
        return padding * 2
    return padding


def _fill_array(fill, image, dtype):
    """The fill value(s) as an array that broadcasts over planes; checked against the channels and
    the dtype's range."""
    values = np.asarray(0 if fill is None else fill, dtype=np.float64)
    if values.ndim > 1 or (values.ndim == 1 and values.size not in (1, image.channels or 1)):
        raise ValueError(f"pad: fill {fill!r} has {values.size} values but the image has "
                         f"{image.channels or 1} channel(s)")
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if values.min() < info.min or values.max() > info.max:
            raise ValueError(f"pad: fill {fill!r} is out of range for a {dtype} image")
    return values.reshape(-1, 1, 1).astype(dtype) if values.ndim == 1 else values.astype(dtype)


def pad_planes(image, array, ltrb, fill=0, padding_mode="constant"):
    """Planes padded by [left, top, right, bottom]; negative amounts crop first (as torchvision's PIL
    path does)."""
    xp = image.xp
    h, w = array.shape[-2:]
    left, top, right, bottom = ltrb
    if h + min(top, 0) + min(bottom, 0) <= 0 or w + min(left, 0) + min(right, 0) <= 0:
        raise ValueError(f"pad: padding {ltrb} (left, top, right, bottom) crops away all of an image "
                         f"of size ({h}, {w})")
    if min(ltrb) < 0:
        array = array[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
        left, top, right, bottom = (max(p, 0) for p in ltrb)
        h, w = array.shape[-2:]
    if not (left or top or right or bottom):
        return array
    if padding_mode == "constant":
        out = xp.empty(array.shape[:-2] + (top + h + bottom, left + w + right), array.dtype)
        out[...] = xp.asarray(_fill_array(fill, image, array.dtype))
        out[..., top:top + h, left:left + w] = array
        return out
    widths = [(0, 0)] * (array.ndim - 2) + [(top, bottom), (left, right)]
    return xp.pad(array, widths, mode=padding_mode)


def pad(img, padding, fill=0, padding_mode="constant"):
    """torchvision's pad; ``padding_mode`` is constant, edge, reflect or symmetric."""
    if padding_mode not in _PADDING_MODES:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    image = planes(img, "pad")
    return image.wrap(pad_planes(image, image.array, parse_padding(padding), fill, padding_mode))


def crop_planes(image, array, top, left, height, width):
    """The (height, width) window at (top, left); the part outside the image is zero."""
    h, w = array.shape[-2:]
    bottom, right = top + height, left + width
    if top >= 0 and left >= 0 and bottom <= h and right <= w:
        return array[..., top:bottom, left:right]
    out = image.xp.zeros(array.shape[:-2] + (height, width), array.dtype)
    y0, y1, x0, x1 = max(top, 0), min(bottom, h), max(left, 0), min(right, w)
    if y0 < y1 and x0 < x1:
        out[..., y0 - top:y1 - top, x0 - left:x1 - left] = array[..., y0:y1, x0:x1]
    return out


def crop(img, top, left, height, width):
    """The window of ``img`` at (top, left) of size (height, width), zero-padded outside it."""
    image = planes(img, "crop")
    return image.wrap(crop_planes(image, image.array, top, left, height, width))


def center_crop_planes(image, array, crop_h, crop_w):
    """torchvision's center crop: zero padding first where the crop is larger, then the window
    at offsets rounded (half to even) from the centre."""
    h, w = array.shape[-2:]
    if crop_w > w or crop_h > h:
        ltrb = [(crop_w - w) // 2 if crop_w > w else 0, (crop_h - h) // 2 if crop_h > h else 0,
                (crop_w - w + 1) // 2 if crop_w > w else 0, (crop_h - h + 1) // 2 if crop_h > h else 0]
        array = pad_planes(image, array, ltrb)
        h, w = array.shape[-2:]
        if (crop_h, crop_w) == (h, w):
            return array
    top, left = int(round((h - crop_h) / 2.0)), int(round((w - crop_w) / 2.0))
    return crop_planes(image, array, top, left, crop_h, crop_w)


def center_crop(img, output_size):
    """The centred (h, w) window (an int: a square), zero-padded where the image is smaller."""
    if isinstance(output_size, numbers.Number):
        output_size = (int(output_size), int(output_size))
    elif isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        output_size = (output_size[0], output_size[0])
    image = planes(img, "center_crop")
    return image.wrap(center_crop_planes(image, image.array, *output_size))


def hflip(img):
    """The image mirrored left to right."""
    image = planes(img, "hflip")
    return image.wrap(image.array[..., ::-1])


def resized_crop(img, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR,
                 antialias=True):
    """crop, then resize to ``size``."""
    mode = interpolation_mode(interpolation, "resized_crop")
    image = planes(img, "resized_crop")
    window = crop_planes(image, image.array, top, left, height, width)
    new_h, new_w = output_size(*window.shape[-2:], size)
    return image.wrap(resize_planes(window, image.xp, new_h, new_w, mode, antialias))


def is_sequence(value):
    return isinstance(value, Sequence) and not isinstance(value, str)


def setup_size(size, who):
    """torchvision's _setup_size, with checks: a number -> (n, n), a 1-sequence -> (s, s), a
    2-sequence as given; every side a positive int."""
    if isinstance(size, numbers.Number) and not isinstance(size, bool):
        size = (int(size), int(size))
    elif is_sequence(size) and len(size) == 1:
        size = (size[0], size[0])
    elif not is_sequence(size):
        raise TypeError(f"{who}: size should be an int or a sequence (h, w), got {type(size)}")
    elif len(size) != 2:
        raise ValueError("Please provide only two dimensions (h, w) for size.")
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in size):
        raise ValueError(f"{who}: size must be positive ints, got {size!r}")
    return size

