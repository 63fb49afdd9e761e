"""The Numba CPU kernels against torch.nn.functional + torch.autograd, on random shapes and values."""
import platform
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad.kernels import cpu as K
from minigrad.kernels.shapes import output_size

torch = pytest.importorskip("torch")
F = torch.nn.functional

DTYPES = [np.float32, np.float64]
EXAMPLES = settings(max_examples=40, deadline=None)


def assert_close(actual, expected, dtype):
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    assert actual.dtype == dtype
    assert actual.shape == expected.shape
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale)


def random_array(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def torch_leaf(array):
    return torch.from_numpy(array.copy()).requires_grad_()


def pair(draw, strategy):
    return draw(strategy), draw(strategy)


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 3))
    c_out = groups * draw(st.integers(1, 3))
    kernel = pair(draw, st.integers(1, 4))
    stride = pair(draw, st.integers(1, 3))
    dilation = pair(draw, st.integers(1, 2))
    padding = pair(draw, st.integers(0, 2))
    # The padded input must hold at least one dilated kernel.
    size = tuple(max(1, dilation[i] * (kernel[i] - 1) + 1 - 2 * padding[i]) + draw(st.integers(0, 6))
                 for i in range(2))
    return dict(n=draw(st.integers(1, 3)), c_in=c_in, c_out=c_out, size=size, kernel=kernel,
                stride=stride, padding=padding, dilation=dilation, groups=groups,
                bias=draw(st.booleans()), seed=draw(st.integers(0, 2**31)))


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=conv_cases())
def test_conv2d_matches_torch(case, dtype):
    rng = np.random.default_rng(case["seed"])
    kh, kw = case["kernel"]
    x = random_array(rng, (case["n"], case["c_in"]) + case["size"], dtype)
    w = random_array(rng, (case["c_out"], case["c_in"] // case["groups"], kh, kw), dtype)
    b = random_array(rng, (case["c_out"],), dtype) if case["bias"] else None
    geometry = (case["stride"], case["padding"], case["dilation"], case["groups"])

    xt, wt = torch_leaf(x), torch_leaf(w)
    bt = torch_leaf(b) if b is not None else None
    yt = F.conv2d(xt, wt, bt, *geometry)
    grad_y = random_array(rng, tuple(yt.shape), dtype)
    yt.backward(torch.from_numpy(grad_y))

    assert_close(K.conv2d_forward(x, w, b, *geometry), yt, dtype)
    assert_conv2d_backward_matches(grad_y, x, w, geometry, (xt, wt, bt), dtype)


def assert_conv2d_backward_matches(grad_y, x, w, geometry, leaves, dtype):
    """All the gradients from one call, then each alone (the direct loops lay grad_y out without
    the input gradient's border when it is not asked for); None where not asked for."""
    expected = [None if leaf is None else leaf.grad for leaf in leaves]
    wanted = [e is not None for e in expected]
    for needs in [tuple(wanted)] + [tuple(j == i for j in range(3)) for i in range(3) if wanted[i]]:
        grads = K.conv2d_backward(grad_y, x, w, needs, *geometry)
        for grad, want, need in zip(grads, expected, needs):
            if need:
                assert_close(grad, want, dtype)
            else:
                assert grad is None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("direct", [True, False])
@settings(max_examples=25, deadline=None)
@given(case=conv_cases(), n=st.integers(1, 40))
def test_conv2d_both_algorithms_match_torch(case, dtype, direct, n):
    # Stride-1 ungrouped layers run the direct loops when thin, im2col + GEMM otherwise: force each,
    # and use batches of up to 40 so that the samples split unevenly across threads, GEMM chunks
    # and groups of samples woven into one plane (from batch 16 on).
    # The im2col path splits its samples across threads however small the layer.
    from minigrad.kernels.cpu import blas
    from minigrad.kernels.cpu import conv as conv_module
    case = dict(case, n=n, stride=(1, 1), groups=1,
                c_in=case["c_in"] // case["groups"], c_out=case["c_out"] // case["groups"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv_module, "DIRECT_MAX_CHANNEL_PRODUCT", 10**9 if direct else 0)
        patch.setattr(blas, "SPLIT_MULTIPLY_ADDS", 1)
        test_conv2d_matches_torch.hypothesis.inner_test(case, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=25, deadline=None)
@given(case=conv_cases(), n=st.integers(1, 9))
def test_conv2d_tap_gemms_match_torch(case, dtype, n):
    # Force the tap GEMMs (conv_taps.py) on every stride-1 ungrouped layer, their rows split
    # across threads however small the layer: dilation, uneven padding, padding past the kernel.
    from minigrad.kernels.cpu import blas, conv_taps
    from minigrad.kernels.cpu import conv as conv_module
    case = dict(case, n=n, stride=(1, 1), groups=1,
                c_in=case["c_in"] // case["groups"], c_out=case["c_out"] // case["groups"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv_module, "DIRECT_MAX_CHANNEL_PRODUCT", 0)
        patch.setattr(conv_module, "WINOGRAD_OVER_TAPS", 0.0)
        patch.setattr(conv_taps, "MIN_CHANNELS", 1)
        patch.setattr(conv_taps, "MAX_LIVE_SHARE", 1.0)
        patch.setattr(blas, "SPLIT_MULTIPLY_ADDS", 1)
        test_conv2d_matches_torch.hypothesis.inner_test(case, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, c_in, c_out, size", [
    (3, 256, 256, (3, 3)),    # ResNet-18's last stage at 96x96 inputs
    (2, 256, 320, (4, 5)),    # rectangular planes, channels widening
    (2, 300, 256, (6, 6)),    # narrowing
])
def test_wide_layers_on_small_planes_route_to_the_tap_gemms_and_match_torch(n, c_in, c_out, size,
                                                                           dtype):
    from minigrad.kernels.cpu import conv as conv_module
    x_shape, w_shape = (n, c_in) + size, (c_out, c_in, 3, 3)
    geometry = ((1, 1), (1, 1), (1, 1), 1)
    assert conv_module._algorithm(x_shape, w_shape, dtype, *geometry, *size) == "taps"
    case = dict(n=n, c_in=c_in, c_out=c_out, size=size, kernel=(3, 3), stride=(1, 1),
                padding=(1, 1), dilation=(1, 1), groups=1, bias=True, seed=13)
    test_conv2d_matches_torch.hypothesis.inner_test(case, dtype)


@pytest.mark.parametrize("x_shape, w_shape, geometry, expected", [
    ((32, 512, 4, 4), (512, 512, 3, 3), ((1, 1), (1, 1), (1, 1), 1), "taps"),
    ((128, 512, 4, 4), (512, 512, 3, 3), ((1, 1), (1, 1), (1, 1), 1), "winograd"),  # 1 tile
    ((128, 512, 3, 3), (512, 512, 3, 3), ((1, 1), (1, 1), (1, 1), 1), "taps"),  # tiles: border
    ((32, 256, 8, 8), (256, 256, 3, 3), ((1, 1), (1, 1), (1, 1), 1), "winograd"),  # 84% live
    ((32, 128, 4, 4), (128, 128, 3, 3), ((1, 1), (1, 1), (1, 1), 1), "taps"),
    ((32, 192, 4, 4), (32, 192, 3, 3), ((1, 1), (1, 1), (1, 1), 1), "taps"),  # DenseNet's
    ((128, 160, 3, 3), (32, 160, 3, 3), ((1, 1), (1, 1), (1, 1), 1), "taps"),  # border tiles
    ((128, 192, 4, 4), (32, 192, 3, 3), ((1, 1), (1, 1), (1, 1), 1), "winograd"),  # 128 tiles
    ((32, 160, 8, 8), (32, 160, 3, 3), ((1, 1), (1, 1), (1, 1), 1), "winograd"),
    ((32, 16, 4, 4), (128, 16, 3, 3), ((1, 1), (1, 1), (1, 1), 1), "im2col"),  # 16 channels in
    ((32, 64, 8, 8), (64, 64, 3, 3), ((2, 2), (1, 1), (1, 1), 1), "im2col"),  # strided
    ((32, 256, 4, 4), (256, 256, 3, 3), ((2, 2), (1, 1), (1, 1), 1), "im2col"),  # strided
    ((32, 256, 4, 4), (256, 128, 3, 3), ((1, 1), (1, 1), (1, 1), 2), "im2col"),  # grouped
])
def test_conv2d_algorithm_choice(x_shape, w_shape, geometry, expected):
    from minigrad.kernels.cpu import conv as conv_module
    size = [output_size(x_shape[2 + i], w_shape[2 + i], geometry[0][i], geometry[1][i],
                        geometry[2][i]) for i in range(2)]
    assert conv_module._algorithm(x_shape, w_shape, np.float32, *geometry, *size) == expected


def test_tap_gemms_need_numpys_blas(monkeypatch):
    # Without a cblas gemm to accumulate with (another BLAS under NumPy), im2col runs instead.
    from minigrad.kernels.cpu import blas, conv_taps
    monkeypatch.setattr(blas, "_gemms", {})
    assert not conv_taps.applies((32, 512, 3, 3), (512, 512, 3, 3), np.float32, (1, 1), 1, 3, 3,
                                 (1, 1), (1, 1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_im2col_gemms_run_without_numpys_blas(monkeypatch, dtype):
    # Without NumPy's OpenBLAS the im2col kernels call a loop GEMM of the same signature.
    from minigrad.kernels.cpu import blas
    from minigrad.kernels.cpu import conv as conv_module
    monkeypatch.setattr(blas, "_gemms", {})
    monkeypatch.setattr(conv_module, "DIRECT_MAX_CHANNEL_PRODUCT", 0)
    assert blas.kernel_gemm(dtype) is not None
    case = dict(n=3, c_in=4, c_out=6, size=(7, 6), kernel=(3, 2), stride=(2, 1), padding=(1, 0),
                dilation=(1, 2), groups=2, bias=True, seed=5)
    test_conv2d_matches_torch.hypothesis.inner_test(case, dtype)


def test_tap_blocks_cover_each_live_pair_once():
    from minigrad.kernels.cpu import conv_taps
    for H, W, KH, KW, ph, pw, dh, dw in [(3, 3, 3, 3, 1, 1, 1, 1), (4, 6, 3, 5, 1, 2, 1, 1),
                                         (5, 5, 3, 3, 2, 2, 2, 2), (2, 3, 4, 1, 3, 0, 1, 1)]:
        OH, OW = output_size(H, KH, 1, ph, dh), output_size(W, KW, 1, pw, dw)
        covered = np.zeros((KH * KW, OH * OW), int)
        for tap, source, target, positions in conv_taps._blocks(H, W, OH, OW, KH, KW, ph, pw, dh,
                                                                dw):
            kh, kw = divmod(tap, KW)
            for p in range(target, target + positions):
                oh, ow = divmod(p, OW)
                ih, iw = oh + kh * dh - ph, ow + kw * dw - pw
                assert source + p - target == ih * W + iw  # the block's input, shifted
                covered[tap, p] += 1
        live = [[0 <= oh + kh * dh - ph < H and 0 <= ow + kw * dw - pw < W
                 for oh in range(OH) for ow in range(OW)] for kh in range(KH) for kw in range(KW)]
        np.testing.assert_array_equal(covered, np.array(live, int))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [3, 37, 70])  # 37: 4 samples woven, the last group holds 1; 70: 8
@pytest.mark.parametrize("c_in, c_out, size, kernel, padding, dilation", [
    (6, 16, (14, 14), (5, 5), (0, 0), (1, 1)),   # LeNet's: 5-tap groups, channel pairs
    (1, 5, (12, 11), (5, 7), (2, 3), (1, 1)),    # odd channel count, 7 = 5 + 1 + 1 taps
    (3, 3, (13, 12), (3, 5), (1, 0), (2, 1)),    # dilated rows, 3-tap groups
    (2, 3, (6, 7), (1, 1), (1, 1), (1, 1)),      # padding wider than the kernel's reach
])
def test_conv2d_direct_tap_groups_match_torch(dtype, n, c_in, c_out, size, kernel, padding,
                                             dilation):
    # The direct loops fuse 5 / 3 / 1 taps of a kernel row and two output channels per pass.
    case = dict(n=n, c_in=c_in, c_out=c_out, size=size, kernel=kernel, stride=(1, 1),
                padding=padding, dilation=dilation, groups=1, bias=True, seed=7)
    test_conv2d_matches_torch.hypothesis.inner_test(case, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c_in, c_out, size, kernel, padding, dilation, groups", [
    (12, 4, (6, 5), (3, 3), (1, 1), (1, 1), 1),  # DenseNet's narrowing 3x3
    (12, 6, (7, 7), (3, 2), (2, 0), (2, 1), 3),  # grouped, dilated, uneven padding
    (10, 5, (4, 4), (1, 1), (0, 0), (1, 1), 1),  # a 1x1 transition
])
def test_conv2d_input_gradient_by_correlation_matches_torch(dtype, c_in, c_out, size, kernel,
                                                           padding, dilation, groups):
    # Stride-1 layers that narrow the channels get grad_x as a correlation of grad_y with the
    # flipped kernel (im2col + GEMM path; the direct loops are switched off).
    from minigrad.kernels.cpu import conv as conv_module
    assert conv_module._input_gradient_by_correlation((c_out, c_in // groups) + kernel, (1, 1),
                                                      padding, dilation, groups)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv_module, "DIRECT_MAX_CHANNEL_PRODUCT", 0)
        for n in (1, 9):
            case = dict(n=n, c_in=c_in, c_out=c_out, size=size, kernel=kernel, stride=(1, 1),
                        padding=padding, dilation=dilation, groups=groups, bias=True, seed=3)
            test_conv2d_matches_torch.hypothesis.inner_test(case, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c_in, c_out, size, kernel, stride, padding, dilation, groups", [
    (8, 6, (1, 1), (3, 3), (1, 1), (1, 1), (1, 1), 1),  # DenseNet's 3x3 on 1x1: the centre tap only
    (16, 12, (1, 1), (3, 3), (2, 2), (1, 1), (1, 1), 1),  # strided too
    (6, 10, (2, 2), (3, 3), (2, 2), (1, 1), (1, 1), 1),  # ResNet's s2 on 2x2: a 2x2 kernel
    (4, 4, (1, 3), (3, 3), (1, 1), (1, 1), (1, 1), 2),  # dead rows, live columns, groups
    (3, 5, (3, 2), (7, 5), (2, 1), (3, 2), (1, 1), 1),  # strided: a 5x3 crop with padding 2 and 0
    (2, 3, (5, 2), (3, 3), (1, 1), (1, 1), (3, 1), 1),  # a dilated crop needs negative padding: kept
])
def test_conv2d_with_taps_that_only_read_padding_matches_torch(dtype, c_in, c_out, size, kernel,
                                                              stride, padding, dilation, groups):
    # Kernel taps that never reach the input are cropped away before the kernels run (the cases
    # on planes smaller than the kernel run as one dense matrix instead).
    for n in (1, 20):
        case = dict(n=n, c_in=c_in, c_out=c_out, size=size, kernel=kernel, stride=stride,
                    padding=padding, dilation=dilation, groups=groups, bias=True, seed=5)
        test_conv2d_matches_torch.hypothesis.inner_test(case, dtype)


@pytest.mark.parametrize("c_in, c_out, size, stride", [
    (3, 4, (6, 6), 1),     # direct loops
    (64, 64, (6, 6), 1),   # im2col + GEMM, col2im
    (64, 32, (6, 6), 1),   # im2col + GEMM, the input gradient as a correlation
    (3, 5, (2, 2), 2),     # one dense matrix
    (256, 256, (3, 3), 1),  # the tap GEMMs
])
def test_conv2d_of_an_empty_batch(c_in, c_out, size, stride):
    rng = np.random.default_rng(0)
    x = np.zeros((0, c_in) + size, np.float32)
    w, b = random_array(rng, (c_out, c_in, 3, 3), np.float32), np.ones(c_out, np.float32)
    geometry = ((stride, stride), (1, 1), (1, 1), 1)
    y = K.conv2d_forward(x, w, b, *geometry)
    assert y.shape[:2] == (0, c_out)
    grad_x, grad_w, grad_b = K.conv2d_backward(y, x, w, (True, True, True), *geometry)
    assert grad_x.shape == x.shape
    np.testing.assert_array_equal(grad_w, np.zeros_like(w))
    np.testing.assert_array_equal(grad_b, np.zeros_like(b))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("split", [1, 1 << 40])
@pytest.mark.parametrize("c_in, c_out, size, kernel, stride, padding, dilation", [
    (5, 7, (2, 2), (3, 3), (1, 1), (1, 1), (1, 1)),  # ResNet-18's 2x2 planes: every pair linked
    (6, 10, (2, 2), (3, 3), (2, 2), (1, 1), (1, 1)),  # its strided layer: one output position
    (8, 3, (1, 1), (3, 3), (1, 1), (1, 1), (1, 1)),   # 1x1 planes: the centre tap only
    (3, 4, (1, 3), (3, 5), (1, 2), (2, 1), (1, 1)),   # rectangular, taps that read only padding
    (2, 5, (2, 2), (3, 3), (1, 1), (2, 1), (2, 1)),   # dilated: pairs no tap links
    (4, 6, (3, 3), (3, 3), (1, 1), (0, 0), (1, 1)),   # a kernel the size of the input
])
def test_conv2d_of_small_planes_as_one_dense_matrix_matches_torch(dtype, split, c_in, c_out, size,
                                                                  kernel, stride, padding,
                                                                  dilation):
    # Planes of fewer positions than the kernel has taps run as one GEMM over the batch, its
    # output channels split across threads (split=1) or not.
    from minigrad.kernels.cpu import blas, conv_dense
    out = tuple(output_size(size[i], kernel[i], stride[i], padding[i], dilation[i])
                for i in range(2))
    assert conv_dense.applies((1, c_in) + size, (c_out, c_in) + kernel, *out, 1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(blas, "SPLIT_MULTIPLY_ADDS", split)
        for n in (1, 5):
            case = dict(n=n, c_in=c_in, c_out=c_out, size=size, kernel=kernel, stride=stride,
                        padding=padding, dilation=dilation, groups=1, bias=True, seed=11)
            test_conv2d_matches_torch.hypothesis.inner_test(case, dtype)


def test_dense_matrix_only_where_it_does_no_more_work_than_im2col():
    from minigrad.kernels.cpu import conv_dense
    assert conv_dense.applies((32, 256, 2, 2), (256, 256, 3, 3), 2, 2, 1)
    assert not conv_dense.applies((32, 256, 2, 2), (256, 128, 3, 3), 2, 2, 2)  # grouped
    assert not conv_dense.applies((32, 128, 4, 4), (128, 128, 3, 3), 4, 4, 1)  # 16 > 9 positions
    assert not conv_dense.applies((32, 512, 3, 3), (512, 512, 3, 3), 3, 3, 1)  # 81 pairs: 9x w


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("transposed_from", [0, 1 << 60])
@pytest.mark.parametrize("c_in, c_out, size, kernel, stride, padding, groups", [
    (8, 6, (9, 9), (3, 3), (2, 2), (1, 1), 1),   # ResNet's strided 3x3: 72 rows > 6
    (6, 9, (7, 8), (3, 2), (2, 1), (1, 0), 3),   # grouped: rows and outputs per group
    (4, 12, (6, 6), (1, 1), (2, 2), (0, 0), 1),  # more outputs than rows: never transposed
])
def test_conv2d_weight_gradient_in_either_orientation_matches_torch(dtype, transposed_from, c_in,
                                                                    c_out, size, kernel, stride,
                                                                    padding, groups):
    # The im2col weight gradient sums columns @ grad_y^T into its transpose from
    # TRANSPOSED_MIN_POSITIONS positions on (0: always, where the columns have more rows).
    from minigrad.kernels.cpu import conv_per_sample
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv_per_sample, "TRANSPOSED_MIN_POSITIONS", transposed_from)
        for n in (1, 7):
            case = dict(n=n, c_in=c_in, c_out=c_out, size=size, kernel=kernel, stride=stride,
                        padding=padding, dilation=(1, 1), groups=groups, bias=True, seed=17)
            test_conv2d_matches_torch.hypothesis.inner_test(case, dtype)


@pytest.mark.parametrize("split", [1, 1 << 40])
def test_conv2d_chunked_gemm_matches_torch(monkeypatch, split):
    # ResNet-like small planes: conv_per_sample packs several samples into one GEMM, on one
    # thread or split across threads.
    from minigrad.kernels.cpu import blas
    monkeypatch.setattr(blas, "SPLIT_MULTIPLY_ADDS", split)
    rng = np.random.default_rng(1)
    x = random_array(rng, (7, 24, 4, 4), np.float32)
    w = random_array(rng, (40, 24, 3, 3), np.float32)
    b = random_array(rng, (40,), np.float32)
    for geometry in (((1, 1), (1, 1), (1, 1), 1), ((2, 2), (1, 1), (1, 1), 1)):
        xt, wt, bt = torch_leaf(x), torch_leaf(w), torch_leaf(b)
        yt = F.conv2d(xt, wt, bt, *geometry)
        grad_y = random_array(rng, tuple(yt.shape), np.float32)
        yt.backward(torch.from_numpy(grad_y))
        assert_close(K.conv2d_forward(x, w, b, *geometry), yt, np.float32)
        assert_conv2d_backward_matches(grad_y, x, w, geometry, (xt, wt, bt), np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("split", [1, 1 << 60])
@settings(max_examples=30, deadline=None)
@given(m=st.integers(0, 9), k=st.integers(0, 7), n=st.integers(0, 6),
       layouts=st.tuples(*[st.sampled_from(["rows", "transposed", "strided"])] * 2),
       seed=st.integers(0, 2**31))
def test_matmul_matches_numpy_split_across_threads_or_not(dtype, split, m, k, n, layouts, seed):
    # Operands as stored, transposed views and strided views (copied before the GEMM).
    from minigrad.kernels.cpu import blas
    rng = np.random.default_rng(seed)

    def operand(shape, layout):
        if layout == "transposed":
            return random_array(rng, shape[::-1], dtype).T
        if layout == "strided":
            return random_array(rng, (shape[0], 2 * shape[1]), dtype)[:, ::2]
        return random_array(rng, shape, dtype)
    a, b = operand((m, k), layouts[0]), operand((k, n), layouts[1])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(blas, "SPLIT_MULTIPLY_ADDS", split)
        product = K.matmul(a, b)
    np.testing.assert_allclose(product, a @ b, rtol=1e-5, atol=1e-5)
    assert product.shape == (m, n) and product.dtype == dtype


def test_matmul_batched_and_vector_operands_match_numpy():
    rng = np.random.default_rng(0)
    a, b = random_array(rng, (3, 4, 5), np.float64), random_array(rng, (5, 2), np.float64)
    np.testing.assert_allclose(K.matmul(a, b), a @ b)
    np.testing.assert_allclose(K.matmul(a[0, 0], b), a[0, 0] @ b)


def test_conv2d_results_survive_later_calls():
    # The kernels reuse scratch buffers between calls; what they return must not live in them.
    rng = np.random.default_rng(0)
    x, w = random_array(rng, (2, 3, 6, 6), np.float32), random_array(rng, (4, 3, 3, 3), np.float32)
    geometry = ((1, 1), (1, 1), (1, 1), 1)
    y = K.conv2d_forward(x, w, None, *geometry)
    grad_x, grad_w, _ = K.conv2d_backward(y, x, w, (True, True, False), *geometry)
    kept = [a.copy() for a in (y, grad_x, grad_w)]
    K.conv2d_forward(2 * x, w, None, *geometry)
    K.conv2d_backward(2 * y, x, w, (True, True, False), *geometry)
    for before, after in zip(kept, (y, grad_x, grad_w)):
        np.testing.assert_array_equal(before, after)


def test_conv2d_output_shape_d2l():
    # d2l 7.3: kernel (3, 5), padding (0, 1), stride (3, 4) on 8 x 8 gives 2 x 2.
    x = np.zeros((1, 1, 8, 8), np.float32)
    w = np.zeros((1, 1, 3, 5), np.float32)
    assert K.conv2d_forward(x, w, None, (3, 4), (0, 1), (1, 1), 1).shape == (1, 1, 2, 2)


@st.composite
def pool_cases(draw, with_dilation):
    kernel = pair(draw, st.integers(1, 4))
    stride = pair(draw, st.integers(1, 3))
    # torch requires padding <= kernel // 2.
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = pair(draw, st.integers(1, 2)) if with_dilation else (1, 1)
    size = tuple(max(1, dilation[i] * (kernel[i] - 1) + 1 - 2 * padding[i]) + draw(st.integers(0, 6))
                 for i in range(2))
    return dict(n=draw(st.integers(1, 3)), c=draw(st.integers(1, 3)), size=size, kernel=kernel,
                stride=stride, padding=padding, dilation=dilation, ceil_mode=draw(st.booleans()),
                seed=draw(st.integers(0, 2**31)))


def pool_input(case, dtype):
    rng = np.random.default_rng(case["seed"])
    return rng, random_array(rng, (case["n"], case["c"]) + case["size"], dtype)


def every_window_reads_input(case):
    """A dilated window can fall entirely on padding; torch then routes the gradient out of the
    plane (into the neighbouring plane or past the tensor), so such cases are tested separately."""
    for axis in range(2):
        size, kernel, stride = case["size"][axis], case["kernel"][axis], case["stride"][axis]
        padding, dilation = case["padding"][axis], case["dilation"][axis]
        out = output_size(size, kernel, stride, padding, dilation, case["ceil_mode"])
        for o in range(out):
            taps = (o * stride - padding + k * dilation for k in range(kernel))
            if not any(0 <= tap < size for tap in taps):
                return False
    return True


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=pool_cases(with_dilation=True).filter(every_window_reads_input))
def test_max_pool2d_matches_torch(case, dtype):
    rng, x = pool_input(case, dtype)
    geometry = (case["kernel"], case["stride"], case["padding"], case["dilation"], case["ceil_mode"])
    xt = torch_leaf(x)
    yt = F.max_pool2d(xt, *geometry)
    grad_y = random_array(rng, tuple(yt.shape), dtype)
    yt.backward(torch.from_numpy(grad_y))

    y, argmax = K.max_pool2d_forward(x, *geometry)
    assert_close(y, yt, dtype)
    assert_close(K.max_pool2d_backward(grad_y, argmax, x.shape, *geometry), xt.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(n=st.integers(1, 3), c=st.integers(1, 3), size=st.tuples(st.integers(2, 9), st.integers(2, 9)),
       ceil_mode=st.booleans(), nan_fraction=st.sampled_from([0.0, 0.05, 0.5]),
       seed=st.integers(0, 2**31))
def test_max_pool2d_2x2_ties_and_nans_match_torch(n, c, size, ceil_mode, nan_fraction, seed, dtype):
    # Kernel 2, stride 2 has its own branch-free kernel: ties (values from a small set), NaNs
    # (several per window at 0.5), infinities and odd sizes must pick torch's element.
    rng = np.random.default_rng(seed)
    x = rng.choice(np.array([-np.inf, -1.0, 0.0, 2.0, np.inf]), size=(n, c) + size).astype(dtype)
    x[rng.random(x.shape) < nan_fraction] = np.nan
    geometry = ((2, 2), (2, 2), (0, 0), (1, 1), ceil_mode)
    xt = torch_leaf(x)
    yt, indices = F.max_pool2d(xt, *geometry, return_indices=True)
    yt.backward(torch.ones_like(yt))
    y, argmax = K.max_pool2d_forward(x, *geometry)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_array_equal(argmax, indices.numpy())
    grad_x = K.max_pool2d_backward(np.ones_like(y), argmax, x.shape, *geometry)
    np.testing.assert_array_equal(grad_x, xt.grad.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=pool_cases(with_dilation=True).filter(every_window_reads_input),
       stride=st.integers(1, 3), relu=st.booleans(),
       nan_fraction=st.sampled_from([0.0, 0.05, 0.5]))
def test_max_pool2d_equal_strides_ties_infs_and_nans_match_torch(case, stride, relu, nan_fraction,
                                                                 dtype):
    # Equal strides take the wide scan (pool.py), whose windows may take a padding tap: ties
    # between small integers, windows of -inf only, infinities and NaNs must give torch's values
    # and indices (the first of the largest, the last NaN), relu fused or not.
    rng = np.random.default_rng(case["seed"])
    x = rng.choice(np.array([-np.inf, -1.0, 0.0, 2.0, np.inf]),
                   size=(case["n"], case["c"]) + case["size"]).astype(dtype)
    x[rng.random(x.shape) < nan_fraction] = np.nan
    geometry = (case["kernel"], (stride, stride), case["padding"], case["dilation"],
                case["ceil_mode"])
    if not every_window_reads_input(dict(case, stride=(stride, stride))):
        return
    xt = torch.from_numpy(x)
    yt, indices = F.max_pool2d(F.relu(xt) if relu else xt, *geometry, return_indices=True)
    pool = K.relu_max_pool2d_forward if relu else K.max_pool2d_forward
    y, argmax = pool(x, *geometry)
    np.testing.assert_array_equal(y, yt.numpy())
    if relu:  # where relu leaves 0 any index of the window's zeros will do: no gradient goes there
        positive = ~(y <= 0)
        np.testing.assert_array_equal(argmax[positive], indices.numpy()[positive])
    else:
        np.testing.assert_array_equal(argmax, indices.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(n=st.sampled_from([1, 3, 9, 17, 64]), c_in=st.integers(1, 4), c_out=st.integers(1, 5),
       size=st.tuples(st.integers(3, 30), st.integers(3, 30)), kernel=st.sampled_from([1, 3, 5]),
       padding=st.integers(0, 2), ceil_mode=st.booleans(),
       needs=st.tuples(st.booleans(), st.booleans(), st.booleans()),
       nan_fraction=st.sampled_from([0.0, 0.0, 0.02]), seed=st.integers(0, 2**31))
def test_conv2d_relu_max_pool2d_is_the_two_kernels(n, c_in, c_out, size, kernel, padding,
                                                   ceil_mode, needs, nan_fraction, seed, dtype):
    # The direct loops pool 2 x 2 windows from their accumulators (woven samples on short planes,
    # one per plane on long ones) and route the pooled gradient back through argmax into their
    # woven planes: the values, indices and gradients of the two kernels, bit for bit, ties
    # (small integers), NaNs and odd sizes included.
    rng = np.random.default_rng(seed)
    padding = min(padding, kernel - 1)
    if min(size) + 2 * padding < kernel + 1:
        return
    x = rng.integers(-2, 3, size=(n, c_in) + size).astype(dtype)
    x[rng.random(x.shape) < nan_fraction] = np.nan
    w = rng.integers(-1, 2, size=(c_out, c_in, kernel, kernel)).astype(dtype)
    b = rng.integers(-1, 2, size=c_out).astype(dtype)
    conv = ((1, 1), (padding, padding), (1, 1), 1)
    pool = ((2, 2), (2, 2), (0, 0), (1, 1), ceil_mode)
    y, argmax = K.conv2d_relu_max_pool2d_forward(x, w, b, conv, pool)
    y_two, argmax_two = K.relu_max_pool2d_forward(K.conv2d_forward(x, w, b, *conv), *pool)
    np.testing.assert_array_equal(y, y_two)
    np.testing.assert_array_equal(argmax, argmax_two)
    grad_y = rng.standard_normal(y.shape).astype(dtype)
    grads = K.conv2d_relu_max_pool2d_backward(grad_y, y, argmax, x, w, needs, conv, pool)
    conv_shape = (n, c_out) + tuple(s + 2 * padding - kernel + 1 for s in size)
    grad_conv = K.relu_max_pool2d_backward(grad_y, y, argmax, conv_shape, *pool)
    for got, expected in zip(grads, K.conv2d_backward(grad_conv, x, w, needs, *conv)):
        if expected is None:
            assert got is None
        else:
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("n, c_in, size, padding", [(256, 6, 14, 0), (64, 1, 28, 2), (5, 3, 9, 1)])
def test_conv2d_relu_max_pool2d_pools_in_the_direct_loops(monkeypatch, n, c_in, size, padding):
    # LeNet's layers (woven and not) never write the convolution's output, or its gradient
    from minigrad.kernels.cpu import conv

    def unfused(*args):
        raise AssertionError("the two kernels ran")

    monkeypatch.setattr(conv, "relu_max_pool2d_forward", unfused)
    rng = np.random.default_rng(0)
    x = random_array(rng, (n, c_in, size, size), np.float32)
    w = random_array(rng, (16, c_in, 5, 5), np.float32)
    y, argmax = K.conv2d_relu_max_pool2d_forward(x, w, None, ((1, 1), (padding,) * 2, (1, 1), 1),
                                                 ((2, 2), (2, 2), (0, 0), (1, 1), False))
    xt = torch.from_numpy(x)
    yt, indices = F.max_pool2d(F.relu(F.conv2d(xt, torch.from_numpy(w), padding=padding)), 2,
                               return_indices=True)
    assert_close(y, yt, np.float32)
    # where relu leaves 0 the index is the window's largest before it (no gradient goes there);
    # elsewhere rounding may swap near-ties
    positive = y > 0
    assert (argmax[positive] == indices.numpy()[positive]).mean() > 0.99
    # and route the gradient back without writing the convolution's output gradient
    monkeypatch.setattr(conv, "relu_max_pool2d_backward", unfused)
    geometry = ((1, 1), (padding,) * 2, (1, 1), 1), ((2, 2), (2, 2), (0, 0), (1, 1), False)
    grad_y = random_array(rng, y.shape, np.float32)
    grads = K.conv2d_relu_max_pool2d_backward(grad_y, y, argmax, x, w, (True,) * 3, *geometry)
    monkeypatch.undo()
    conv_shape = (n, 16, size + 2 * padding - 4, size + 2 * padding - 4)
    grad_conv = K.relu_max_pool2d_backward(grad_y, y, argmax, conv_shape, *geometry[1])
    for got, expected in zip(grads, K.conv2d_backward(grad_conv, x, w, (True,) * 3, *geometry[0])):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [(4, 6), (7, 5), (28, 28)])
@pytest.mark.parametrize("ceil_mode, divisor_override", [(False, None), (True, None), (False, 3)])
def test_avg_pool2d_2x2_matches_torch(dtype, size, ceil_mode, divisor_override):
    # Kernel 2, stride 2 has its own kernels; odd sizes leave a row or column out (or, with
    # ceil_mode, take the generic path).
    rng = np.random.default_rng(11)
    x = random_array(rng, (3, 2) + size, dtype)
    window = ((2, 2), (2, 2), (0, 0), ceil_mode, True, divisor_override)
    xt = torch_leaf(x)
    yt = F.avg_pool2d(xt, 2, 2, 0, ceil_mode, True, divisor_override)
    grad_y = random_array(rng, tuple(yt.shape), dtype)
    yt.backward(torch.from_numpy(grad_y))
    assert_close(K.avg_pool2d_forward(x, *window), yt, dtype)
    assert_close(K.avg_pool2d_backward(grad_y, x.shape, *window), xt.grad, dtype)


def test_max_pool2d_d2l_example():
    # d2l 7.5: kernel 3, padding 1, stride (2, 1).
    x = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)
    y, _ = K.max_pool2d_forward(x, (3, 3), (2, 1), (1, 1), (1, 1), False)
    expected = [[[[5, 6, 7, 7], [13, 14, 15, 15]], [[21, 22, 23, 23], [29, 30, 31, 31]]]]
    np.testing.assert_array_equal(y, np.array(expected, np.float32))


@pytest.mark.parametrize("adaptive", [False, True])
def test_max_pool2d_nan_wins_its_window_like_torch(adaptive):
    x = np.arange(2 * 5 * 5, dtype=np.float32).reshape(1, 2, 5, 5)
    x[0, 0, 1, 1] = x[0, 1, 3, 2] = x[0, 1, 3, 4] = np.nan
    xt = torch_leaf(x)
    if adaptive:
        yt = F.adaptive_max_pool2d(xt, (2, 3))
        y, argmax = K.adaptive_max_pool2d_forward(x, (2, 3))
    else:
        geometry = ((3, 3), (2, 2), (1, 1), (1, 1), True)
        yt = F.max_pool2d(xt, *geometry)
        y, argmax = K.max_pool2d_forward(x, *geometry)
    yt.backward(torch.ones_like(yt))
    np.testing.assert_array_equal(y, yt.detach().numpy())
    grad_x = (K.adaptive_max_pool2d_backward(np.ones_like(y), argmax, x.shape) if adaptive else
              K.max_pool2d_backward(np.ones_like(y), argmax, x.shape, *geometry))
    np.testing.assert_array_equal(grad_x, xt.grad.numpy())


def test_max_pool2d_dilated_window_that_misses_the_input():
    # Kernel 2 with dilation 2 and padding 1 on a 1 x 1 input reads only padding: the output is -inf
    # (as in torch) and the gradient is dropped (torch writes it past the plane).
    x = np.ones((1, 1, 1, 1), np.float32)
    geometry = ((2, 2), (1, 1), (1, 1), (2, 2), False)
    y, argmax = K.max_pool2d_forward(x, *geometry)
    assert y.shape == (1, 1, 1, 1) and y[0, 0, 0, 0] == -np.inf
    grad_x = K.max_pool2d_backward(np.ones_like(y), argmax, x.shape, *geometry)
    np.testing.assert_array_equal(grad_x, np.zeros_like(x))


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=pool_cases(with_dilation=False), count_include_pad=st.booleans(),
       divisor_override=st.one_of(st.none(), st.integers(1, 5)))
def test_avg_pool2d_matches_torch(case, count_include_pad, divisor_override, dtype):
    rng, x = pool_input(case, dtype)
    geometry = (case["kernel"], case["stride"], case["padding"], case["ceil_mode"], count_include_pad,
                divisor_override)
    xt = torch_leaf(x)
    yt = F.avg_pool2d(xt, *geometry)
    grad_y = random_array(rng, tuple(yt.shape), dtype)
    yt.backward(torch.from_numpy(grad_y))

    assert_close(K.avg_pool2d_forward(x, *geometry), yt, dtype)
    assert_close(K.avg_pool2d_backward(grad_y, x.shape, *geometry), xt.grad, dtype)


@st.composite
def adaptive_cases(draw):
    size = pair(draw, st.integers(1, 9))
    # Output larger than the input is allowed: windows then repeat input elements.
    output_size = pair(draw, st.integers(1, 10))
    return dict(n=draw(st.integers(1, 3)), c=draw(st.integers(1, 3)), size=size,
                output_size=output_size, seed=draw(st.integers(0, 2**31)))


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=adaptive_cases())
def test_adaptive_avg_pool2d_matches_torch(case, dtype):
    rng, x = pool_input(case, dtype)
    xt = torch_leaf(x)
    yt = F.adaptive_avg_pool2d(xt, case["output_size"])
    grad_y = random_array(rng, tuple(yt.shape), dtype)
    yt.backward(torch.from_numpy(grad_y))

    assert_close(K.adaptive_avg_pool2d_forward(x, case["output_size"]), yt, dtype)
    assert_close(K.adaptive_avg_pool2d_backward(grad_y, x.shape), xt.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=adaptive_cases())
def test_adaptive_max_pool2d_matches_torch(case, dtype):
    rng, x = pool_input(case, dtype)
    xt = torch_leaf(x)
    yt = F.adaptive_max_pool2d(xt, case["output_size"])
    grad_y = random_array(rng, tuple(yt.shape), dtype)
    yt.backward(torch.from_numpy(grad_y))

    y, argmax = K.adaptive_max_pool2d_forward(x, case["output_size"])
    assert_close(y, yt, dtype)
    assert_close(K.adaptive_max_pool2d_backward(grad_y, argmax, x.shape), xt.grad, dtype)


@st.composite
def batch_norm_cases(draw):
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 6)),
             draw(st.integers(1, 6)))
    # One value per channel has no variance; keep at least two.
    if shape[0] * shape[2] * shape[3] < 2:
        shape = (2,) + shape[1:]
    return dict(shape=shape, offset=draw(st.floats(-3, 3)), seed=draw(st.integers(0, 2**31)))


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=batch_norm_cases())
def test_batch_norm_matches_torch(case, dtype):
    rng = np.random.default_rng(case["seed"])
    x = random_array(rng, case["shape"], dtype) + dtype(case["offset"])
    channels = case["shape"][1]
    gamma, beta = random_array(rng, (channels,), dtype), random_array(rng, (channels,), dtype)
    xt, gammat, betat = torch_leaf(x), torch_leaf(gamma), torch_leaf(beta)
    yt = F.batch_norm(xt, None, None, gammat, betat, training=True, eps=1e-5)
    grad_y = random_array(rng, case["shape"], dtype)
    yt.backward(torch.from_numpy(grad_y))

    running_mean, running_var = random_array(rng, (2, channels), dtype)
    running_var = np.abs(running_var)
    running_mean_t, running_var_t = torch.tensor(running_mean), torch.tensor(running_var)
    momentum = float(rng.uniform(0, 1))
    F.batch_norm(torch.from_numpy(x), running_mean_t, running_var_t, training=True,
                 momentum=momentum, eps=1e-5)  # updates the running statistics in place

    y, mean, invstd = K.batch_norm_forward(x, gamma, beta, 1e-5, running_mean, running_var, momentum)
    assert_close(y, yt, dtype)
    assert_close(mean, x.mean(axis=(0, 2, 3)), dtype)
    assert_close(running_mean, running_mean_t, dtype)
    assert_close(running_var, running_var_t, dtype)
    grad_x, grad_gamma, grad_beta = K.batch_norm_backward(grad_y, x, gamma, mean, invstd)
    assert_close(grad_x, xt.grad, dtype)
    assert_close(grad_gamma, gammat.grad, dtype)
    assert_close(grad_beta, betat.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (32, 8, 4, 4)])
def test_batch_norm_relu_is_the_two_kernels(dtype, shape):
    # relu fused into both batch norm passes: relu's values (NaN kept) and gradients (none where
    # the output is <= 0; a NaN output passes its gradient)
    rng = np.random.default_rng(7)
    x = random_array(rng, shape, dtype)
    x[0, 0, 0, 0] = np.nan  # channel 0 all NaN
    gamma, beta = random_array(rng, (2, shape[1]), dtype)
    grad_y = random_array(rng, shape, dtype)
    y, mean, invstd = K.batch_norm_forward(x, gamma, beta, 1e-5, relu=True)
    y_two, mean_two, invstd_two = K.batch_norm_forward(x, gamma, beta, 1e-5)
    y_two = K.relu_forward(y_two)
    np.testing.assert_array_equal(y, y_two)
    assert np.isnan(y[:, 0]).all() and (y[:, 1:] >= 0).all() and (y[:, 1:] == 0).any()
    grads = K.batch_norm_backward(grad_y, x, gamma, mean, invstd, y)
    expected = K.batch_norm_backward(K.relu_backward(grad_y, y_two), x, gamma, mean_two,
                                     invstd_two)
    for got, want in zip(grads, expected):
        assert_close(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 5), (64, 6, 28, 28)])  # NumPy's path and the parallel kernel
def test_relu_matches_torch(dtype, shape):
    rng = np.random.default_rng(3)
    x = random_array(rng, shape, dtype)
    x.flat[:4] = [np.nan, np.inf, -np.inf, 0.0]
    grad_y = random_array(rng, shape, dtype)
    xt = torch_leaf(x)
    yt = torch.relu(xt)
    yt.backward(torch.from_numpy(grad_y))
    y = K.relu_forward(x)
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_array_equal(K.relu_backward(grad_y, y), xt.grad.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 5), (64, 6, 28, 28)])  # the serial and the parallel kernel
def test_sigmoid_matches_torch(dtype, shape):
    rng = np.random.default_rng(4)
    x = random_array(rng, shape, dtype) * 40  # past exp's float32 overflow on both sides
    x.flat[:4] = [np.nan, np.inf, -np.inf, -1000.0]
    grad_y = random_array(rng, shape, dtype)
    xt = torch_leaf(x)
    yt = torch.sigmoid(xt)
    yt.backward(torch.from_numpy(grad_y))
    y = K.sigmoid_forward(x)
    assert y.dtype == x.dtype and y.flat[3] == 0 and np.isnan(y.flat[0])
    assert_close(y, yt, dtype)
    assert_close(K.sigmoid_backward(grad_y, y), xt.grad, dtype)


def cross_entropy_case(rng, shape, dtype):
    """Logits with rows torch makes NaN (a NaN, +inf) or infinite (the target's logit -inf), values
    past exp's range, ignored samples (scale 0) and class weights; its targets and scales."""
    logits = random_array(rng, shape, dtype) * 30
    logits[0, 0], logits[1, 1], logits[2, :] = np.nan, np.inf, 1e4
    target = rng.integers(0, shape[1], shape[0])
    logits[3, target[3]] = -np.inf
    scale = rng.uniform(0.2, 2.0, shape[0]).astype(dtype)
    scale[4] = 0
    return logits, target, scale


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 10), (9000, 10)])  # the serial and the parallel kernel
def test_cross_entropy_matches_torch(dtype, shape):
    rng = np.random.default_rng(5)
    logits, target, scale = cross_entropy_case(rng, shape, dtype)
    grad = random_array(rng, shape[:1], dtype)
    logits_t = torch_leaf(logits)
    losses_t = -torch.log_softmax(logits_t, 1)[torch.arange(shape[0]), torch.from_numpy(target)]
    losses_t = losses_t * torch.from_numpy(scale)
    losses_t.backward(torch.from_numpy(grad))
    losses, lse = K.cross_entropy_forward(logits, target, scale)
    np.testing.assert_array_equal(np.isnan(losses), np.isnan(losses_t.detach().numpy()))
    assert np.isposinf(losses[3]) and np.isnan(losses[:2]).all() and losses[4] == 0
    finite = np.isfinite(losses)
    assert_close(losses[finite], losses_t.detach()[finite], dtype)
    assert_close(lse[2:], torch.logsumexp(logits_t[2:], 1), dtype)
    grad_logits = K.cross_entropy_backward(grad, logits, lse, target, scale)
    assert np.isnan(grad_logits[:2]).all() and (grad_logits[4] == 0).all()
    assert_close(grad_logits[2:], logits_t.grad[2:], dtype)


def test_freed_memory_settings_apply_on_glibc_unless_the_user_set_malloc_variables():
    from minigrad.kernels.cpu.memory import keep_freed_memory
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert keep_freed_memory(environ={}) is glibc
    assert keep_freed_memory(environ={"MALLOC_ARENA_MAX": "2"}) is False


FIRST_COMPILE_SCRIPT = """
import numpy as np
from numba import njit
from minigrad.kernels import cpu
njit(lambda x: x + 1)(1)  # the user's own kernels: not announced
built = {}
exec("def plus_two(x):\\n    return x + 2", {"__name__": None}, built)  # no module
njit(built["plus_two"])(1)
x = np.ones(cpu.activation.SMALL, np.float32)
cpu.relu_forward(x)
cpu.relu_backward(x, x)
cpu.sgd_update(x[:10], x[:10], None, 0.1, 0.0, 0.0, 0.0, False, False, True)
"""


def test_first_compile_is_announced_once_and_not_once_cached(tmp_path):
    import os
    import subprocess
    import sys
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", FIRST_COMPILE_SCRIPT], env=env, capture_output=True,
                           text=True, check=True, timeout=300) for _ in range(2)]
    cold, warm = (run.stderr.splitlines() for run in runs)
    assert len(cold) == 1 and cold[0].startswith("minigrad: compiling its CPU kernels"), cold
    assert "once" in cold[0] and str(tmp_path) in cold[0] and "LeNet" in cold[0]
    assert warm == [], warm
    assert runs[0].stdout == runs[1].stdout == ""
