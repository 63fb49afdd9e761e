"""minigrad.vision.transforms against torchvision's documented semantics, a float64 reference of the
antialiased bilinear resize written from its algorithm, and torch's own interpolate / pad (torchvision
itself is not importable beside the CPU torch)."""
import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad.tensor import Tensor
from minigrad.vision import functional as VF
from minigrad.vision import transforms as T

RNG = np.random.default_rng(20240611)


def image_u8(*shape):
    return RNG.integers(0, 256, shape, dtype=np.uint8)


def as_tensor(array):
    return mg.from_numpy(np.ascontiguousarray(array))


# ----- the resize reference --------------------------------------------------------------------------
def reference_weights(size_in, size_out, antialias):
    """PIL's separable triangle filter as torch's antialiased bilinear uses it, one output pixel at a
    time; without antialias plain bilinear, align_corners=False, edges clamped."""
    scale = size_in / size_out
    weights = np.zeros((size_out, size_in))
    for i in range(size_out):
        if antialias:
            support = scale if scale >= 1 else 1.0
            center = scale * (i + 0.5)
            first = max(int(center - support + 0.5), 0)
            stop = min(int(center + support + 0.5), size_in)
            taps = [max(0.0, 1.0 - abs((j - center + 0.5) / support)) for j in range(first, stop)]
            total = sum(taps)
            for j, tap in zip(range(first, stop), taps):
                weights[i, j] = tap / total if total else 0.0
        else:
            source = max(scale * (i + 0.5) - 0.5, 0.0)
            low = int(source)
            high = min(low + 1, size_in - 1)
            weights[i, low] += 1 - (source - low)
            weights[i, high] += source - low
    return weights


def reference_resize(planes, new_h, new_w, antialias=True):
    rows = reference_weights(planes.shape[-2], new_h, antialias)
    cols = reference_weights(planes.shape[-1], new_w, antialias)
    return np.einsum("ya,...ab,xb->...yx", rows, planes.astype(np.float64), cols)


def random_sizes(count):
    """(h, w, new_h, new_w): up, down, mixed, strong downscaling and size 1 among them."""
    sizes = [(28, 28, 224, 224), (28, 28, 96, 96), (100, 80, 7, 9), (5, 1, 1, 5), (1, 1, 3, 2)]
    while len(sizes) < count:
        h, w = RNG.integers(1, 48, 2)
        new_h, new_w = RNG.integers(1, 64, 2)
        sizes.append((int(h), int(w), int(new_h), int(new_w)))
    return sizes


@pytest.mark.parametrize("antialias", [True, False])
def test_resize_float_matches_reference_and_torch(antialias):
    for h, w, new_h, new_w in random_sizes(30):
        x = RNG.random((2, 3, h, w), dtype=np.float32)
        ours = T.Resize((new_h, new_w), antialias=antialias)(as_tensor(x)).numpy()
        assert ours.shape == (2, 3, new_h, new_w) and ours.dtype == np.float32
        if (h, w) != (new_h, new_w):
            np.testing.assert_allclose(ours, reference_resize(x, new_h, new_w, antialias),
                                       rtol=0, atol=2e-6, err_msg=str((h, w, new_h, new_w)))
            expected = torch.nn.functional.interpolate(
                torch.from_numpy(x), size=(new_h, new_w), mode="bilinear", antialias=antialias,
                align_corners=False).numpy()
            np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-5,  # torch: float32 weights
                                       err_msg=str((h, w, new_h, new_w)))


def test_resize_float64_computes_in_float64():
    x = RNG.random((1, 13, 17))
    ours = T.Resize((5, 31))(as_tensor(x)).numpy()
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours, reference_resize(x, 5, 31), rtol=0, atol=1e-12)


def test_resize_uint8_rounds_back_within_one():
    for h, w, new_h, new_w in random_sizes(20):
        x = image_u8(2, h, w)
        ours = T.Resize((new_h, new_w))(as_tensor(x)).numpy()
        assert ours.dtype == np.uint8
        rounded = np.clip(np.rint(reference_resize(x, new_h, new_w)), 0, 255)
        assert np.abs(ours.astype(int) - rounded).max() <= 1
        assert (ours == rounded).mean() > 0.99
        by_torch = torch.nn.functional.interpolate(
            torch.from_numpy(x[None]), size=(new_h, new_w), mode="bilinear", antialias=True,
            align_corners=False)[0].numpy()
        assert np.abs(ours.astype(int) - by_torch.astype(int)).max() <= 1


@pytest.mark.parametrize("mode,torch_mode", [(T.InterpolationMode.NEAREST, "nearest"),
                                             (T.InterpolationMode.NEAREST_EXACT, "nearest-exact")])
def test_resize_nearest_matches_torch_exactly(mode, torch_mode):
    for h, w, new_h, new_w in random_sizes(25):
        x = image_u8(1, 2, h, w)
        ours = T.Resize((new_h, new_w), interpolation=mode)(as_tensor(x)).numpy()
        expected = torch.nn.functional.interpolate(torch.from_numpy(x), size=(new_h, new_w),
                                                   mode=torch_mode).numpy()
        np.testing.assert_array_equal(ours, expected, err_msg=str((h, w, new_h, new_w)))


def test_resize_output_size_rule():
    def size_of(transform, h, w):
        return transform(np.zeros((h, w), np.uint8)).shape
    assert size_of(T.Resize(224), 28, 28) == (224, 224)
    assert size_of(T.Resize(224), 100, 50) == (448, 224)
    assert size_of(T.Resize(4), 3, 7) == (4, 9)       # int(4 * 7 / 3) = 9
    assert size_of(T.Resize([4]), 7, 3) == (9, 4)
    assert size_of(T.Resize((5, 6)), 3, 7) == (5, 6)
    assert size_of(T.Resize(100, max_size=150), 50, 200) == (37, 150)   # int(150 * 100 / 400)
    assert size_of(T.Resize(100, max_size=500), 50, 200) == (100, 400)


def test_resize_keeps_the_array_kind_and_layout():
    hwc = image_u8(20, 30, 3)
    out = T.Resize((9, 45))(hwc)
    assert isinstance(out, np.ndarray) and out.shape == (9, 45, 3) and out.dtype == np.uint8
    chw = T.Resize((9, 45))(as_tensor(hwc.transpose(2, 0, 1))).numpy()
    np.testing.assert_array_equal(out, chw.transpose(1, 2, 0))
    same = T.Resize(20)(hwc)
    np.testing.assert_array_equal(same, hwc)


def test_resize_weights_are_cached():
    VF.linear_weights.cache_clear()
    transform = T.Resize((56, 40))
    for _ in range(3):
        transform.batch(image_u8(4, 28, 20))
    info = VF.linear_weights.cache_info()
    assert info.misses == 2 and info.hits == 4  # rows and columns, made once


def test_pil_images_are_read_as_arrays():
    Image = pytest.importorskip("PIL.Image")
    rgb = image_u8(12, 10, 3)
    pic = Image.fromarray(rgb)
    np.testing.assert_array_equal(T.Resize((5, 7))(pic), T.Resize((5, 7))(rgb))
    np.testing.assert_array_equal(T.ToTensor()(pic).numpy(), T.ToTensor()(rgb).numpy())
    gray = Image.fromarray(rgb[..., 0])
    assert T.ToTensor()(gray).shape == (1, 12, 10)
    mask = Image.fromarray(rgb[..., 0] > 128)                  # mode "1": 0 or 1.0
    np.testing.assert_array_equal(T.ToTensor()(mask).numpy()[0], (rgb[..., 0] > 128).astype(np.float32))
    floats = Image.fromarray(rgb[..., 0].astype(np.float32) / 7)  # mode "F": kept, not scaled
    out = T.ToTensor()(floats)
    assert out.dtype == mg.float32 and np.allclose(out.numpy()[0], rgb[..., 0] / np.float32(7))


# ----- ToTensor, Normalize --------------------------------------------------------------------------
def test_to_tensor_scales_uint8_like_torch():
    hwc = image_u8(5, 6, 3)
    out = T.ToTensor()(hwc)
    assert isinstance(out, Tensor) and out.dtype == mg.float32 and out.shape == (3, 5, 6)
    np.testing.assert_array_equal(out.numpy(), torch.from_numpy(hwc).permute(2, 0, 1).float()
                                  .div(255).numpy())
    assert T.ToTensor()(hwc[..., 0]).shape == (1, 5, 6)
    doubles = RNG.random((4, 5))
    kept = T.ToTensor()(doubles)
    assert kept.dtype == mg.float64
    np.testing.assert_array_equal(kept.numpy()[0], doubles)


def test_to_tensor_refusals():
    with pytest.raises(TypeError, match=r"pic should be PIL Image or ndarray. Got <class "
                                        r"'minigrad.tensor.Tensor'>"):
        T.ToTensor()(mg.zeros(1, 2, 2))
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray. Got <class 'list'>"):
        T.ToTensor()([[1, 2]])
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4 dimensions"):
        T.ToTensor()(image_u8(1, 2, 2, 3))
    with pytest.raises(ValueError, match="3/4 dimensional"):
        T.ToTensor().batch(image_u8(2, 2))
    with pytest.raises(TypeError, match="unsupported NumPy dtype"):
        T.ToTensor()(np.zeros((2, 2), np.complex64))


def test_normalize_matches_torch_exactly():
    x = RNG.random((2, 3, 4, 5), dtype=np.float32)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    ours = T.Normalize(mean, std)(as_tensor(x)).numpy()
    m, s = torch.tensor(mean)[:, None, None], torch.tensor(std)[:, None, None]
    np.testing.assert_array_equal(ours, torch.from_numpy(x).sub(m).div(s).numpy())
    one = T.Normalize([0.5], [0.5])(as_tensor(x[0])).numpy()
    np.testing.assert_array_equal(one, (x[0] - np.float32(0.5)) / np.float32(0.5))


def test_normalize_inplace_and_differentiable():
    x = as_tensor(RNG.random((3, 2, 2), dtype=np.float32))
    before = x.numpy().copy()
    out = T.Normalize([1.0, 2.0, 3.0], [2.0, 2.0, 2.0], inplace=True)(x)
    assert out is x
    np.testing.assert_allclose(x.numpy(), (before - np.array([1, 2, 3])[:, None, None]) / 2)
    leaf = mg.ones(2, 1, 1, requires_grad=True)
    T.Normalize([0.0, 0.0], [2.0, 4.0])(leaf).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy().ravel(), [0.5, 0.25])


def test_normalize_refusals():
    with pytest.raises(TypeError, match="img should be Tensor Image. Got <class 'numpy.ndarray'>"):
        T.Normalize([0.5], [0.5])(np.zeros((1, 2, 2), np.float32))
    with pytest.raises(TypeError, match="Input tensor should be a float tensor. Got torch.uint8."):
        T.Normalize([0.5], [0.5])(as_tensor(image_u8(1, 2, 2)))
    with pytest.raises(ValueError, match="std evaluated to zero after conversion to torch.float32"):
        T.Normalize([0.5, 0.5], [1.0, 0.0])(mg.zeros(2, 2, 2))
    with pytest.raises(ValueError, match="mean has 3 values but the image has 2 channels"):
        T.Normalize([0.1, 0.2, 0.3], [1.0])(mg.zeros(2, 2, 2))
    with pytest.raises(ValueError, match=r"size \(\.\.\., C, H, W\)"):
        T.Normalize([0.5], [0.5])(mg.zeros(4, 4))


# ----- crops, pads, flips ---------------------------------------------------------------------------
def test_center_crop_offsets_round_half_to_even():
    x = np.arange(36, dtype=np.uint8).reshape(6, 6)
    np.testing.assert_array_equal(T.CenterCrop(3)(x), x[2:5, 2:5])    # round(1.5) = 2
    np.testing.assert_array_equal(T.CenterCrop((1, 4))(x), x[2:3, 1:5])  # round(2.5) = 2, round(1)
    y = np.arange(35, dtype=np.uint8).reshape(5, 7)
    np.testing.assert_array_equal(T.CenterCrop((2, 4))(y), y[2:4, 2:6])  # round(1.5), round(1.5)
    for _ in range(20):
        h, w, ch, cw = (int(v) for v in RNG.integers(1, 20, 4))
        image = image_u8(h, w, 3)
        if ch <= h and cw <= w:
            top, left = int(round((h - ch) / 2)), int(round((w - cw) / 2))
            np.testing.assert_array_equal(T.CenterCrop((ch, cw))(image),
                                          image[top:top + ch, left:left + cw])


def test_center_crop_pads_with_zeros_when_larger():
    x = np.arange(1, 7, dtype=np.uint8).reshape(2, 3)
    out = T.CenterCrop(5)(x)   # pad left/right 1/1, top/bottom 1/2
    expected = np.zeros((5, 5), np.uint8)
    expected[1:3, 1:4] = x
    np.testing.assert_array_equal(out, expected)
    wide = T.CenterCrop((1, 6))(x)   # taller than 1: cropped at round(0.5) = 0; wider: padded 1/2
    np.testing.assert_array_equal(wide, [[0, 1, 2, 3, 0, 0]])


@pytest.mark.parametrize("padding", [3, [2], (1, 2), [0, 1, 2, 3]])
@pytest.mark.parametrize("mode,torch_mode", [("constant", "constant"), ("edge", "replicate"),
                                             ("reflect", "reflect")])
def test_pad_matches_torch(padding, mode, torch_mode):
    x = RNG.random((2, 3, 6, 5), dtype=np.float32)
    left, top, right, bottom = VF.parse_padding(padding)
    kwargs = {"value": 0.25} if mode == "constant" else {}
    expected = torch.nn.functional.pad(torch.from_numpy(x), (left, right, top, bottom),
                                       mode=torch_mode, **kwargs).numpy()
    fill = 0.25 if mode == "constant" else 0
    np.testing.assert_array_equal(T.Pad(padding, fill, mode)(as_tensor(x)).numpy(), expected)


def test_pad_symmetric_negative_and_per_channel_fill():
    x = image_u8(4, 5, 3)
    np.testing.assert_array_equal(T.Pad((1, 2, 3, 0), padding_mode="symmetric")(x),
                                  np.pad(x, ((2, 0), (1, 3), (0, 0)), mode="symmetric"))
    np.testing.assert_array_equal(T.Pad([-1, 2])(x[..., 0]),       # left/right -1 crop a column
                                  np.pad(x[:, 1:-1, 0], ((2, 2), (0, 0))))
    colored = T.Pad(1, fill=(10, 20, 30))(x)
    assert colored.shape == (6, 7, 3)
    np.testing.assert_array_equal(colored[0, 0], [10, 20, 30])
    np.testing.assert_array_equal(colored[1:-1, 1:-1], x)


def test_pad_refusals():
    with pytest.raises(ValueError, match="Padding must be an int or a 1, 2, or 4 element tuple, not"):
        T.Pad((1, 2, 3))
    with pytest.raises(ValueError, match="Padding mode should be either constant, edge, reflect or"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(TypeError, match="inappropriate padding"):
        T.Pad("1")
    with pytest.raises(ValueError, match="fill .* has 2 values but the image has 3 channel"):
        T.Pad(1, fill=(1, 2))(image_u8(2, 2, 3))
    with pytest.raises(ValueError, match="out of range for a uint8"):
        T.Pad(1, fill=300)(image_u8(2, 2))


def find_window(window, image):
    """Every (top, left) where ``window`` sits in ``image`` (H, W last)."""
    h, w = window.shape[-2:]
    return [(i, j) for i in range(image.shape[-2] - h + 1) for j in range(image.shape[-1] - w + 1)
            if np.array_equal(image[..., i:i + h, j:j + w], window)]


def test_random_crop_windows_and_padding():
    x = np.arange(48, dtype=np.uint8).reshape(6, 8)   # all values distinct: one place per window
    seen = set()
    for _ in range(200):
        place = find_window(T.RandomCrop((3, 4))(x), x)
        assert len(place) == 1
        seen.add(place[0])
    assert seen == {(i, j) for i in range(4) for j in range(5)}
    padded = T.RandomCrop(8, padding=1, fill=255)(x)
    assert padded.shape == (8, 8)
    assert len(find_window(padded, np.pad(x, 1, constant_values=255))) >= 1
    grown = T.RandomCrop((7, 9), pad_if_needed=True, padding_mode="edge")(x)
    assert grown.shape == (7, 9) and find_window(grown, np.pad(x, ((1, 1), (1, 1)), mode="edge"))
    with pytest.raises(ValueError, match=r"Required crop size \(7, 4\) is larger than input image "
                                         r"size \(6, 8\)"):
        T.RandomCrop((7, 4))(x)


def test_random_draws_follow_manual_seed():
    x = image_u8(20, 20, 3)
    for transform in (T.RandomCrop(9), T.RandomResizedCrop(8), T.RandomHorizontalFlip()):
        mg.manual_seed(5)
        first = [transform(x) for _ in range(5)]
        mg.manual_seed(5)
        again = [transform(x) for _ in range(5)]
        for a, b in zip(first, again):
            np.testing.assert_array_equal(a, b)


def test_random_horizontal_flip_probability():
    x = image_u8(2, 3)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x), x[:, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(x), x)
    flips = T.RandomHorizontalFlip(0.3).batch(np.repeat(x[None], 4000, axis=0))
    fraction = np.mean([np.array_equal(f, x[:, ::-1]) for f in flips])
    assert 0.27 < fraction < 0.33
    with pytest.raises(ValueError, match="probability"):
        T.RandomHorizontalFlip(2)


def test_random_resized_crop_params():
    x = image_u8(40, 60)
    scale, ratio = (0.2, 0.6), (0.5, 2.0)
    for _ in range(200):
        top, left, h, w = T.RandomResizedCrop.get_params(x, scale, ratio)
        assert 0 <= top <= 40 - h and 0 <= left <= 60 - w
        assert 0.2 * 2400 - 60 <= h * w <= 0.6 * 2400 + 60         # rounding of the sides
        assert 0.5 * 0.9 <= w / h <= 2.0 * 1.1
    # no try fits (area above the image's): torchvision's central fallback, clamped to the ratio
    never_fits, ratio = (2.0, 3.0), (3 / 4, 4 / 3)
    assert T.RandomResizedCrop.get_params(image_u8(10, 40), never_fits, ratio) == (0, 13, 10, 13)
    assert T.RandomResizedCrop.get_params(image_u8(40, 10), never_fits, ratio) == (13, 0, 13, 10)
    assert T.RandomResizedCrop.get_params(image_u8(10, 11), never_fits, ratio) == (0, 0, 10, 11)


def test_random_resized_crop_is_resized_crop_of_its_params():
    x = image_u8(30, 40, 3)
    mg.manual_seed(11)
    out = T.RandomResizedCrop((12, 16))(x)
    mg.manual_seed(11)
    top, left, h, w = T.RandomResizedCrop.get_params(x, (0.08, 1.0), (3 / 4, 4 / 3))
    assert out.shape == (12, 16, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, VF.resized_crop(x, top, left, h, w, [12, 16]))
    np.testing.assert_array_equal(out, VF.resize(VF.crop(x, top, left, h, w), [12, 16]))


def test_lambda_and_compose():
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        T.Lambda(3)
    double = T.Lambda(lambda img: img * 2)
    assert double(3) == 6 and not double.batchable
    pipeline = T.Compose([T.Resize(4), double])
    assert not pipeline.batchable
    with pytest.raises(TypeError, match="not batchable"):
        pipeline.batch(image_u8(2, 8, 8))
    assert T.Compose([T.CenterCrop(2), T.ToTensor(), T.Normalize([0.5], [0.5])]).batchable


# ----- batch == stacked per-image results -------------------------------------------------------------
BATCHABLE = [
    T.Resize(13), T.Resize((9, 31), antialias=False),
    T.Resize(40, interpolation=T.InterpolationMode.NEAREST),
    T.CenterCrop((7, 30)), T.Pad((1, 2, 0, 3), fill=7), T.Pad(2, padding_mode="reflect"),
    T.RandomCrop(10, padding=2, padding_mode="symmetric"), T.RandomCrop((18, 30), pad_if_needed=True),
    T.RandomHorizontalFlip(), T.RandomResizedCrop(11), T.RandomResizedCrop((5, 8), scale=(0.5, 1.0)),
    T.Compose([T.RandomCrop(16), T.Resize(24), T.CenterCrop(20)]),
]


@pytest.mark.parametrize("transform", BATCHABLE, ids=repr)
@pytest.mark.parametrize("layout", ["gray", "rgb", "tensor_u8", "tensor_float"])
def test_batch_equals_stacked_calls(transform, layout):
    shapes = {"gray": (6, 20, 25), "rgb": (6, 20, 25, 3), "tensor_u8": (6, 2, 20, 25),
              "tensor_float": (6, 2, 20, 25)}
    stack = image_u8(*shapes[layout])
    if layout.startswith("tensor"):
        stack = as_tensor(stack if layout == "tensor_u8" else stack / np.float32(255))
    assert transform.batchable
    mg.manual_seed(3)
    batched = transform.batch(stack)
    mg.manual_seed(3)
    one_by_one = [transform(stack[i]) for i in range(6)]
    assert type(batched) is type(one_by_one[0])
    np.testing.assert_array_equal(np.asarray(batched), np.stack([np.asarray(o) for o in one_by_one]))


def test_compose_batch_of_two_random_transforms_draws_per_image():
    stack = RNG.permutation(6 * 9 * 9).astype(np.float32).reshape(6, 1, 9, 9)  # distinct values
    out = T.Compose([T.RandomCrop(5), T.RandomHorizontalFlip()]).batch(as_tensor(stack)).numpy()
    assert out.shape == (6, 1, 5, 5)
    for window, image in zip(out, stack):  # each a window of its own image, mirrored or not
        assert len(find_window(window, image)) + len(find_window(window[..., ::-1], image)) == 1


def test_to_tensor_and_normalize_batches():
    stack = image_u8(5, 7, 6, 3)
    batched = T.Compose([T.ToTensor(), T.Normalize([0.1, 0.2, 0.3], [0.5, 0.6, 0.7])]).batch(stack)
    assert batched.shape == (5, 3, 7, 6) and batched.dtype == mg.float32
    one = T.Compose([T.ToTensor(), T.Normalize([0.1, 0.2, 0.3], [0.5, 0.6, 0.7])])
    np.testing.assert_array_equal(batched.numpy(), np.stack([one(s).numpy() for s in stack]))
    gray = T.Compose([T.Resize(56), T.ToTensor()]).batch(image_u8(4, 28, 28))
    assert gray.shape == (4, 1, 56, 56) and gray.dtype == mg.float32


def test_dataset_fast_path_uses_batch():
    from minigrad.data.datasets import MNIST
    dataset = MNIST(train=False, transform=T.Compose([T.Resize(32), T.ToTensor()]))
    images, labels = dataset.get_batch(np.arange(4))
    assert images.shape == (4, 1, 32, 32)
    np.testing.assert_array_equal(images.numpy(), np.stack([dataset[i][0].numpy() for i in range(4)]))
    assert labels.tolist() == [dataset[i][1] for i in range(4)]


# ----- reprs and bad input ----------------------------------------------------------------------------
def test_reprs_are_torchvisions():
    assert repr(T.Compose([T.Resize(224), T.ToTensor()])) == (
        "Compose(\n    Resize(size=224, interpolation=bilinear, max_size=None, antialias=True)\n"
        "    ToTensor()\n)")
    assert repr(T.CenterCrop(224)) == "CenterCrop(size=(224, 224))"
    assert repr(T.RandomCrop(32, padding=4)) == "RandomCrop(size=(32, 32), padding=4)"
    assert repr(T.RandomHorizontalFlip()) == "RandomHorizontalFlip(p=0.5)"
    assert repr(T.RandomResizedCrop(224)) == (
        "RandomResizedCrop(size=(224, 224), scale=(0.08, 1.0), ratio=(0.75, 1.3333), "
        "interpolation=bilinear, antialias=True)")
    assert repr(T.Normalize([0.5], [0.25])) == "Normalize(mean=[0.5], std=[0.25])"
    assert repr(T.Pad(4)) == "Pad(padding=4, fill=0, padding_mode=constant)"
    assert repr(T.Lambda(abs)) == "Lambda()"


def test_bad_arguments_are_refused_at_construction():
    with pytest.raises(TypeError, match="Size should be int or sequence. Got <class 'str'>"):
        T.Resize("224")
    with pytest.raises(ValueError, match="1 or 2 values"):
        T.Resize((1, 2, 3))
    with pytest.raises(ValueError, match="positive"):
        T.Resize(0)
    with pytest.raises(ValueError, match="positive"):
        T.Resize((4, -1))
    with pytest.raises(ValueError, match="max_size = 10 must be strictly greater"):
        T.Resize(10, max_size=10)
    with pytest.raises(ValueError, match="max_size should only be passed"):
        T.Resize((4, 5), max_size=10)
    with pytest.raises(NotImplementedError, match="'bicubic' is not implemented"):
        T.Resize(4, interpolation=T.InterpolationMode.BICUBIC)
    with pytest.raises(TypeError, match="Argument interpolation should be a InterpolationMode"):
        T.Resize(4, interpolation="bilinear")
    assert T.Resize(4, interpolation=0).interpolation is T.InterpolationMode.NEAREST
    with pytest.raises(ValueError, match="Please provide only two dimensions"):
        T.CenterCrop((1, 2, 3))
    with pytest.raises(ValueError, match="positive"):
        T.RandomCrop(0)
    with pytest.raises(TypeError, match="Scale should be a sequence"):
        T.RandomResizedCrop(4, scale=0.5)
    with pytest.warns(UserWarning, match="Scale and ratio should be of kind"):
        T.RandomResizedCrop(4, scale=(1.0, 0.5))


def test_bad_images_are_refused_at_the_transform():
    with pytest.raises(TypeError, match=r"Resize: expected a NumPy image array .* got <class 'list'>"):
        T.Resize(4)([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match=r"CenterCrop: expected an image \(H, W\) or \(H, W, C\), "
                                         r"got an array of shape \(2, 3, 4, 5\)"):
        T.CenterCrop(2)(image_u8(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"Resize.batch: expected a stack .* shape \(4, 4\)"):
        T.Resize(2).batch(image_u8(4, 4))
    with pytest.raises(TypeError, match="Tensor is not a torch image"):
        T.Pad(1)(mg.zeros(5))
    with pytest.raises(TypeError, match="image array of numbers"):
        T.Resize(2)(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(RuntimeError, match="Resize is not differentiable .* requires grad"):
        T.Resize(2)(mg.ones(1, 4, 4, requires_grad=True))
