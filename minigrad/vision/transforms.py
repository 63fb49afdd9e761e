"""torchvision.transforms' names and semantics, batched where they can be.

    import minigrad.vision as torchvision
    from minigrad.vision import transforms
    trans = transforms.Compose([transforms.Resize(224), transforms.ToTensor()])
    train = torchvision.datasets.FashionMNIST(root="../data", train=True, transform=trans)

What a transform accepts (see `minigrad.vision.functional`): a NumPy image array (H, W) or (H, W, C),
uint8 as a rule, in the part of torchvision's PIL image (minigrad's datasets hand transforms such
arrays; a transform returns the same kind), a PIL image if Pillow is installed (returned as such an
array), or a Tensor (..., C, H, W) / (..., H, W).

Batching: ``transform(img)`` transforms one image; where ``transform.batchable`` is true,
``transform.batch(stack)`` transforms a stack along a new leading axis (a NumPy array (B, H, W) or
(B, H, W, C), or a Tensor (B, C, H, W)) and equals stacking the per-image results, random transforms
drawing their parameters per image. ``DataLoader`` uses ``batch`` through the datasets' fast path.
Random parameters come from minigrad's CPU generator: ``minigrad.manual_seed`` makes them
reproducible. A random transform's batch draws them in the order its per-image calls would; a
Compose's batch runs each transform over the whole stack in turn, so with two random transforms in it
the draws come in another order (the same distribution).
"""
import math
import numbers
import warnings

from ..device import backend
from ..random import generator
from . import functional as F
from .functional import InterpolationMode

__all__ = ["Compose", "ToTensor", "Resize", "CenterCrop", "RandomCrop", "RandomHorizontalFlip",
           "RandomResizedCrop", "Normalize", "Pad", "Lambda", "InterpolationMode"]


def _rng():
    return generator(backend("cpu"))


class Compose:
    """Apply ``transforms`` in order; batchable when every one of them is."""

    def __init__(self, transforms):
        self.transforms = transforms

    @property
    def batchable(self):
        return all(getattr(t, "batchable", False) for t in self.transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def batch(self, imgs):
        for t in self.transforms:
            if not getattr(t, "batchable", False):
                raise TypeError(f"Compose.batch: {t!r} is not batchable; call the Compose on each "
                                f"image instead")
        for t in self.transforms:
            imgs = t.batch(imgs)
        return imgs

    def __repr__(self):
        return f"{type(self).__name__}(" + "".join(f"\n    {t}" for t in self.transforms) + "\n)"


class _PlanesTransform:
    """A transform written once over planes (see `functional`): ``_apply(image, array, batched)``
    gets the planes of one image, or of a stack with the batch axis first."""
    batchable = True

    def __call__(self, img):
        image = F.planes(img, type(self).__name__)
        return image.wrap(self._apply(image, image.array, batched=False))

    def batch(self, imgs):
        image = F.planes(imgs, f"{type(self).__name__}.batch", batched=True)
        return image.wrap(self._apply(image, image.array, batched=True))


class ToTensor:
    """A uint8 image (H, W) or (H, W, C) -> a float32 tensor (C, H, W) in [0, 1]; other ndarray
    dtypes keep theirs; ``batch``: (B, H, W[, C]) -> (B, C, H, W)."""
    batchable = True

    def __call__(self, pic):
        return F.to_tensor(pic)

    def batch(self, pics):
        return F.to_tensor_batch(pics)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Normalize:
    """(tensor - mean) / std per channel of a float tensor (..., C, H, W)."""
    batchable = True

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    batch = __call__  # (B, C, H, W) is an image tensor (..., C, H, W) already

    def __repr__(self):
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


def _check_antialias(antialias, who):
    if antialias is not None and not isinstance(antialias, bool):
        raise TypeError(f"{who}: antialias should be True, False or None, got {antialias!r}")
    return bool(antialias)  # None means False, torchvision's rule for tensors


class Resize(_PlanesTransform):
    """Resize to ``size``: an int is the shorter side (the longer one int(size * long / short),
    capped by ``max_size``), (h, w) the exact size. Bilinear (antialiased when downscaling, as
    torchvision's tensor path), nearest or nearest-exact."""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
        if isinstance(size, bool) or not isinstance(size, (int, list, tuple)):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, (list, tuple)) and len(size) not in (1, 2):
            raise ValueError("If size is a sequence, it should have 1 or 2 values")
        sides = size if isinstance(size, (list, tuple)) else [size]
        if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sides):
            raise ValueError(f"Resize: size must be a positive int or a sequence of positive ints, "
                             f"got {size!r}")
        if max_size is not None:
            if len(sides) != 1:
                raise ValueError("max_size should only be passed if size specifies the length of the "
                                 "smaller edge, i.e. size should be an int or a sequence of length 1")
            if not isinstance(max_size, int) or max_size <= sides[0]:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the requested "
                                 f"size for the smaller edge size = {size}")
        self.size, self.max_size = size, max_size
        self.interpolation = F.interpolation_mode(interpolation, "Resize")
        self.antialias = antialias
        self._antialias = _check_antialias(antialias, "Resize")

    def _apply(self, image, array, batched):
        new_h, new_w = F.output_size(*array.shape[-2:], self.size, self.max_size)
        return F.resize_planes(array, image.xp, new_h, new_w, self.interpolation, self._antialias)

    def __repr__(self):
        return (f"{type(self).__name__}(size={self.size}, interpolation={self.interpolation.value}, "
                f"max_size={self.max_size}, antialias={self.antialias})")


class CenterCrop(_PlanesTransform):
    """The centred (h, w) window (an int: square), zero-padded where the image is smaller."""

    def __init__(self, size):
        self.size = F.setup_size(size, "CenterCrop")

    def _apply(self, image, array, batched):
        return F.center_crop_planes(image, array, *self.size)

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size})"


def _check_padding_args(padding, fill, padding_mode, who):
    if padding is not None:
        F.parse_padding(padding, who)
    if fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError(f"{who}: Got inappropriate fill arg {fill!r}")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")


class Pad(_PlanesTransform):
    """Pad by ``padding``: an int (every side), (left/right, top/bottom) or (left, top, right,
    bottom); ``padding_mode`` constant (with ``fill``: a number or one per channel), edge, reflect or
    symmetric; negative amounts crop."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        _check_padding_args(padding, fill, padding_mode, "Pad")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode
        self._ltrb = F.parse_padding(padding)

    def _apply(self, image, array, batched):
        return F.pad_planes(image, array, self._ltrb, self.fill, self.padding_mode)

    def __repr__(self):
        return (f"{type(self).__name__}(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


def _random_crop_box(height, width, crop_h, crop_w):
    if height < crop_h or width < crop_w:
        raise ValueError(f"Required crop size {(crop_h, crop_w)} is larger than input image size "
                         f"{(height, width)}")
    if (height, width) == (crop_h, crop_w):
        return 0, 0, height, width
    rng = _rng()
    top = int(rng.integers(0, height - crop_h + 1))
    left = int(rng.integers(0, width - crop_w + 1))
    return top, left, crop_h, crop_w


class RandomCrop(_PlanesTransform):
    """A (h, w) window at a random place, after ``padding`` (as Pad) and, with ``pad_if_needed``,
    padding a side that is shorter than the crop by the difference on both ends."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = tuple(F.setup_size(size, "RandomCrop"))
        _check_padding_args(padding, fill, padding_mode, "RandomCrop")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    @staticmethod
    def get_params(img, output_size):
        """(top, left, h, w) of a random crop of ``output_size`` from ``img``."""
        _, height, width = F.get_dimensions(img)
        return _random_crop_box(height, width, *output_size)

    def _apply(self, image, array, batched):
        if self.padding is not None:
            array = F.pad_planes(image, array, F.parse_padding(self.padding), self.fill,
                                 self.padding_mode)
        crop_h, crop_w = self.size
        height, width = array.shape[-2:]
        if self.pad_if_needed and width < crop_w:
            array = F.pad_planes(image, array, [crop_w - width, 0] * 2, self.fill, self.padding_mode)
        if self.pad_if_needed and height < crop_h:
            array = F.pad_planes(image, array, [0, crop_h - height] * 2, self.fill, self.padding_mode)
        height, width = array.shape[-2:]
        if not batched:
            top, left, _, _ = _random_crop_box(height, width, crop_h, crop_w)
            return array[..., top:top + crop_h, left:left + crop_w]
        windows = []
        for sample in array:
            top, left, _, _ = _random_crop_box(height, width, crop_h, crop_w)
            windows.append(sample[..., top:top + crop_h, left:left + crop_w])
        return image.xp.stack(windows)

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip(_PlanesTransform):
    """Mirror left to right with probability ``p``; a batch draws one flag per image."""

    def __init__(self, p=0.5):
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p should be a probability in [0, 1], got {p!r}")
        self.p = p

    def _apply(self, image, array, batched):
        if not batched:
            return array[..., ::-1] if _rng().random() < self.p else array
        flipped = (_rng().random(len(array)) < self.p).nonzero()[0]
        out = image.xp.array(array)
        index = image.xp.asarray(flipped)
        out[index] = array[index][..., ::-1]
        return out

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"


def _random_resized_box(height, width, scale, ratio):
    """torchvision's RandomResizedCrop.get_params: up to 10 tries of a random area fraction in
    ``scale`` and a log-uniform aspect ratio in ``ratio``, then the central crop of the image clamped
    to ``ratio``."""
    rng = _rng()
    area = height * width
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        target_area = area * rng.uniform(scale[0], scale[1])
        aspect_ratio = math.exp(rng.uniform(log_low, log_high))
        w = int(round(math.sqrt(target_area * aspect_ratio)))
        h = int(round(math.sqrt(target_area / aspect_ratio)))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return top, left, h, w
    in_ratio = float(width) / float(height)
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


class RandomResizedCrop(_PlanesTransform):
    """A random window (area fraction in ``scale``, aspect ratio in ``ratio``) resized to ``size``."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        self.size = F.setup_size(size, "RandomResizedCrop")
        if not F.is_sequence(scale) or len(scale) != 2:
            raise TypeError(f"Scale should be a sequence (min, max), got {scale!r}")
        if not F.is_sequence(ratio) or len(ratio) != 2:
            raise TypeError(f"Ratio should be a sequence (min, max), got {ratio!r}")
        if not (0 < ratio[0] and 0 < ratio[1]) or min(scale) < 0:
            raise ValueError(f"RandomResizedCrop: ratio must be positive and scale non-negative, got "
                             f"scale={scale!r}, ratio={ratio!r}")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("Scale and ratio should be of kind (min, max)")
        self.interpolation = F.interpolation_mode(interpolation, "RandomResizedCrop")
        self.antialias = antialias
        self._antialias = _check_antialias(antialias, "RandomResizedCrop")
        self.scale, self.ratio = scale, ratio

    @staticmethod
    def get_params(img, scale, ratio):
        """(top, left, h, w) of a random crop of ``img`` (torchvision's algorithm)."""
        _, height, width = F.get_dimensions(img)
        return _random_resized_box(height, width, scale, ratio)

    def _resized_crop(self, image, array):
        top, left, h, w = _random_resized_box(*array.shape[-2:], self.scale, self.ratio)
        window = array[..., top:top + h, left:left + w]
        return F.resize_planes(window, image.xp, *self.size, self.interpolation, self._antialias)

    def _apply(self, image, array, batched):
        if not batched:
            return self._resized_crop(image, array)
        return image.xp.stack([self._resized_crop(image, sample) for sample in array])

    def __repr__(self):
        return (f"{type(self).__name__}(size={self.size}, "
                f"scale={tuple(round(s, 4) for s in self.scale)}, "
                f"ratio={tuple(round(r, 4) for r in self.ratio)}, "
                f"interpolation={self.interpolation.value}, antialias={self.antialias})")


class Lambda:
    """A user function as a transform; not batchable (the function expects one image)."""
    batchable = False

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {repr(type(lambd).__name__)}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return f"{type(self).__name__}()"
