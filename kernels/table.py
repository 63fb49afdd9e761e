"""The kernel table: every kernel a device offers the op layer, declared once here with its arguments
and its result. kernels/cpu (NumPy arrays) and kernels/cuda (CuPy arrays) each implement exactly
these names with these parameters (tests/test_kernel_table.py checks both in every run), and the
device layer hands the op layer only these names (`bind`).

Conventions shared by every kernel: arrays are float32 or float64 and a result has its input's
dtype; image arrays are NCHW; `*_size`, `stride`, `padding` and `dilation` are (height, width)
pairs, already normalised; a kernel may return a view of nothing it was given, and never writes
its inputs unless it says so.
"""
import types


def matmul(a, b):
    """a @ b of two 2-D arrays, as a new C-contiguous array."""


def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    """torch.nn.functional.conv2d: x (N, C, H, W), w (K, C / groups, R, S), b (K,) or None;
    returns y (N, K, OH, OW)."""


def conv2d_backward(grad_y, x, w, needs, stride, padding, dilation, groups):
    """The gradients (of x, of w, of b) of conv2d_forward; each is None unless `needs` (three bools,
    in that order) asks for it. grad_y is C-contiguous."""


def max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode):
    """torch.nn.functional.max_pool2d: returns (y, argmax), argmax the int32 flat index into its
    H x W input plane of the element each output took (the first of equals, a NaN wins)."""


def max_pool2d_backward(grad_y, argmax, x_shape, kernel_size, stride, padding, dilation, ceil_mode):
    """The gradient of x, of shape x_shape: each output's gradient summed into the element argmax
    names (an index past the plane, from a window outside the input, is dropped)."""


def relu_max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode):
    """max_pool2d_forward of relu(x), as (y, argmax), computed the cheaper way round: relu of the
    pooled output (relu keeps the order of positive values, and a window of non-positives gives 0
    with a zero gradient either way)."""


def relu_max_pool2d_backward(grad_y, y, argmax, x_shape, kernel_size, stride, padding, dilation,
                             ceil_mode):
    """The gradient of x of relu_max_pool2d_forward, from its outputs y and argmax."""


def conv2d_relu_max_pool2d_forward(x, w, b, conv, pool):
    """relu_max_pool2d_forward(conv2d_forward(x, w, b, *conv), *pool) as (y, argmax): conv is
    (stride, padding, dilation, groups), pool (kernel_size, stride, padding, dilation, ceil_mode).
    The convolution's output is not returned (its gradient comes from relu_max_pool2d_backward),
    so a kernel may pool it where it computes it and never write it out."""


def conv2d_relu_max_pool2d_backward(grad_y, y, argmax, x, w, needs, conv, pool):
    """conv2d_backward(relu_max_pool2d_backward(grad_y, y, argmax, conv_shape, *pool), x, w,
    needs, *conv) from conv2d_relu_max_pool2d_forward's (y, argmax), conv_shape the
    convolution's output shape: (grad_x, grad_w, grad_b), each None unless `needs` asks for it.
    A kernel need not write the convolution's output gradient either."""


def avg_pool2d_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """torch.nn.functional.avg_pool2d (divisor_override None or a positive int): returns y."""


def avg_pool2d_backward(grad_y, x_shape, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    """The gradient of x of avg_pool2d_forward, of shape x_shape."""


def adaptive_avg_pool2d_forward(x, output_size):
    """torch.nn.functional.adaptive_avg_pool2d: output cell i covers input
    [floor(i * in / out), ceil((i + 1) * in / out)) along each axis; returns y."""


def adaptive_avg_pool2d_backward(grad_y, x_shape):
    """The gradient of x of adaptive_avg_pool2d_forward, of shape x_shape."""


def adaptive_max_pool2d_forward(x, output_size):
    """torch.nn.functional.adaptive_max_pool2d's windows, max_pool2d_forward's (y, argmax)."""


def adaptive_max_pool2d_backward(grad_y, argmax, x_shape):
    """The gradient of x of adaptive_max_pool2d_forward, as max_pool2d_backward's."""


def batch_norm_forward(x, gamma, beta, eps, running_mean=None, running_var=None, momentum=0.0,
                       relu=False):
    """Training-mode batch norm over every axis but 1 of x (N, C, ...): returns (y, mean, invstd)
    of the batch, y with relu applied (NaN kept) when `relu`. running_mean and running_var (both
    arrays, or both None) are updated in place: r = (1 - momentum) * r + momentum * statistic,
    the variance unbiased."""


def batch_norm_backward(grad_y, x, gamma, mean, invstd, y=None):
    """The gradients (of x, of gamma, of beta) of batch_norm_forward, from its mean and invstd;
    given y, its output with `relu`, those of relu(batch_norm(x)): grad_y is taken as zero where
    y <= 0."""


def relu_forward(x):
    """max(x, 0) elementwise, NaN kept: returns y."""


def relu_backward(grad_y, y):
    """The gradient of relu at its output y: zero where y <= 0, grad_y elsewhere (NaN included)."""


def sigmoid_forward(x):
    """1 / (1 + exp(-x)) elementwise, 0 where exp(-x) overflows: returns y."""


def sigmoid_backward(grad_y, y):
    """The gradient of sigmoid at its output y: grad_y * y * (1 - y)."""


def sgd_update(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
               maximize, first_step):
    """torch.optim.SGD's step on one parameter, in place (and on momentum_buffer, unless momentum
    is 0; on the first step the buffer is only written). The arrays have one shape and dtype; the
    buffer is C-contiguous. Returns None."""


def cross_entropy_forward(logits, target, scale):
    """torch.nn.functional.cross_entropy's per-sample losses scale[i] * -log_softmax(logits)[i,
    target[i]] of logits (N, C), C >= 1, integer class indices target (N,), each in [0, C), and
    scale (N,): returns (losses, lse), lse (N,) the rows' log-sum-exp for the backward pass."""


def cross_entropy_backward(grad, logits, lse, target, scale):
    """The gradient of logits of cross_entropy_forward from the losses' gradient grad (N,):
    grad[i] * scale[i] * (softmax(logits)[i] - onehot(target[i]))."""


def erf(x):
    """The error function elementwise, computed in float64: returns an array of x's shape."""


def erfc(x):
    """1 - erf(x) elementwise, without the cancellation: returns an array of x's shape."""


def erfinv(x):
    """The inverse of erf elementwise: nan outside [-1, 1], +-inf at +-1."""


NAMES = tuple(name for name, value in list(globals().items())
              if isinstance(value, types.FunctionType) and not name.startswith("_"))


def bind(module):
    """The kernel table of one device: a namespace of `module`'s implementations of NAMES, and no
    other name (the op layer sees only the declared kernels)."""
    missing = [name for name in NAMES if not hasattr(module, name)]
    if missing:
        raise ImportError(f"{module.__name__} lacks the kernels {missing}")
    return types.SimpleNamespace(**{name: getattr(module, name) for name in NAMES})
